import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { scheduleOf, type AppConfig } from './config.js';
import { ImsTokenRefresher } from './ims-token-refresher.js';

export interface ImsTokenStackProps extends StackProps {
  readonly config: AppConfig;
}

/** One `ImsTokenRefresher` per configured token, with outputs a person or script can use. */
export class ImsTokenStack extends Stack {
  readonly refreshers: readonly ImsTokenRefresher[];

  constructor(scope: Construct, id: string, props: ImsTokenStackProps) {
    super(scope, id, props);
    this.refreshers = props.config.tokens.map((token) => {
      // Construct ids come from names, so adding or reordering entries never replaces a secret.
      const refresher = new ImsTokenRefresher(this, token.name, {
        credentialsSecret: existingSecret(this, token.name, token.credentialsSecret),
        schedule: scheduleOf(token),
        refreshThreshold: token.refreshThreshold,
        imsBaseUrl: token.imsBaseUrl,
        credentialsType: token.credentialsType,
        tokenSecretName: token.tokenSecretName,
      });
      new CfnOutput(refresher, 'TokenSecretArn', { value: refresher.tokenSecret.secretArn });
      new CfnOutput(refresher, 'CredentialsSecretArn', { value: refresher.credentialsSecret.secretArn });
      new CfnOutput(refresher, 'FunctionName', { value: refresher.function.functionName });
      return refresher;
    });
    this.dashboard(this.refreshers);
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

function existingSecret(scope: Construct, name: string, ref: string): secretsmanager.ISecret | undefined {
  if (ref === 'create') return undefined;
  const id = `${name}Credentials`;
  if (!ref.startsWith('arn:')) return secretsmanager.Secret.fromSecretNameV2(scope, id, ref);
  // A complete ARN ends in the 6-character suffix Secrets Manager adds to the name.
  return /-[A-Za-z0-9]{6}$/.test(ref)
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, ref)
    : secretsmanager.Secret.fromSecretPartialArn(scope, id, ref);
}
