import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ImsTokenRefresherError } from '../../lib/errors.js';
import { ImsTokenRefresher, type ImsTokenRefresherProps } from '../../lib/ims-token-refresher.js';
import { LongestValues } from '../../lib/limits.js';

/** Props, or a function that makes them in the stack (for keys and other resources). */
type PropsIn = ImsTokenRefresherProps | ((stack: Stack) => ImsTokenRefresherProps);

function synth(props: PropsIn = {}, extra?: (stack: Stack, refresher: ImsTokenRefresher) => void) {
  const app = new App();
  const stack = new Stack(app, 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const refresher = new ImsTokenRefresher(stack, 'AemProd', typeof props === 'function' ? props(stack) : props);
  extra?.(stack, refresher);
  return { stack, refresher, template: Template.fromStack(stack) };
}

/** All statements of all IAM policies attached to the function's role. */
function roleStatements(template: Template, roleLogicalId: string) {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((policy) => JSON.stringify(policy.Properties.Roles ?? []).includes(roleLogicalId))
    .flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
}

describe('ImsTokenRefresher', () => {
  it('runs the bundled handler on Node.js 24, arm64, 128 MB, with an explicit timeout and JSON logs', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 128,
      Timeout: 90,
      Handler: 'index.handler',
      ReservedConcurrentExecutions: 1,
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON', LogGroup: Match.anyValue() }),
    });
    // A year, as Control Tower's CT.CLOUDWATCH.PR.2 asks: about 18 MB a token, under a cent a month.
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  it('lets runs overlap when reservedConcurrency is off (accounts with a low concurrency quota)', () => {
    const { template } = synth({ reservedConcurrency: false });
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: Match.absent() });
  });

  it('passes the configuration contract through the environment', () => {
    const { template } = synth({
      refreshThreshold: 0.4,
      imsBaseUrl: 'https://ims.proxy.example',
      credentialsType: 'oauth',
      credentialName: 'Credential in Workspace',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CREDENTIALS_SECRET_ID: { Ref: Match.stringLikeRegexp('AemProdCredentials') },
          TOKEN_SECRET_ID: { Ref: Match.stringLikeRegexp('AemProdToken') },
          REFRESH_THRESHOLD: '0.4',
          IMS_BASE_URL: 'https://ims.proxy.example',
          CREDENTIALS_TYPE: 'oauth',
          CREDENTIAL_NAME: 'Credential in Workspace',
          POWERTOOLS_SERVICE_NAME: 'Test/AemProd',
          NODE_OPTIONS: '--enable-source-maps',
        }),
      },
    });
  });

  it('leaves optional variables out when their props are not set', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          IMS_BASE_URL: Match.absent(),
          CREDENTIALS_TYPE: Match.absent(),
          CREDENTIAL_NAME: Match.absent(),
        }),
      },
    });
  });

  it('creates a token secret and, by default, a credentials secret', () => {
    const { template } = synth({ tokenSecretName: 'adobe/aem-prod/token' });
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'adobe/aem-prod/token' });
  });

  it('uses an existing credentials secret instead of creating one', () => {
    const app = new App();
    const stack = new Stack(app, 'Test');
    const existing = secretsmanager.Secret.fromSecretNameV2(stack, 'Existing', 'adobe/aem-prod/credentials');
    new ImsTokenRefresher(stack, 'AemProd', { credentialsSecret: existing });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CREDENTIALS_SECRET_ID: 'adobe/aem-prod/credentials' }) },
    });
  });

  const COMPLETE_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:adobe/aem-prod-author-AbC123';
  const PARTIAL_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:adobe/aem-prod-author';
  /** The ARN CDK builds for `resource` of a secret imported by name (the partition stays a reference). */
  const arnByName = (resource: string) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:secretsmanager:eu-west-1:111111111111:secret:${resource}`]],
  });

  // A partial ARN of a name ending in "-" and six characters reads as complete to Secrets Manager: it finds nothing.
  it.each<[string, (stack: Stack) => secretsmanager.ISecret | undefined, unknown]>([
    [
      'fromSecretNameV2',
      (s) => secretsmanager.Secret.fromSecretNameV2(s, 'C', 'adobe/aem-prod-author'),
      'adobe/aem-prod-author',
    ],
    [
      'fromSecretPartialArn',
      (s) => secretsmanager.Secret.fromSecretPartialArn(s, 'C', PARTIAL_ARN),
      'adobe/aem-prod-author',
    ],
    ['fromSecretCompleteArn', (s) => secretsmanager.Secret.fromSecretCompleteArn(s, 'C', COMPLETE_ARN), COMPLETE_ARN],
    [
      'fromSecretAttributes',
      (s) => secretsmanager.Secret.fromSecretAttributes(s, 'C', { secretPartialArn: PARTIAL_ARN }),
      'adobe/aem-prod-author',
    ],
    ['a created secret', () => undefined, { Ref: Match.stringLikeRegexp('^AemProdCredentials') }],
  ])('gives the function the name or complete ARN of a credentials secret from %s', (_how, credentials, expected) => {
    const { template } = synth((stack) => ({ credentialsSecret: credentials(stack) }));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CREDENTIALS_SECRET_ID: expected,
          TOKEN_SECRET_ID: { Ref: Match.stringLikeRegexp('^AemProdToken') },
        }),
      },
    });
  });

  it('grants a secret imported by name with the suffix wildcard, so its complete ARN matches', () => {
    const { template } = synth((stack) => ({
      credentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'C', 'adobe/aem-prod-author'),
    }));
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: arnByName('adobe/aem-prod-author-??????'),
          }),
        ]),
      },
    });
  });

  const SUFFIX_WARNING = /`(credentialsSecret|tokenSecretName)` is named "[^"]+", which ends in "-" and six characters/;
  const suffixWarnings = (stack: Stack) =>
    Annotations.fromStack(stack)
      .findWarning('*', Match.stringLikeRegexp('ends in "-" and six characters'))
      .map((warning) => String(warning.entry.data).match(SUFFIX_WARNING)?.[0]);

  it.each<[string, (stack: Stack) => ImsTokenRefresherProps, string[]]>([
    [
      'a credentials secret named so',
      (s) => ({ credentialsSecret: secretsmanager.Secret.fromSecretNameV2(s, 'C', 'adobe/aem-prod-author') }),
      ['`credentialsSecret` is named "adobe/aem-prod-author", which ends in "-" and six characters'],
    ],
    [
      'a credentials secret by such a partial ARN',
      (s) => ({ credentialsSecret: secretsmanager.Secret.fromSecretPartialArn(s, 'C', PARTIAL_ARN) }),
      ['`credentialsSecret` is named "adobe/aem-prod-author", which ends in "-" and six characters'],
    ],
    [
      'a token secret named so',
      () => ({ tokenSecretName: 'adobe/aem-prod-author' }),
      ['`tokenSecretName` is named "adobe/aem-prod-author", which ends in "-" and six characters'],
    ],
    [
      'no secret named so',
      (s) => ({
        credentialsSecret: secretsmanager.Secret.fromSecretNameV2(s, 'C', 'adobe/aem-prod'),
        tokenSecretName: 'adobe/aem-prod-author/token',
      }),
      [],
    ],
    [
      'a credentials secret by complete ARN (the refresher and CDK use that ARN)',
      (s) => ({ credentialsSecret: secretsmanager.Secret.fromSecretCompleteArn(s, 'C', COMPLETE_ARN) }),
      [],
    ],
  ])('warns at synth, naming the AWS rule, about %s', (_what, props, expected) => {
    const { stack } = synth(props);
    expect(suffixWarnings(stack)).toEqual(expected);
    if (expected.length > 0) {
      const [warning] = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('six characters'));
      expect(warning.entry.data).toContain('Do not end your secret name with a hyphen followed by six characters');
    }
  });

  it('lets the function read the credentials, read and put the token, write its logs and failure queue, nothing else', () => {
    const { template } = synth();
    const roles = template.findResources('AWS::IAM::Role', {
      Properties: {
        AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
      },
    });
    const [roleId] = Object.keys(roles);
    expect(Object.keys(roles)).toHaveLength(1);
    expect(roles[roleId].Properties.ManagedPolicyArns).toBeUndefined();

    const granted = roleStatements(template, roleId).map((statement) => ({
      actions: [statement.Action].flat().sort(),
      resource: JSON.stringify(statement.Resource),
    }));
    const onCredentials = granted.filter((g) => g.resource.includes('AemProdCredentials'));
    const onToken = granted.filter((g) => g.resource.includes('AemProdToken'));
    const onLogs = granted.filter((g) => g.resource.includes('AemProdLogs'));
    const onFailures = granted.filter((g) => g.resource.includes('AemProdFailures'));
    expect(onCredentials.flatMap((g) => g.actions).sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    expect(onToken.flatMap((g) => g.actions).sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecretVersionStage',
    ]);
    expect(onLogs.flatMap((g) => g.actions).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    // The on-failure destination: Lambda sends failed events with the function's role.
    expect(onFailures.flatMap((g) => g.actions)).toContain('sqs:SendMessage');
    // Every statement is one of the above: no wildcard resource, no other action.
    expect(onCredentials.length + onToken.length + onLogs.length + onFailures.length).toBe(granted.length);
    expect(granted.some((g) => g.resource === '"*"')).toBe(false);
  });

  it('schedules a run every hour by default, passing the scheduled time for idempotent writes', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AemProdFunction'), 'Arn'] },
        Input: JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' }),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 1800 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      }),
    });
  });

  it('does not let Lambda retry a failed run and keeps failed events in an encrypted queue', () => {
    const { template } = synth({ schedule: Duration.minutes(30) });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 900,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('AemProdFailures'), 'Arn'] } },
      },
    });
    template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(30 minutes)' });
  });

  it('grants consumers read access to the token secret only', () => {
    const { template } = synth({}, (stack, refresher) => {
      const consumer = new iam.Role(stack, 'Consumer', { assumedBy: new iam.AccountRootPrincipal() });
      refresher.grantRead(consumer);
    });
    const roleId = Object.keys(template.findResources('AWS::IAM::Role')).find((id) => id.startsWith('Consumer'))!;
    const statements = roleStatements(template, roleId);
    expect(statements).toHaveLength(1);
    expect(JSON.stringify(statements[0].Resource)).toContain('AemProdToken');
    expect([statements[0].Action].flat().sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
  });

  it.each([
    [{ refreshThreshold: 0 }, /`refreshThreshold` must be a number between 0 and 1 \(exclusive\), got 0/],
    [{ refreshThreshold: 1 }, /`refreshThreshold` must be a number between 0 and 1 \(exclusive\), got 1/],
    [{ schedule: Duration.seconds(30) }, /`schedule` must be at least 1 minute/],
    [
      { schedule: Duration.hours(7) },
      /`schedule` \(7 hours\) leaves fewer than two full refresh chances.*`refreshThreshold` \(0.5\)/,
    ],
    [{ refreshThreshold: 0.05 }, /leaves fewer than two full refresh chances/],
    // Two 6 h periods fill the 12 h window exactly, leaving no room for the last run's 90 s retry budget.
    [{ schedule: Duration.hours(6) }, /each with its 1 minute 30 seconds retry budget/],
    [
      { credentialsExpiryWarning: Duration.hours(12) },
      /`credentialsExpiryWarning` must be between 1 and 365 days, got 12 hours/,
    ],
    [
      { credentialsExpiryWarning: Duration.days(366) },
      /`credentialsExpiryWarning` must be between 1 and 365 days, got 366 days/,
    ],
    [{ credentialName: ' ' }, /`credentialName` must not be empty/],
  ] as [ImsTokenRefresherProps, RegExp][])('rejects %o at synth', (props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  it('warns when an IMS outage of a few periods would expire the token', () => {
    const { stack } = synth({ schedule: Duration.hours(4) });
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('only 2 refresh chances before expiry'));
  });

  it("alarms at once on a permanent failure: the function errs only then, so Lambda's free Errors metric counts them", () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test/AemProd permanent failure',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('AemProdFunction') } }],
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when the token has less than half the refresh window left (6 h by default), keeping its state between runs that send it', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test/AemProd token expiring',
      Namespace: 'ImsTokenRefresher',
      MetricName: 'TokenSecondsToExpiry',
      Dimensions: [{ Name: 'service', Value: 'Test/AemProd' }],
      Statistic: 'Minimum',
      Threshold: 6 * 3600,
      ComparisonOperator: 'LessThanThreshold',
      // Only runs that refresh or fail send it: a missing hour is a skipped run, not news.
      TreatMissingData: 'ignore',
    });
  });

  it("alarms when the function was not invoked for two schedule periods (Lambda's free Invocations), missing data breaching", () => {
    const { template } = synth({ schedule: Duration.minutes(30) });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test/AemProd not running',
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Statistic: 'Sum',
      Period: 1800,
      EvaluationPeriods: 2,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('alarms 30 days before the certificate in the credentials expires, saying what to do; no data keeps the state', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'ImsTokenRefresher',
      MetricName: 'CredentialsSecondsToExpiry',
      Dimensions: [{ Name: 'service', Value: 'Test/AemProd' }],
      Statistic: 'Minimum',
      Threshold: 30 * 86_400,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 1,
      // Sent by runs that refresh or fail, and never for OAuth credentials (no certificate).
      TreatMissingData: 'ignore',
    });
    const alarms = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { MetricName: 'CredentialsSecondsToExpiry' },
    });
    const description = JSON.stringify(Object.values(alarms)[0].Properties.AlarmDescription);
    expect(description).toContain('The certificate in the credentials expires in less than 30 days');
    expect(description).toContain('AEM Developer Console → Integrations → refresh the credentials');
    expect(description).toMatch(
      /ims-token credentials put --secret-id ",\{"Ref":"AemProdCredentials\w+"\}," --file <json> --refresh --function ",\{"Ref":"AemProdFunction\w+"\}/,
    );
  });

  it('alarms at the credentialsExpiryWarning given', () => {
    const { template } = synth({ credentialsExpiryWarning: Duration.days(45) });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'CredentialsSecondsToExpiry',
      Threshold: 45 * 86_400,
      AlarmDescription: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('expires in less than 45 days')])] },
    });
  });

  it('has no certificate alarm for OAuth credentials, which have no certificate, and refuses a warning for one', () => {
    const { template, refresher } = synth({ credentialsType: 'oauth' });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    expect(
      template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'CredentialsSecondsToExpiry' } }),
    ).toEqual({});
    expect(refresher.credentialsExpiringAlarm).toBeUndefined();
    expect(refresher.alarms).toEqual([
      refresher.permanentFailureAlarm,
      refresher.expiringAlarm,
      refresher.notRunningAlarm,
    ]);
    const jwt = synth({ credentialsType: 'jwt' }).refresher;
    expect(jwt.credentialsExpiringAlarm).toBeDefined();
    expect(jwt.alarms).toHaveLength(4);

    expect(() => synth({ credentialsType: 'oauth', credentialsExpiryWarning: Duration.days(45) })).toThrow(
      '`credentialsExpiryWarning` is for AEM service credentials: OAuth credentials have no certificate',
    );
  });

  it('sends alarm and OK notifications to the alarm topic when given; warns at synth when not', () => {
    const { template, stack: withoutTopic } = synth({}, () => undefined);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: Match.absent() });
    Annotations.fromStack(withoutTopic).hasWarning('/Test/AemProd', Match.stringLikeRegexp('the alarms notify nobody'));
    const app = new App();
    const stack = new Stack(app, 'WithTopic');
    const topic = new sns.Topic(stack, 'Topic');
    new ImsTokenRefresher(stack, 'AemProd', { alarmTopic: topic });
    const withTopic = Template.fromStack(stack);
    expect(
      Object.keys(
        withTopic.findResources('AWS::CloudWatch::Alarm', {
          Properties: {
            AlarmActions: [{ Ref: Match.stringLikeRegexp('Topic') }],
            OKActions: [{ Ref: Match.stringLikeRegexp('Topic') }],
          },
        }),
      ),
    ).toHaveLength(4);
    withTopic.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'CredentialsSecondsToExpiry',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('Topic') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('Topic') }],
    });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('notify nobody'))).toEqual([]);
  });

  it('tells the on-call person what to do in each alarm description', () => {
    const { template } = synth();
    const descriptions = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => ({
      name: alarm.Properties.AlarmName as string,
      text: JSON.stringify(alarm.Properties.AlarmDescription),
    }));
    const of = (suffix: string) => descriptions.find((alarm) => alarm.name.endsWith(suffix))!.text;
    expect(of('permanent failure')).toMatch(
      /errorCode.*CREDENTIALS_INVALID: upload working credentials with ims-token credentials put/,
    );
    expect(of('token expiring')).toMatch(
      /aws lambda invoke --function-name ",\{"Ref":"AemProdFunction\w+"\}," --payload '\{\\"force\\":true\}'/,
    );
    expect(of('not running')).toMatch(/schedule is enabled.*dead-letter queue/);
    expect(descriptions).toHaveLength(4);
  });

  it('rejects an expiry alarm threshold outside the refresh window', () => {
    expect(() => synth({ expiryAlarmThreshold: Duration.hours(12) })).toThrow(/`expiryAlarmThreshold` must be shorter/);
  });

  it("runs the refresher when the credentials secret changes: a value put, or another version made current (a rotation's finishSecret)", () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.secretsmanager'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['secretsmanager.amazonaws.com'],
          eventName: ['PutSecretValue', 'UpdateSecret', 'RotateSecret', 'UpdateSecretVersionStage'],
          responseElements: { arn: [{ Ref: Match.stringLikeRegexp('AemProdCredentials') }] },
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AemProdFunction'), 'Arn'] },
          Input: JSON.stringify({ reason: 'credentials-changed' }),
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        }),
      ],
    });
  });

  it('matches an imported-by-name credentials secret by its partial ARN and "-": not adobe/creds2 nor adobe/creds/x', () => {
    const { template } = synth((stack) => ({
      credentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Existing', 'adobe/creds'),
    }));
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        detail: Match.objectLike({
          responseElements: { arn: [{ prefix: arnByName('adobe/creds-') }] },
        }),
      }),
    });
  });

  /** The DeletionPolicy and UpdateReplacePolicy of the one resource of `type` whose properties match `properties`. */
  function policiesOf(template: Template, type: string, properties: Record<string, unknown> = {}) {
    const found = Object.values(template.findResources(type, { Properties: properties }));
    expect(found).toHaveLength(1);
    return [found[0].DeletionPolicy, found[0].UpdateReplacePolicy];
  }
  const credentials = { Description: Match.stringLikeRegexp('credentials JSON') };
  const token = { Description: Match.stringLikeRegexp('access token') };

  it('keeps a created credentials secret and the logs when the construct is removed, by default', () => {
    const { template } = synth();
    expect(policiesOf(template, 'AWS::SecretsManager::Secret', credentials)).toEqual(['Retain', 'Retain']);
    expect(policiesOf(template, 'AWS::Logs::LogGroup')).toEqual(['Retain', 'Retain']);
    expect(policiesOf(template, 'AWS::SecretsManager::Secret', token)).toEqual(['Delete', 'Delete']);
  });

  it.each([
    [RemovalPolicy.RETAIN, 'Retain'],
    [RemovalPolicy.DESTROY, 'Delete'],
  ])(
    'applies removalPolicy %s to the created credentials secret and the logs; the token secret is deleted',
    (removalPolicy, policy) => {
      const { template } = synth({ removalPolicy });
      expect(policiesOf(template, 'AWS::SecretsManager::Secret', credentials)).toEqual([policy, policy]);
      expect(policiesOf(template, 'AWS::Logs::LogGroup')).toEqual([policy, policy]);
      expect(policiesOf(template, 'AWS::SecretsManager::Secret', token)).toEqual(['Delete', 'Delete']);
    },
  );

  it.each([RemovalPolicy.SNAPSHOT, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE])(
    'refuses removalPolicy %s',
    (removalPolicy) => {
      let refused: unknown;
      try {
        synth({ removalPolicy });
      } catch (error) {
        refused = error;
      }
      expect(refused).toBeInstanceOf(ImsTokenRefresherError);
      expect(refused).toMatchObject({
        prop: 'removalPolicy',
        message: `\`removalPolicy\` must be RemovalPolicy.RETAIN or RemovalPolicy.DESTROY, got ${removalPolicy}`,
      });
    },
  );

  it.each([
    ['http://proxy.corp.example', /`imsBaseUrl` must use https/],
    ['https://user:password@proxy.example', /`imsBaseUrl` must not carry a query, fragment or user info/],
  ])('rejects imsBaseUrl %s at synth, as the function would at start', (imsBaseUrl, message) => {
    expect(() => synth({ imsBaseUrl })).toThrow(message);
  });

  it('never puts a secret value into the template', () => {
    const { template } = synth();
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/"SecretString"/);
    expect(text).not.toMatch(/PRIVATE KEY|clientSecret|access_token/);
  });
});

describe('ImsTokenRefresher: sharing the token', () => {
  const viaSecretsManager = { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } };
  const partner = new iam.AccountPrincipal('222222222222');
  const withKey =
    (props: ImsTokenRefresherProps = {}) =>
    (stack: Stack) => ({ encryptionKey: new kms.Key(stack, 'Key'), ...props });

  /** Key policy statements whose principal's JSON contains `principal`. */
  function keyStatements(template: Template, principal: string) {
    const [key] = Object.values(template.findResources('AWS::KMS::Key'));
    return (
      key.Properties.KeyPolicy.Statement as { Principal: unknown; Action: string | string[]; Condition?: unknown }[]
    ).filter((statement) => JSON.stringify(statement.Principal).includes(principal));
  }

  it('uses the AWS managed key unless given a customer-managed one', () => {
    synth().template.allResourcesProperties('AWS::SecretsManager::Secret', { KmsKeyId: Match.absent() });
  });

  it('encrypts the token and a created credentials secret with the customer-managed key', () => {
    const { template } = synth(withKey());
    const keyArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] };
    template.resourcePropertiesCountIs('AWS::SecretsManager::Secret', { KmsKeyId: keyArn }, 2);
  });

  it('lets the function use the key only through Secrets Manager, for what reading and writing need', () => {
    const statements = keyStatements(synth(withKey()).template, 'AemProdRole');
    expect(statements.flatMap((s) => [s.Action].flat()).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    for (const statement of statements) expect(statement.Condition).toEqual(viaSecretsManager);
  });

  it('grants the use of imported keys in IAM policies, where CDK adds nothing: the key policies are not ours', () => {
    const tokenKeyArn = 'arn:aws:kms:eu-west-1:111111111111:key/1111abcd-12ab-34cd-56ef-1234567890ab';
    const credentialsKeyArn = 'arn:aws:kms:eu-west-1:111111111111:key/2222abcd-12ab-34cd-56ef-1234567890ab';
    const { template } = synth(
      (stack) => ({
        encryptionKey: kms.Key.fromKeyArn(stack, 'TokenKey', tokenKeyArn),
        credentialsSecret: secretsmanager.Secret.fromSecretAttributes(stack, 'Credentials', {
          secretCompleteArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:adobe/aem-prod-AbCdEf',
          encryptionKey: kms.Key.fromKeyArn(stack, 'CredentialsKey', credentialsKeyArn),
        }),
      }),
      (stack, refresher) => refresher.grantRead(new iam.User(stack, 'Reader')),
    );
    const keyUse = (statements: { Action: string | string[]; Resource: unknown; Condition?: unknown }[]) =>
      statements
        .filter((statement) => [statement.Action].flat().some((action) => action.startsWith('kms:')))
        .map((statement) => ({
          actions: [statement.Action].flat(),
          key: statement.Resource,
          when: statement.Condition,
        }));
    expect(keyUse(roleStatements(template, 'AemProdRole'))).toEqual(
      expect.arrayContaining([
        { actions: ['kms:Decrypt'], key: credentialsKeyArn, when: viaSecretsManager },
        { actions: ['kms:Decrypt'], key: tokenKeyArn, when: viaSecretsManager },
        { actions: ['kms:GenerateDataKey'], key: tokenKeyArn, when: viaSecretsManager },
      ]),
    );
    const [reader] = Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^Reader') } }),
    );
    expect(keyUse(reader.Properties.PolicyDocument.Statement)).toEqual([
      { actions: ['kms:Decrypt'], key: tokenKeyArn, when: viaSecretsManager },
    ]);
  });

  it('refuses cross-account readers without a customer-managed key, naming both props', () => {
    expect(() => synth({ crossAccountReaders: [partner] })).toThrow(
      '`crossAccountReaders` needs `encryptionKey`: other accounts cannot decrypt a secret encrypted with the AWS managed key',
    );
  });

  it('grants cross-account readers through the secret resource policy and the key policy', () => {
    const { template } = synth(withKey({ crossAccountReaders: [partner] }));
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      SecretId: { Ref: Match.stringLikeRegexp('AemProdToken') },
      ResourcePolicy: {
        Statement: [
          {
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root']] } },
            Resource: { Ref: Match.stringLikeRegexp('AemProdToken') },
          },
        ],
        Version: '2012-10-17',
      },
    });
    expect(keyStatements(template, '222222222222')).toEqual([
      expect.objectContaining({ Action: 'kms:Decrypt', Condition: viaSecretsManager }),
    ]);
    // Only the token secret is shared: the credentials secret's policy allows nothing (it only denies).
    const credentialsPolicies = template.findResources('AWS::SecretsManager::ResourcePolicy', {
      Properties: { SecretId: { Ref: Match.stringLikeRegexp('AemProdCredentials') } },
    });
    const statements = Object.values(credentialsPolicies).flatMap(
      (policy) => policy.Properties.ResourcePolicy.Statement,
    );
    expect(statements.map((statement) => statement.Effect)).toEqual(['Deny']);
  });

  it('replicates the token secret to other regions, each with its key when given', () => {
    const { template } = synth((stack) => ({
      replicaRegions: [
        {
          region: 'us-east-1',
          encryptionKey: kms.Key.fromKeyArn(
            stack,
            'UsKey',
            'arn:aws:kms:us-east-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab',
          ),
        },
        { region: 'ap-southeast-2' },
      ],
    }));
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('access token'),
      ReplicaRegions: [
        {
          Region: 'us-east-1',
          KmsKeyId: 'arn:aws:kms:us-east-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab',
        },
        { Region: 'ap-southeast-2' },
      ],
    });
  });

  it('rejects a replica region listed twice', () => {
    expect(() => synth({ replicaRegions: [{ region: 'us-east-1' }, { region: 'us-east-1' }] })).toThrow(
      '`replicaRegions` lists us-east-1 twice',
    );
  });

  it('warns that cross-account readers read this region only, not the replicas', () => {
    const { stack } = synth(withKey({ crossAccountReaders: [partner], replicaRegions: [{ region: 'us-east-1' }] }));
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp('can read the token secret in this region only, not its replicas in us-east-1'),
    );
  });

  it('warns that an imported key needs its owner to allow cross-account readers', () => {
    const imported = (stack: Stack) => ({
      encryptionKey: kms.Key.fromKeyArn(
        stack,
        'Imported',
        'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      ),
      crossAccountReaders: [partner],
    });
    const { stack, template } = synth(imported);
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp('`encryptionKey` is imported, so its key policy cannot be changed here'),
    );
    template.resourcePropertiesCountIs(
      'AWS::SecretsManager::ResourcePolicy',
      { SecretId: { Ref: Match.stringLikeRegexp('AemProdToken') } },
      1,
    );
  });

  it('grants readers the replicas and their keys, and the function what propagating to them needs', () => {
    const replicaKeyArn = 'arn:aws:kms:us-east-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab';
    const { template } = synth(
      (stack) => ({
        replicaRegions: [{ region: 'us-east-1', encryptionKey: kms.Key.fromKeyArn(stack, 'UsKey', replicaKeyArn) }],
      }),
      (stack, refresher) => refresher.grantRead(new iam.User(stack, 'Reader')),
    );
    const readerStatements = JSON.stringify(
      template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^Reader') } }),
    );
    // The replica's ARN: the primary's name and suffix in the replica's region.
    expect(readerStatements).toContain(':secretsmanager:us-east-1:111111111111:secret:');
    expect(readerStatements).toContain('{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"AemProdToken');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('^Reader'),
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: 'kms:Decrypt',
            Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } },
            Effect: 'Allow',
            Resource: replicaKeyArn,
          },
        ]),
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('AemProdRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: ['kms:GenerateDataKey', 'kms:Encrypt'],
            Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } },
            Effect: 'Allow',
            Resource: replicaKeyArn,
          },
        ]),
      },
    });
  });

  it.each([
    [
      'a role',
      (stack: Stack) =>
        new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') }),
    ],
    ['a user', (stack: Stack) => new iam.User(stack, 'Reader')],
    [
      'a Lambda function',
      (stack: Stack) =>
        new lambda.Function(stack, 'Reader', {
          runtime: lambda.Runtime.NODEJS_24_X,
          handler: 'index.handler',
          code: lambda.Code.fromInline('exports.handler = async () => {}'),
        }),
    ],
  ] as const)(
    'grantRead gives %s read access and, with a key, decrypt through Secrets Manager',
    (_kind, makeReader) => {
      const { template } = synth(withKey(), (stack, refresher) => refresher.grantRead(makeReader(stack)));
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyName: Match.stringLikeRegexp('^Reader'),
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
              Effect: 'Allow',
              Resource: { Ref: Match.stringLikeRegexp('AemProdToken') },
            },
          ]),
        },
      });
      expect(keyStatements(template, 'Reader')).toEqual([
        expect.objectContaining({ Action: 'kms:Decrypt', Condition: viaSecretsManager }),
      ]);
    },
  );
});

describe('ImsTokenRefresher: AWS limits met only at deploy, checked at synth', () => {
  /** Synthesizes and returns the error, which must name `prop`. */
  function refused(props: PropsIn, prop: string, id = 'AemProd'): string {
    const app = new App();
    const stack = new Stack(app, 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
    try {
      new ImsTokenRefresher(stack, id, typeof props === 'function' ? props(stack) : props);
      app.synth();
    } catch (error) {
      expect(error).toBeInstanceOf(ImsTokenRefresherError);
      expect((error as ImsTokenRefresherError).prop).toBe(prop);
      return (error as Error).message;
    }
    throw new Error('synth passed');
  }

  it('fits every alarm name and description at the lengths the configuration allows', () => {
    // Stack name 128, token name 40, an existing secret's name 512: the issue's 1,083-character description.
    const app = new App();
    const stack = new Stack(app, 'S'.padEnd(128, 'x'));
    const refresher = new ImsTokenRefresher(stack, 'a'.padEnd(40, 'b'), {
      credentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Credentials', 'c'.repeat(512)),
    });
    app.synth();
    const longest = new LongestValues(stack);
    for (const alarm of refresher.alarms.map((a) => a.node.defaultChild as cloudwatch.CfnAlarm)) {
      expect(longest.length(alarm.alarmName)).toBeLessThanOrEqual(255);
      expect(longest.length(alarm.alarmDescription)).toBeLessThanOrEqual(1024);
    }
  });

  it('names no role, schedule or rule (CloudFormation generates names within limits); its inline policies fit 10,240', () => {
    const app = new App();
    const stack = new Stack(app, 'S'.padEnd(128, 'x'));
    const keyArn = 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    new ImsTokenRefresher(stack, 'a'.padEnd(40, 'b'), {
      credentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Credentials', 'c'.repeat(512)),
      tokenSecretName: 't'.repeat(512),
      encryptionKey: kms.Key.fromKeyArn(stack, 'Key', keyArn),
      replicaRegions: ['us-east-1', 'us-west-2', 'ap-southeast-2', 'eu-central-1'].map((region) => ({ region })),
    });
    const template = Template.fromStack(stack);
    template.allResourcesProperties('AWS::IAM::Role', { RoleName: Match.absent() });
    template.allResourcesProperties('AWS::Scheduler::Schedule', { Name: Match.absent() });
    template.allResourcesProperties('AWS::Events::Rule', { Name: Match.absent() });
    const longest = new LongestValues(stack);
    for (const role of stack.node.findAll().filter((c): c is iam.Role => c instanceof iam.Role)) {
      const inline = role.node.findAll().filter((c): c is iam.CfnPolicy => c instanceof iam.CfnPolicy);
      expect(inline.reduce((sum, policy) => sum + longest.length(policy.policyDocument), 0)).toBeLessThanOrEqual(
        10_240,
      );
    }
  });

  it('measures a credentials secret of another stack of the app by its own name, through the export', () => {
    const app = new App();
    const env = { account: '111111111111', region: 'eu-west-1' };
    const secrets = new Stack(app, 'Secrets', { env });
    const credentialsSecret = new secretsmanager.Secret(secrets, 'Credentials', { secretName: 'adobe/aem-prod' });
    const stack = new Stack(app, 'Test', { env });
    const refresher = new ImsTokenRefresher(stack, 'AemProd', { credentialsSecret });
    app.synth();
    const description = (refresher.permanentFailureAlarm.node.defaultChild as cloudwatch.CfnAlarm).alarmDescription;
    expect(JSON.stringify(stack.resolve(description))).toContain('Fn::ImportValue');
    expect(new LongestValues(stack).form(description)).toMatch(/:secret:adobe\/aem-prod-x{6} --file/);
  });

  it('refuses alarm names and descriptions over CloudWatch limits, naming what to shorten', () => {
    expect(refused({}, 'id', 'x'.repeat(240))).toMatch(
      /^the characters of the alarm name "Test\/x+ permanent failure" can reach 2\d\d, over AWS's 255: shorten the stack name or the construct id$/,
    );
    const arn = `arn:aws:secretsmanager:eu-west-1:111111111111:secret:${'c'.repeat(900)}-AbC123`;
    const credentialsSecret = (stack: Stack) => secretsmanager.Secret.fromSecretCompleteArn(stack, 'Creds', arn);
    expect(refused((stack) => ({ credentialsSecret: credentialsSecret(stack) }), 'credentialsSecret')).toMatch(
      /^the characters of the description of "Test\/AemProd permanent failure" \(names and ARNs at their longest\) can reach 1,\d{3}, over AWS's 1,024/,
    );
  });

  it('refuses a credentialName or imsBaseUrl that takes the environment past 4 KB, naming it', () => {
    expect(refused({ credentialName: 'n'.repeat(4000) }, 'credentialName')).toMatch(
      /^the bytes of the function's environment \(keys and values, secret ARNs at their longest\) can reach 4,\d{3}, over AWS's 4,096: shorten `credentialName`$/,
    );
    const imsBaseUrl = `https://ims.example/${'p'.repeat(4000)}`;
    expect(refused({ imsBaseUrl, credentialName: 'n' }, 'imsBaseUrl')).toMatch(/shorten `imsBaseUrl`$/);
    // Just under: 2,000 characters of each fits.
    expect(() =>
      synth({ credentialName: 'n'.repeat(1000), imsBaseUrl: `https://ims.example/${'p'.repeat(1000)}` }),
    ).not.toThrow();
  });

  it('refuses more readers than a secret resource policy holds (20,480 characters), naming them', () => {
    const reader = (i: number) => new iam.ArnPrincipal(`arn:aws:iam::111111111111:role/${'p/'.repeat(100)}reader-${i}`);
    const readers = Array.from({ length: 100 }, (_, i) => reader(i));
    expect(refused({ restrictTokenReaders: true, tokenReaders: readers }, 'tokenReaders')).toMatch(
      /^the characters of the token secret's resource policy \(ARNs at their longest\) can reach 2\d,\d{3}, over AWS's 20,480: list fewer `tokenReaders`, `crossAccountReaders` or grantees$/,
    );
    expect(refused({ credentialsReaders: readers }, 'credentialsReaders')).toMatch(/list fewer `credentialsReaders`$/);
    // The policy of a secret from outside the app, which refreshers may share, is measured too.
    const existing = (stack: Stack) => ({
      credentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Creds', 'adobe/shared'),
      restrictCredentialsReaders: true,
      credentialsReaders: readers,
    });
    expect(refused(existing, 'credentialsReaders')).toMatch(/list fewer `credentialsReaders`$/);
    expect(() => synth({ restrictTokenReaders: true, tokenReaders: readers.slice(0, 50) })).not.toThrow();
  });

  it('refuses the ids CDK gives children of a stack, which would silently replace CDK’s', () => {
    for (const id of ['BootstrapVersion', 'CDKMetadata']) {
      expect(refused({}, 'id', id)).toBe(
        `the id "${id}" is CDK's own in a stack (it would silently replace CDK's): choose another`,
      );
    }
    const app = new App();
    const stack = new Stack(app, 'Test');
    new ImsTokenRefresher(new Construct(stack, 'Tokens'), 'BootstrapVersion');
    expect(app.synth().getStackByName('Test').template.Parameters.BootstrapVersion).toBeDefined();
  });

  it.each([
    [{ tokenSecretName: 'has space' }, 'tokenSecretName', /`tokenSecretName` must be 1 to 512 of/],
    [{ tokenSecretName: 'n'.repeat(513) }, 'tokenSecretName', /`tokenSecretName` must be 1 to 512 of/],
    [{ schedule: Duration.seconds(90) }, 'schedule', /`schedule` must be a whole number of minutes/],
    [{ expiryAlarmThreshold: Duration.millis(1500) }, 'expiryAlarmThreshold', /whole number of seconds/],
  ] as [ImsTokenRefresherProps, string, RegExp][])('refuses %o, naming %s', (props, prop, message) => {
    expect(refused(props, prop)).toMatch(message);
  });

  it('builds or refuses by name every refreshThreshold and scheduleMinutes the configuration accepts', () => {
    // 0.9999 with 719 minutes used to crash: its default expiry alarm threshold was 43,195.68 seconds.
    const app = new App();
    const stack = new Stack(app, 'Test');
    let id = 0;
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true, minExcluded: true, maxExcluded: true }),
        fc.integer({ min: 1, max: 1440 }),
        (threshold, minutes) => {
          const props = { refreshThreshold: threshold, schedule: Duration.minutes(minutes) };
          try {
            new ImsTokenRefresher(stack, `T${id++}`, props);
          } catch (error) {
            expect(error).toBeInstanceOf(ImsTokenRefresherError);
          }
        },
      ),
      { numRuns: 40, examples: [[0.9999, 719]] },
    );
  });
});
