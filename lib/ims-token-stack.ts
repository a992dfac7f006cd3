import { CfnOutput, CfnResource, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { scheduleOf, type TokenConfig } from './config.js';
import { ImsTokenRefresher } from './ims-token-refresher.js';

/** CloudFormation's per-stack quotas. */
const MAX_RESOURCES = 500;
const MAX_OUTPUTS = 200;

export interface ImsTokenStackProps extends StackProps {
  /** The tokens this stack keeps fresh. */
  readonly tokens: readonly TokenConfig[];
}

/** One `ImsTokenRefresher` per configured token, with outputs a person or script can use. */
export class ImsTokenStack extends Stack {
  readonly refreshers: readonly ImsTokenRefresher[];

  constructor(scope: Construct, id: string, props: ImsTokenStackProps) {
    super(scope, id, props);
    this.refreshers = props.tokens.map((token) => {
      // Construct ids come from names, so adding or reordering entries never replaces a secret.
      const refresher = new ImsTokenRefresher(this, token.name, {
        credentialsSecret: existingSecret(this, token.name, token.credentialsSecret),
        schedule: scheduleOf(token),
        refreshThreshold: token.refreshThreshold,
        imsBaseUrl: token.imsBaseUrl,
        credentialsType: token.credentialsType,
        credentialName: token.credentialName,
        credentialsExpiryWarning:
          token.credentialsExpiryWarning === undefined ? undefined : Duration.days(token.credentialsExpiryWarning),
        tokenSecretName: token.tokenSecretName,
        encryptionKey: encryptionKey(this, token),
        crossAccountReaders: token.crossAccountReaders?.map((reader) =>
          /^\d{12}$/.test(reader) ? new iam.AccountPrincipal(reader) : new iam.ArnPrincipal(reader),
        ),
        replicaRegions: token.replicaRegions?.map((region) => ({ region })),
        restrictCredentialsReaders: token.restrictCredentialsReaders,
        credentialsReaders: token.credentialsReaders?.map((arn) => new iam.ArnPrincipal(arn)),
        restrictTokenReaders: token.restrictTokenReaders,
        tokenReaders: token.tokenReaders?.map((arn) => new iam.ArnPrincipal(arn)),
      });
      new CfnOutput(refresher, 'TokenSecretArn', { value: refresher.tokenSecret.secretArn });
      new CfnOutput(refresher, 'CredentialsSecretArn', { value: refresher.credentialsSecret.secretArn });
      new CfnOutput(refresher, 'FunctionName', { value: refresher.function.functionName });
      return refresher;
    });
    this.dashboard(this.refreshers);
    this.node.addValidation({ validate: () => this.withinQuotas(props.tokens.length) });
  }

  /** A stack over CloudFormation's quotas would synth but never deploy: say so at synth. */
  private withinQuotas(tokens: number): string[] {
    const children = this.node.findAll();
    const resources = children.filter((child) => child instanceof CfnResource).length;
    const outputs = children.filter((child) => child instanceof CfnOutput).length;
    if (resources <= MAX_RESOURCES && outputs <= MAX_OUTPUTS) return [];
    const fit = Math.floor(Math.min(MAX_RESOURCES / (resources / tokens), MAX_OUTPUTS / (outputs / tokens)));
    return [
      `stack "${this.stackName}" has ${tokens} tokens: ${resources} resources and ${outputs} outputs, over ` +
        `CloudFormation's ${MAX_RESOURCES} and ${MAX_OUTPUTS}; give some tokens another "stack" (about ${fit} fit in one)`,
    ];
  }

  /** One dashboard for all tokens: time to expiry and run outcomes over time, a row per token. */
  private dashboard(refreshers: readonly ImsTokenRefresher[]): void {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard');
    for (const refresher of refreshers) {
      const name = refresher.node.id;
      const seconds = refresher.metric('TokenSecondsToExpiry', 'Minimum');
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: `${name}: hours until the token expires`,
          left: [
            new cloudwatch.MathExpression({
              expression: 'seconds / 3600',
              usingMetrics: { seconds },
              period: seconds.period,
              label: 'hours left',
            }),
          ],
          leftYAxis: { min: 0 },
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: `${name}: runs by outcome`,
          left: ['Refreshed', 'Skipped', 'FailedTransient', 'FailedPermanent'].map((outcome) =>
            refresher.metric(outcome, 'Sum').with({ label: outcome }),
          ),
          stacked: true,
          width: 12,
        }),
      );
    }
  }
}

function encryptionKey(scope: Construct, token: TokenConfig): kms.IKey | undefined {
  if (token.encryptionKey === undefined) return undefined;
  // A "." never occurs in a token name, so these ids cannot meet a token's own construct id.
  if (token.encryptionKey !== 'create') return kms.Key.fromKeyArn(scope, `${token.name}.Key`, token.encryptionKey);
  return new kms.Key(scope, `${token.name}.Key`, {
    description: `Encrypts the Adobe IMS token and credentials secrets of ${token.name}`,
    enableKeyRotation: true,
  });
}

function existingSecret(scope: Construct, name: string, ref: string): secretsmanager.ISecret | undefined {
  if (ref === 'create') return undefined;
  const id = `${name}.Credentials`;
  // The configuration accepts complete ARNs only: "-author" in a partial ARN would read as a suffix.
  return ref.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, ref)
    : secretsmanager.Secret.fromSecretNameV2(scope, id, ref);
}
