import { CfnOutput, CfnResource, Duration, Stack, type StackProps } from 'aws-cdk-lib';
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
import { LIMITS, LongestValues } from './limits.js';

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
    // The template as CDK writes it (JSON indented by one space); CDK's own way to build it is internal.
    const template = (this as unknown as { _toCloudFormation(): unknown })._toCloudFormation();
    const bytes = Buffer.byteLength(JSON.stringify(template, undefined, 1));
    const { resources: maxResources, outputs: maxOutputs, template: maxBytes } = LIMITS;
    if (resources <= maxResources && outputs <= maxOutputs && bytes <= maxBytes) return [];
    const fit = Math.floor(
      Math.min(maxResources / (resources / tokens), maxOutputs / (outputs / tokens), maxBytes / (bytes / tokens)),
    );
    return [
      `stack "${this.stackName}" has ${tokens} tokens: ${resources} resources, ${outputs} outputs and a template of ` +
        `${bytes.toLocaleString('en-US')} bytes, over CloudFormation's ${maxResources}, ${maxOutputs} and ` +
        `${maxBytes.toLocaleString('en-US')}; give some tokens another "stack" (about ${fit} fit in one)`,
    ];
  }

  /**
   * The app's dashboard: every token's hours and its certificate's days left (SEARCH over the
   * refreshers' metrics in this account and region, so tokens of other stacks show too), and the
   * state of the `refreshers`' alarms, found by name (no cross-stack reference), at most 100 to an
   * alarm widget. Alarms that would take the dashboard's body past 1 MB go on to a second
   * dashboard (`<stack>-ims-tokens-2`), and so on: returns the dashboards, the first one first.
   */
  addDashboard(refreshers: ImsTokenRefresher[]): cloudwatch.Dashboard[] {
    const search = (metricName: string, divisor: number, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRIC_NAMESPACE},service} MetricName="${metricName}"', 'Minimum', 3600) / ${divisor}`,
        usingMetrics: {},
        label,
        period: Duration.hours(1),
      });
    const graphs = [
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
    ];
    const alarms = refreshers
      .flatMap((refresher) => refresher.alarms)
      .map((alarm, index) => cloudwatch.Alarm.fromAlarmName(this, `Dashboard.Alarm${index}`, alarmName(alarm)));
    const widgets = chunks(alarms, LIMITS.alarmsPerWidget).map(
      (part, index, all) =>
        new cloudwatch.AlarmStatusWidget({
          title: `Adobe IMS token refreshers: alarms${all.length > 1 ? ` (${index + 1} of ${all.length})` : ''}`,
          alarms: part,
          sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
          width: 24,
          height: Math.min(12, 2 + Math.ceil(part.length / 4)),
        }),
    );
    const longest = new LongestValues(this);
    // A widget's body at its longest, with room for its position and the comma before it.
    const size = (widget: cloudwatch.IWidget) => longest.length(widget.toJson()) + 64;
    const dashboards = [this.dashboard(1)];
    // The graphs go on the first dashboard, after its alarms.
    let used = graphs.reduce((sum, graph) => sum + size(graph), 64);
    for (const widget of widgets) {
      if (used + size(widget) > LIMITS.dashboardBody) {
        dashboards.push(this.dashboard(dashboards.length + 1));
        used = 64;
      }
      dashboards[dashboards.length - 1].addWidgets(widget);
      used += size(widget);
    }
    dashboards[0].addWidgets(...graphs);
    return dashboards;
  }

  /** The `number`th dashboard: `<stack>-ims-tokens`, then `<stack>-ims-tokens-2`… */
  private dashboard(number: number): cloudwatch.Dashboard {
    // A "." never occurs in a token name, so these ids cannot meet a token's construct id.
    const [id, suffix] = number === 1 ? ['Dashboard', ''] : [`Dashboard.${number}`, `-${number}`];
    return new cloudwatch.Dashboard(this, id, { dashboardName: `${this.stackName}-ims-tokens${suffix}` });
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
    this.alarmTopicKey ??= alarmTopicKey(this);
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

/** `items` in consecutive parts of at most `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, index) =>
    items.slice(index * size, (index + 1) * size),
  );
}

/** The name an alarm was given (the refresher names each). */
function alarmName(alarm: cloudwatch.Alarm): string {
  return (alarm.node.defaultChild as cloudwatch.CfnAlarm).alarmName!;
}

/** A key for alarm topics: CloudWatch (alarms of this account) encrypts with it, SNS decrypts for delivery. */
function alarmTopicKey(stack: Stack): kms.Key {
  // A "." never occurs in a token name, so this id cannot meet a token's construct id.
  const key = new kms.Key(stack, 'Alarms.Key', {
    description: `Encrypts the alarm topics of ${stack.stackName} (Adobe IMS token refreshers)`,
    enableKeyRotation: true,
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

function encryptionKey(scope: Construct, token: TokenConfig): kms.IKey | undefined {
  if (token.encryptionKey === undefined) return undefined;
  // A "." never occurs in a token name, so these ids cannot meet a token's own construct id.
  if (token.encryptionKey !== 'create') return kms.Key.fromKeyArn(scope, `${token.name}.Key`, token.encryptionKey);
  const key = new kms.Key(scope, `${token.name}.Key`, {
    description: `Encrypts the Adobe IMS token and credentials secrets of ${token.name}`,
    enableKeyRotation: true,
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
