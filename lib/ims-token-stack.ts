import { CfnOutput, CfnResource, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
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
import { ImsTokenRefresher, type ImsTokenRefresherProps } from './ims-token-refresher.js';
import type { ClientSecretRotation } from './rotation.js';
import { denyGrantsToOthers } from './least-access.js';
import { LIMITS, LongestValues } from './limits.js';
import { secretId } from './secret-refs.js';

/** Props of `ImsTokenStack`: the stack's own, and its tokens. */
export interface ImsTokenStackProps extends StackProps {
  /** The tokens this stack keeps fresh, as the configuration file describes them (checked by `parseAppConfig`). */
  readonly tokens: TokenConfig[];
}

/**
 * One `ImsTokenRefresher` per configured token, with outputs a person or script can use. Each
 * token's output ids start with its name in PascalCase (`aem-prod` → `AemProd`), carry a
 * description, and are exported as `<stack>-<id>`: `…TokenSecretArn`; `…CredentialsSecretId`, the
 * complete ARN of the credentials secret, or the name of an existing one configured by name (a
 * partial ARN could find nothing; `--secret-id` takes either); `…FunctionName`; and
 * `…EncryptionKeyArn` with `"encryptionKey": "create"`. Two names giving the same ids fail synth.
 */
export class ImsTokenStack extends Stack {
  /** The stack's refreshers, one per token, in the order of `tokens`; each one's construct id is its token's name. */
  readonly refreshers: ImsTokenRefresher[];

  /** The topics this stack created for `alarmEmail` addresses, one per address. */
  private readonly emailTopics = new Map<string, sns.Topic>();
  private alarmTopicKey: kms.Key | undefined;
  /** The token whose outputs' ids start with each prefix (see `outputPrefix`). */
  private readonly outputOwners = new Map<string, string>();
  /** Tokens whose output ids would equal those of an earlier token: synth fails naming both. */
  private readonly outputClashes: string[] = [];
  /** The alarm topics' key is deleted only when every token notifying through it says "destroy". */
  private readonly alarmKeyRemoval: TokenConfig['removalPolicy'];

  constructor(scope: Construct, id: string, props: ImsTokenStackProps) {
    super(scope, id, props);
    const emailTokens = props.tokens.filter((token) => token.alarmEmail);
    this.alarmKeyRemoval = emailTokens.every((token) => token.removalPolicy === 'destroy') ? 'destroy' : 'retain';
    this.refreshers = props.tokens.map((token) => {
      const key = encryptionKey(this, token);
      // Construct ids come from names, so adding or reordering entries never replaces a secret.
      const refresher = new ImsTokenRefresher(this, token.name, {
        credentialsSecret: existingSecret(this, `${token.name}.Credentials`, token.credentialsSecret),
        schedule: scheduleOf(token),
        refreshThreshold: token.refreshThreshold,
        imsBaseUrl: token.imsBaseUrl,
        adobeApiBaseUrl: token.adobeApiBaseUrl,
        rotateClientSecret: rotationOf(token),
        credentialsType: token.credentialsType,
        credentialName: token.credentialName,
        credentialsExpiryWarning:
          token.credentialsExpiryWarning === undefined ? undefined : Duration.days(token.credentialsExpiryWarning),
        tokenSecretName: token.tokenSecretName,
        encryptionKey: key,
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
        ...this.network(token),
      });
      this.addOutputs(token.name, refresher, key instanceof kms.Key ? key : undefined);
      return refresher;
    });
    this.node.addValidation({ validate: () => [...this.outputClashes, ...this.withinQuotas(props.tokens.length)] });
  }

  /**
   * The network props of `token`: its VPC, subnets and security groups imported by id (once per
   * stack, from attributes alone, so synth needs no lookup and no AWS access), the endpoint, proxy
   * and FIPS settings, and the proxy's credentials secret.
   */
  private network(token: TokenConfig): Partial<ImsTokenRefresherProps> {
    const { vpc } = token;
    // A "." never occurs in a token name, so these ids cannot meet a token's construct id.
    const once = <T extends Construct>(id: string, make: (id: string) => T) =>
      (this.node.tryFindChild(id) as T | undefined) ?? make(id);
    return {
      ...(vpc && {
        // The region's zones: the function takes its subnets as given, and nothing here reads their zones.
        vpc: once(`Vpc.${vpc.vpcId}`, (id) =>
          ec2.Vpc.fromVpcAttributes(this, id, { vpcId: vpc.vpcId, availabilityZones: Fn.getAzs() }),
        ),
        vpcSubnets: {
          subnets: vpc.subnetIds.map((subnetId) =>
            once(`Subnet.${subnetId}`, (id) => ec2.Subnet.fromSubnetId(this, id, subnetId)),
          ),
        },
        securityGroups: vpc.securityGroupIds?.map((groupId) =>
          once(`SecurityGroup.${groupId}`, (id) =>
            ec2.SecurityGroup.fromSecurityGroupId(this, id, groupId, { mutable: false }),
          ),
        ),
      }),
      secretsManagerEndpoint: token.secretsManagerEndpoint,
      httpsProxy: token.httpsProxy,
      noProxy: token.noProxy,
      proxyCredentialsSecret:
        token.proxyCredentialsSecret === undefined
          ? undefined
          : existingSecret(this, `${token.name}.ProxyCredentials`, token.proxyCredentialsSecret),
      fips: token.fips,
    };
  }

  /**
   * What a person or another stack needs of one token, under ids that read as its name (`aem-prod`:
   * `AemProdTokenSecretArn`, …), exported as `<stack>-<id>`: the token secret's ARN, the credentials
   * secret to upload to (complete ARN, or the name of a secret configured by name), the function's
   * name, and the key's ARN when the stack created one.
   */
  private addOutputs(name: string, refresher: ImsTokenRefresher, key: kms.Key | undefined): void {
    const prefix = outputPrefix(name);
    const owner = this.outputOwners.get(prefix);
    if (owner !== undefined) {
      this.outputClashes.push(`tokens "${owner}" and "${name}" both name their outputs ${prefix}…; rename one`);
      return;
    }
    this.outputOwners.set(prefix, name);
    const output = (what: string, value: string, description: string) => {
      // A "." never occurs in a token name, so these ids cannot meet a token's construct id.
      const logicalId = `${prefix}${what}`;
      new CfnOutput(this, `${name}.${what}`, {
        value,
        description: `Token "${name}": ${description}`,
        exportName: `${this.stackName}-${logicalId}`,
      }).overrideLogicalId(logicalId);
    };
    output(
      'TokenSecretArn',
      refresher.tokenSecret.secretArn,
      'ARN of its token secret, to read (ims-token --secret-id <this>) or grant GetSecretValue on',
    );
    output(
      'CredentialsSecretId',
      secretId(refresher.credentialsSecret),
      'its credentials secret, by complete ARN or name, to upload to (ims-token credentials put --secret-id <this>)',
    );
    output(
      'FunctionName',
      refresher.function.functionName,
      'name of its refresher function, to renew the token now (ims-token refresh --function <this>)',
    );
    if (key) {
      output(
        'EncryptionKeyArn',
        key.keyArn,
        'ARN of the KMS key of its secrets, on which readers in other accounts need kms:Decrypt',
      );
    }
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
   * state of `alarms` (e.g. each refresher's `alarms`), found by name (no cross-stack reference), at most 100 to an
   * alarm widget. Alarms that would take the dashboard's body past 1 MB go on to a second
   * dashboard (`<stack>-ims-tokens-2`), and so on: returns the dashboards, the first one first.
   */
  addDashboard(alarms: cloudwatch.Alarm[]): cloudwatch.Dashboard[] {
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
    const found = alarms.map((alarm, index) =>
      cloudwatch.Alarm.fromAlarmName(this, `Dashboard.Alarm${index}`, alarmName(alarm)),
    );
    const widgets = chunks(found, LIMITS.alarmsPerWidget).map(
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

/** The start of a token's output ids: its name's hyphen-separated parts, each capitalized (`aem-prod` → `AemProd`). */
function outputPrefix(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
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

/** The `rotateClientSecret` of `token` as the construct takes it: days and hours as durations. */
function rotationOf(token: TokenConfig): ClientSecretRotation | undefined {
  const rotation = token.rotateClientSecret;
  if (!rotation) return undefined;
  const { everyDays, retireAfterHours, orgId, credentialId } = rotation;
  return {
    every: Duration.days(everyDays),
    orgId,
    credentialId,
    retireAfter: retireAfterHours === undefined ? undefined : Duration.hours(retireAfterHours),
  };
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

/** The secret `ref` names, imported as `id`; undefined for "create". */
function existingSecret(scope: Construct, id: string, ref: string): secretsmanager.ISecret | undefined {
  if (ref === 'create') return undefined;
  // The configuration accepts complete ARNs only: "-author" in a partial ARN would read as a suffix.
  return ref.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, ref)
    : secretsmanager.Secret.fromSecretNameV2(scope, id, ref);
}
