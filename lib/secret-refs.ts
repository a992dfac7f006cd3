/**
 * How a secret is named to Secrets Manager. A `SecretId` is a name, a complete ARN (the name, `-`
 * and the six characters Secrets Manager adds) or a partial ARN (no suffix); an ARN whose name
 * ends in `-` and six characters is taken as complete, so a partial ARN of `adobe/aem-prod-author`
 * finds nothing (https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot.html#ARN_secretnamehyphen).
 * Hence the function and the outputs get a name or a complete ARN, never a partial ARN.
 */
import { Annotations, Arn, ArnFormat, Token } from 'aws-cdk-lib';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/** A name whose partial ARN Secrets Manager reads as complete: it ends in `-` and six characters. */
const SUFFIX_LIKE_ENDING = /-.{6}$/s;

/**
 * What to pass as `SecretId` for `secret`: its complete ARN when known (a secret of this app, or one
 * imported by complete ARN), else its name. For a partial ARN the name is the ARN's whole resource
 * part: CDK's `secretName` would drop a `-xxxxxx` ending as if it were the suffix.
 */
export function secretId(secret: secretsmanager.ISecret): string {
  if (secret.secretFullArn) return secret.secretFullArn;
  const arn = secret.secretArn;
  if (Token.isUnresolved(arn) || !arn.startsWith('arn:')) return secret.secretName;
  return Arn.split(arn, ArnFormat.COLON_RESOURCE_NAME).resourceName ?? secret.secretName;
}

/**
 * Warns at synth when `name` (of the secret `prop` names) ends in `-` and six characters: the secret
 * works here (the refresher uses its name or complete ARN), but any partial ARN of it, such as the
 * `secretArn` CDK gives a secret imported by name, finds nothing.
 */
export function warnOnSuffixLikeName(scope: Construct, prop: string, name: string | undefined): void {
  if (name === undefined || Token.isUnresolved(name) || !SUFFIX_LIKE_ENDING.test(name)) return;
  Annotations.of(scope).addWarningV2(
    'ims-token-refresher:secretNameLikeSuffix',
    `\`${prop}\` is named "${name}", which ends in "-" and six characters: Secrets Manager takes a partial ARN of ` +
      'it (such as the `secretArn` of a secret imported by name) for a complete ARN and finds nothing (AWS: "Do not ' +
      'end your secret name with a hyphen followed by six characters"); name it by its complete ARN, or rename it',
  );
}
