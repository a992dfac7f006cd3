/**
 * Automatic rotation of an OAuth Server-to-Server client secret (issue 24, docs/rotation.md): the
 * rotation function (the bundle's second handler, `index.rotationHandler`, in the refresher's
 * network), its own least-privilege role, Secrets Manager's rotation schedule on the credentials
 * secret (which a deploy never starts), and the 6-hourly check that deletes the previous secret at
 * Adobe once it has gone unused.
 */
import { Duration, type RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import {
  adobeIdProblem,
  adobeOrgIdProblem,
  RETIRE_AFTER_HOURS,
  retireAfterHoursProblem,
  rotationEveryDaysProblem,
} from '../common/rules.js';
import { bundledFunction } from './bundled-function.js';
import { ImsTokenRefresherError } from './errors.js';
import { grantSecretRead, grantWriteVersions } from './least-access.js';
import { networkEnvironment, samePlacement, type FunctionPlacement, type NetworkProps } from './network.js';
import { secretId } from './secret-refs.js';
import { scheduleRuns } from './triggers.js';

/** How the client secret of OAuth Server-to-Server credentials is rotated (prop `rotateClientSecret`). */
export interface ClientSecretRotation {
  /** How often Secrets Manager rotates the client secret: whole days, 1 to 365. */
  readonly every: Duration;

  /**
   * The numeric Adobe Developer Console org id (e.g. "23294", not the `…@AdobeOrg` IMS org id),
   * for flat OAuth credentials; a Developer Console project download carries it and must agree.
   * @default - read from the credentials (a Developer Console project download)
   */
  readonly orgId?: string;

  /**
   * The credential's id in the Adobe Developer Console, for flat OAuth credentials; a Developer
   * Console project download carries it and must agree.
   * @default - read from the credentials (a Developer Console project download)
   */
  readonly credentialId?: string;

  /**
   * How long Adobe must have seen the previous secret unused (its `last_used_at`) before the
   * 6-hourly check deletes it, never while the newest token was minted with it: whole hours, 1 to
   * 720. A previous secret still in use then is deleted by the next rotation.
   * @default Duration.hours(24)
   */
  readonly retireAfter?: Duration;
}

/**
 * The props of `ImsTokenRefresherProps` that rotation reads (documented there). An interface, not a
 * `Pick`: lib/index.ts exports from this file, and jsii takes no mapped types (test/lib/public-api.test.ts).
 */
export interface RotationProps extends NetworkProps {
  readonly rotateClientSecret?: ClientSecretRotation;
  readonly adobeApiBaseUrl?: string;
  readonly credentialsType?: 'jwt' | 'oauth';
  readonly imsBaseUrl?: string;
  readonly credentialName?: string;
}

/**
 * The rotation function's timeout: one step mints at IMS and makes up to three I/O Management API
 * calls and two Secrets Manager calls, each bounded by its own timeout.
 */
export const ROTATION_FUNCTION_TIMEOUT = Duration.minutes(2);

/** How often the previous secret is checked for retirement. */
export const RETIRE_CHECK_PERIOD = Duration.hours(6);

/**
 * Fails on rotation props that cannot work, with an `ImsTokenRefresherError` naming the prop:
 * rotation without `credentialsType: "oauth"`, an interval or retire time out of range or not
 * whole, ids Adobe's API cannot take, `adobeApiBaseUrl` without rotation.
 */
export function validateRotation(scope: Construct, props: RotationProps): void {
  const refuse = (prop: string, message: string) => {
    throw new ImsTokenRefresherError(message, scope, prop);
  };
  const rotation = props.rotateClientSecret;
  if (!rotation) {
    if (props.adobeApiBaseUrl !== undefined) {
      refuse('adobeApiBaseUrl', '`adobeApiBaseUrl` needs `rotateClientSecret`: only the rotation calls that API');
    }
    return;
  }
  if (props.credentialsType !== 'oauth') {
    refuse(
      'rotateClientSecret',
      '`rotateClientSecret` needs `credentialsType: "oauth"`: only an OAuth Server-to-Server client secret can be ' +
        "rotated through Adobe's API; AEM service credentials (JWT) are renewed in the AEM Developer Console, and " +
        'their certificate alarm says when',
    );
  }
  const everyProblem = rotationEveryDaysProblem(rotation.every.toDays({ integral: false }));
  if (everyProblem) refuse('rotateClientSecret', `\`rotateClientSecret.every\` ${everyProblem}`);
  if (rotation.retireAfter) {
    const retireProblem = retireAfterHoursProblem(rotation.retireAfter.toHours({ integral: false }));
    if (retireProblem) refuse('rotateClientSecret', `\`rotateClientSecret.retireAfter\` ${retireProblem}`);
  }
  const orgProblem = rotation.orgId === undefined ? undefined : adobeOrgIdProblem(rotation.orgId);
  if (orgProblem) refuse('rotateClientSecret', `\`rotateClientSecret.orgId\` ${orgProblem}`);
  const credentialProblem = rotation.credentialId === undefined ? undefined : adobeIdProblem(rotation.credentialId);
  if (credentialProblem) refuse('rotateClientSecret', `\`rotateClientSecret.credentialId\` ${credentialProblem}`);
}

/** What the refresher gives its rotation. */
export interface RotationInputs {
  readonly credentialsSecret: secretsmanager.ISecret;
  /** The refresher's token secret: the rotation reads which secret minted the newest token. */
  readonly tokenSecret: secretsmanager.ISecret;
  readonly serviceName: string;
  /** The refresher function's place in the network, which the rotation function shares. */
  readonly placement: FunctionPlacement | undefined;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** What the refresher needs of its rotation: the function (alarmed on), its role (let through the denies) and logs. */
export interface ClientSecretRotator {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
}

/**
 * Makes the rotation of `rotation` in the refresher `scope`: the rotation function with its role
 * and log group, the rotation schedule on the credentials secret, and the retire check. Who may
 * read the secrets under `restrictCredentialsReaders` / `restrictTokenReaders` is the refresher's
 * to extend with the returned role.
 */
export function rotateClientSecrets(
  scope: Construct,
  rotation: ClientSecretRotation,
  props: RotationProps,
  inputs: RotationInputs,
): ClientSecretRotator {
  const { credentialsSecret, tokenSecret } = inputs;
  const retireAfterHours = rotation.retireAfter?.toHours() ?? RETIRE_AFTER_HOURS.default;
  const { fn, role, logGroup } = bundledFunction(scope, 'Rotation', {
    handler: 'index.rotationHandler',
    timeout: ROTATION_FUNCTION_TIMEOUT,
    logRetention: inputs.logRetention,
    removalPolicy: inputs.removalPolicy,
    place: (functionRole) => samePlacement(inputs.placement, functionRole),
    // Secrets Manager retries a failed step itself; a failed check waits for the next one (6 h). No
    // reservation: steps and checks are idempotent, and rotation is rare.
    invocation: { retryAttempts: 0 },
    // The function's configuration contract (docs/rotation.md). No credentials secret id: it comes
    // from each event, and the function trusts no other.
    environment: {
      TOKEN_SECRET_ID: secretId(tokenSecret),
      RETIRE_AFTER_HOURS: String(retireAfterHours),
      ...(props.imsBaseUrl ? { IMS_BASE_URL: props.imsBaseUrl } : {}),
      ...(props.adobeApiBaseUrl ? { ADOBE_API_BASE_URL: props.adobeApiBaseUrl } : {}),
      ...(props.credentialName ? { CREDENTIAL_NAME: props.credentialName } : {}),
      ...(rotation.orgId ? { ADOBE_ORG_ID: rotation.orgId } : {}),
      ...(rotation.credentialId ? { ADOBE_CREDENTIAL_ID: rotation.credentialId } : {}),
      ...networkEnvironment(scope, props),
      // The `service` of its log lines, as the refresher's.
      POWERTOOLS_SERVICE_NAME: inputs.serviceName,
    },
  });

  // Least privilege: read, describe, stage and promote versions of the credentials secret; read
  // the token secret; the proxy's credentials. Nothing else (CDK's RotationSchedule would add
  // secretsmanager:GetRandomPassword on "*", which this rotation never calls). grantSecretRead, not
  // grantRead: a key imported by ARN gets its kms:Decrypt in the role's policy (CDK adds none).
  grantSecretRead(credentialsSecret, role);
  grantWriteVersions(role, credentialsSecret, credentialsSecret.encryptionKey, []);
  grantSecretRead(tokenSecret, role);
  if (props.proxyCredentialsSecret) grantSecretRead(props.proxyCredentialsSecret, fn);

  // Secrets Manager may invoke it for this account's credentials secret only (AWS's advice against the
  // confused deputy): https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
  const { account } = Stack.of(scope);
  fn.addPermission('SecretsManagerRotation', {
    principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com'),
    sourceAccount: account,
    // Lambda matches it with ArnLike: a secret known by name has the suffix wildcard.
    sourceArn: credentialsSecret.secretFullArn ?? `${credentialsSecret.secretArn}-??????`,
  });
  const permission = fn.permissionsNode.findChild('SecretsManagerRotation');
  if (Token.isUnresolved(account)) {
    Validations.of(permission).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
      reason:
        "SourceAccount (the stack's account) and SourceArn (the credentials secret) are both set; in a stack " +
        'without an account the rule cannot read them through their references',
    });
  }
  const rotationSchedule = new secretsmanager.CfnRotationSchedule(scope, 'RotationSchedule', {
    // A name or a complete ARN: a partial ARN of a name ending in "-" and six characters finds nothing.
    secretId: secretId(credentialsSecret),
    rotationLambdaArn: fn.functionArn,
    rotationRules: { automaticallyAfterDays: rotation.every.toDays() },
    // A deploy never rotates: the first rotation comes `every` after the schedule is created, or
    // when someone runs `ims-token credentials rotate`. (Secrets Manager still runs the testSecret
    // step once to check the set-up.)
    rotateImmediatelyOnUpdate: false,
  });
  rotationSchedule.node.addDependency(permission);

  scheduleRuns(scope, fn, RETIRE_CHECK_PERIOD, {
    prefix: 'RetireCheck',
    description: `Retires the previous Adobe client secret of ${scope.node.path} once unused`,
    input: scheduler.ScheduleTargetInput.fromObject({ retireCheck: true, secretId: secretId(credentialsSecret) }),
  });
  return { fn, role, logGroup };
}
