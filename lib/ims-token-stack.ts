import { CfnOutput, CfnResource, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { ACCOUNT_ID } from '../common/rules.js';
import { METRIC_NAMESPACE } from './alarms.js';
import { scheduleOf } from './config/load.js';
import type { TokenConfig } from './config/types.js';
import { ImsTokenRefresher } from './ims-token-refresher.js';
import { denyGrantsToOthers } from './least-access.js';

/** CloudFormation's per-stack quotas. */
const MAX_RESOURCES = 500;
const MAX_OUTPUTS = 200;

/** Props of `ImsTokenStack`: the stack's own, and its tokens. */
export interface ImsTokenStackProps extends StackProps {
  /** The tokens this stack keeps fresh, as the configuration file describes them (checked by `parseAppConfig`). */
  readonly tokens: TokenConfig[];
}

/** One `ImsTokenRefresher` per configured token, with outputs a person or script can use. */
export class ImsTokenStack extends Stack {
  /** The stack's refreshers, one per token, in the order of `tokens`; each one's construct id is its token's name. */
  readonly refreshers: ImsTokenRefresher[];

  /** The topics this stack created for `alarmEmail` addresses, one per address. */
  private readonly emailTopics = new Map<string, sns.Topic>();
  private alarmTopicKey: kms.Key | undefined;
  /** The alarm topics' key is deleted only when every token notifying through it says "destroy". */
  private readonly alarmKeyRemoval: TokenConfig['removalPolicy'];

  constructor(scope: Construct, id: string, props: ImsTokenStackProps) {
    super(scope, id, props);
    const emailTokens = props.tokens.filter((token) => token.alarmEmail);
    this.alarmKeyRemoval = emailTokens.every((token) => token.removalPolicy === 'destroy') ? 'destroy' : 'retain';
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
          ACCOUNT_ID.test(reader) ? new iam.AccountPrincipal(reader) : new iam.ArnPrincipal(reader),
        ),
        replicaRegions: token.replicaRegions?.map((region) => ({ region })),
        restrictCredentialsReaders: token.restrictCredentialsReaders,
        credentialsReaders: token.credentialsReaders?.map((arn) => new iam.ArnPrincipal(arn)),
        restrictTokenReaders: token.restrictTokenReaders,
        tokenReaders: token.tokenReaders?.map((arn) => new iam.ArnPrincipal(arn)),
        alarmTopic: this.alarmTopic(token),
        reservedConcurrency: token.reservedConcurrency,
        logRetention: token.logRetentionDays as logs.RetentionDays | undefined,
        removalPolicy: removalPolicy(token.removalPolicy),
      });
      new CfnOutput(refresher, 'TokenSecretArn', { value: refresher.tokenSecret.secretArn });
      new CfnOutput(refresher, 'CredentialsSecretArn', { value: refresher.credentialsSecret.secretArn });
      new CfnOutput(refresher, 'FunctionName', { value: refresher.function.functionName });
      return refresher;
    });
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

  /**
   * One dashboard for the app: every token's hours and its certificate's days left (SEARCH over the
   * refreshers' metrics in this account and region, so tokens of other stacks show too), and the
   * state of the `refreshers`' alarms, found by name (no cross-stack reference).
   */
  addDashboard(refreshers: ImsTokenRefresher[]): cloudwatch.Dashboard {
    const search = (metricName: string, divisor: number, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRIC_NAMESPACE},service} MetricName="${metricName}"', 'Minimum', 3600) / ${divisor}`,
        usingMetrics: {},
        label,
        period: Duration.hours(1),
      });
    const alarms = refreshers
      .flatMap((refresher) => refresher.alarms)
      .map((alarm, index) => cloudwatch.Alarm.fromAlarmName(this, `Dashboard.Alarm${index}`, alarmName(alarm)));
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `${this.stackName}-ims-tokens` });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Adobe IMS token refreshers: alarms',
        alarms,
        sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
        width: 24,
        height: Math.min(12, 2 + Math.ceil(alarms.length / 4)),
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Hours until each token expires (sent by runs that refresh or fail)',
        left: [search('TokenSecondsToExpiry', 3600, '')],
        leftYAxis: { min: 0 },
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Days until each certificate expires (AEM service credentials)',
        left: [search('CredentialsSecondsToExpiry', 86_400, '')],
        leftYAxis: { min: 0 },
        width: 12,
      }),
    );
    return dashboard;
  }

  /**
   * The topic `token`'s alarms notify: an existing one by ARN, or for an email address a topic of
   * this stack (one per address), encrypted with a key of this stack that CloudWatch may use.
   */
  private alarmTopic(token: TokenConfig): sns.ITopic | undefined {
    if (token.alarmTopicArn) return sns.Topic.fromTopicArn(this, `${token.name}.AlarmTopic`, token.alarmTopicArn);
    const email = token.alarmEmail;
    if (!email) return undefined;
    const existing = this.emailTopics.get(email);
    if (existing) return existing;
    this.alarmTopicKey ??= alarmTopicKey(this, this.alarmKeyRemoval);
    const topic = new sns.Topic(this, `Alarms.${email}`, {
      displayName: 'Adobe IMS token refresher alarms',
      masterKey: this.alarmTopicKey,
      enforceSSL: true,
    });
    topic.addSubscription(new subscriptions.EmailSubscription(email));
    this.emailTopics.set(email, topic);
    return topic;
  }
}

/** The name an alarm was given (the refresher names each). */
function alarmName(alarm: cloudwatch.Alarm): string {
  return (alarm.node.defaultChild as cloudwatch.CfnAlarm).alarmName!;
}

/** A key for alarm topics: CloudWatch (alarms of this account) encrypts with it, SNS decrypts for delivery. */
function alarmTopicKey(stack: Stack, removal: TokenConfig['removalPolicy']): kms.Key {
  // A "." never occurs in a token name, so this id cannot meet a token's construct id.
  const key = new kms.Key(stack, 'Alarms.Key', {
    description: `Encrypts the alarm topics of ${stack.stackName} (Adobe IMS token refreshers)`,
    enableKeyRotation: true,
    ...keyRemoval(removal),
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsOfThisAccount',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
  );
  denyGrantsToOthers(key);
  return key;
}

/** The `removalPolicy` of the configuration (default "retain") as CDK's. */
function removalPolicy(removal: TokenConfig['removalPolicy']): RemovalPolicy {
  return removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
}

/** A created key's removal: kept, or deleted after KMS's shortest waiting period (7 days) instead of 30. */
function keyRemoval(removal: TokenConfig['removalPolicy']): kms.KeyProps {
  const policy = removalPolicy(removal);
  return policy === RemovalPolicy.DESTROY
    ? { removalPolicy: policy, pendingWindow: Duration.days(7) }
    : { removalPolicy: policy };
}

function encryptionKey(scope: Construct, token: TokenConfig): kms.IKey | undefined {
  if (token.encryptionKey === undefined) return undefined;
  // A "." never occurs in a token name, so these ids cannot meet a token's own construct id.
  if (token.encryptionKey !== 'create') return kms.Key.fromKeyArn(scope, `${token.name}.Key`, token.encryptionKey);
  const key = new kms.Key(scope, `${token.name}.Key`, {
    description: `Encrypts the Adobe IMS token and credentials secrets of ${token.name}`,
    enableKeyRotation: true,
    ...keyRemoval(token.removalPolicy),
  });
  denyGrantsToOthers(key);
  return key;
}

function existingSecret(scope: Construct, name: string, ref: string): secretsmanager.ISecret | undefined {
  if (ref === 'create') return undefined;
  const id = `${name}.Credentials`;
  // The configuration accepts complete ARNs only: "-author" in a partial ARN would read as a suffix.
  return ref.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, ref)
    : secretsmanager.Secret.fromSecretNameV2(scope, id, ref);
}
