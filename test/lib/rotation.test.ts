import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { ImsTokenRefresherError } from '../../lib/errors.js';
import { ImsTokenRefresher, type ImsTokenRefresherProps } from '../../lib/ims-token-refresher.js';
import { ImsTokenStack } from '../../lib/ims-token-stack.js';
import { parseAppConfig } from '../../lib/config/load.js';
import { LongestValues } from '../../lib/limits.js';

const ROTATED: ImsTokenRefresherProps = { credentialsType: 'oauth', rotateClientSecret: { every: Duration.days(90) } };

function synth(props: ImsTokenRefresherProps | ((stack: Stack) => ImsTokenRefresherProps) = ROTATED) {
  const app = new App();
  const stack = new Stack(app, 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const refresher = new ImsTokenRefresher(stack, 'AemProd', typeof props === 'function' ? props(stack) : props);
  return { stack, refresher, template: Template.fromStack(stack) };
}

/** The logical id of the Lambda function whose handler is `handler`. */
function functionId(template: Template, handler: string): string {
  const [id, ...others] = Object.keys(
    template.findResources('AWS::Lambda::Function', { Properties: { Handler: handler } }),
  );
  expect(others).toEqual([]);
  return id;
}

/** The logical id of the role of the function with `handler`. */
function roleOf(template: Template, handler: string): string {
  const fn = template.findResources('AWS::Lambda::Function')[functionId(template, handler)];
  return (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

/** Every statement of the inline policies of `roleId`. */
function rolePolicyStatements(template: Template, roleId: string) {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleId))
    .flatMap(
      (policy) =>
        policy.Properties.PolicyDocument.Statement as {
          Action: string | string[];
          Resource: unknown;
          Condition?: unknown;
        }[],
    );
}

/** Every statement of the inline policies of `roleId`, as sorted actions and the resource as JSON. */
function grantsOf(template: Template, roleId: string) {
  return rolePolicyStatements(template, roleId).map((statement) => ({
    actions: [statement.Action].flat().sort(),
    resource: JSON.stringify(statement.Resource),
  }));
}

const ROTATION_HANDLER = 'index.rotationHandler';

describe('ImsTokenRefresher: rotateClientSecret', () => {
  it('creates nothing for rotation without it', () => {
    const { template, refresher } = synth({ credentialsType: 'oauth' });
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    expect(refresher.rotationFunction).toBeUndefined();
    expect(refresher.rotationFailedAlarm).toBeUndefined();
  });

  it("runs the bundle's rotationHandler from the refresher's asset, Node.js 24 on arm64, with its own role and log group", () => {
    const { template } = synth();
    const functions = template.findResources('AWS::Lambda::Function');
    const rotation = functions[functionId(template, ROTATION_HANDLER)].Properties;
    const refresher = functions[functionId(template, 'index.handler')].Properties;
    expect(rotation).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], MemorySize: 128, Timeout: 120 });
    expect(rotation.LoggingConfig.LogFormat).toBe('JSON');
    // One asset: the same pre-bundled code.
    expect(rotation.Code).toEqual(refresher.Code);
    expect(rotation.Role).not.toEqual(refresher.Role);
    expect(rotation.LoggingConfig.LogGroup).not.toEqual(refresher.LoggingConfig.LogGroup);
    template.resourceCountIs('AWS::Logs::LogGroup', 2);
  });

  it('passes the contract through the environment, and no credentials secret id: that comes from each event', () => {
    const { template } = synth({
      credentialsType: 'oauth',
      credentialName: 'Credential in Workspace',
      imsBaseUrl: 'https://ims.proxy.example',
      adobeApiBaseUrl: 'http://127.0.0.1:8443',
      rotateClientSecret: {
        every: Duration.days(30),
        orgId: '23294',
        credentialId: '385214',
        retireAfter: Duration.hours(48),
      },
    });
    const fn = template.findResources('AWS::Lambda::Function')[functionId(template, ROTATION_HANDLER)];
    const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
    expect(variables).toMatchObject({
      TOKEN_SECRET_ID: { Ref: expect.stringMatching(/^AemProdToken/) as unknown },
      RETIRE_AFTER_HOURS: '48',
      IMS_BASE_URL: 'https://ims.proxy.example',
      ADOBE_API_BASE_URL: 'http://127.0.0.1:8443',
      CREDENTIAL_NAME: 'Credential in Workspace',
      ADOBE_ORG_ID: '23294',
      ADOBE_CREDENTIAL_ID: '385214',
      NODE_OPTIONS: '--enable-source-maps',
    });
    expect(variables.CREDENTIALS_SECRET_ID).toBeUndefined();
  });

  it('retires after 24 hours by default, and leaves the optional variables out', () => {
    const { template } = synth();
    const fn = template.findResources('AWS::Lambda::Function')[functionId(template, ROTATION_HANDLER)];
    const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
    expect(variables.RETIRE_AFTER_HOURS).toBe('24');
    for (const name of ['IMS_BASE_URL', 'ADOBE_API_BASE_URL', 'ADOBE_ORG_ID', 'ADOBE_CREDENTIAL_ID', 'HTTPS_PROXY']) {
      expect(variables[name], name).toBeUndefined();
    }
  });

  it('lets the rotation role read, stage and promote credentials versions, read the token, write its logs: nothing else', () => {
    const { template } = synth();
    const granted = grantsOf(template, roleOf(template, ROTATION_HANDLER));
    const on = (name: string) =>
      granted
        .filter((g) => g.resource.includes(name))
        .flatMap((g) => g.actions)
        .sort();
    expect(on('AemProdCredentials')).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecretVersionStage',
    ]);
    expect(on('AemProdToken')).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(on('AemProdRotationLogs')).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    const named = ['AemProdCredentials', 'AemProdToken', 'AemProdRotationLogs'];
    expect(granted.every((g) => named.some((name) => g.resource.includes(name)))).toBe(true);
    // No GetRandomPassword on "*" (CDK's RotationSchedule would add it), no wildcard at all.
    expect(granted.some((g) => g.resource === '"*"')).toBe(false);
    // And the refresher still cannot write the credentials.
    const refresher = grantsOf(template, roleOf(template, 'index.handler'));
    expect(refresher.filter((g) => g.resource.includes('AemProdCredentials')).flatMap((g) => g.actions)).not.toContain(
      'secretsmanager:PutSecretValue',
    );
  });

  it('lets the rotation role use the credentials key through Secrets Manager only, to decrypt and to put', () => {
    const { template } = synth((stack) => ({ ...ROTATED, encryptionKey: new kms.Key(stack, 'Key') }));
    const rotationRole = roleOf(template, ROTATION_HANDLER);
    const keyPolicy = Object.values(template.findResources('AWS::KMS::Key'))[0].Properties.KeyPolicy as {
      Statement: { Action: string | string[]; Principal?: { AWS?: unknown }; Condition?: unknown }[];
    };
    const forRotation = keyPolicy.Statement.filter((s) => JSON.stringify(s.Principal ?? {}).includes(rotationRole));
    expect(forRotation.flatMap((s) => [s.Action].flat()).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    for (const statement of forRotation) {
      expect(statement.Condition).toEqual({
        StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' },
      });
    }
  });

  it('uses imported keys through IAM (CDK adds nothing to a key policy that is not ours): decrypt both secrets, put the credentials', () => {
    const tokenKeyArn = 'arn:aws:kms:eu-west-1:111111111111:key/1111abcd-12ab-34cd-56ef-1234567890ab';
    const credentialsKeyArn = 'arn:aws:kms:eu-west-1:111111111111:key/2222abcd-12ab-34cd-56ef-1234567890ab';
    const { template } = synth((stack) => ({
      ...ROTATED,
      encryptionKey: kms.Key.fromKeyArn(stack, 'TokenKey', tokenKeyArn),
      credentialsSecret: secretsmanager.Secret.fromSecretAttributes(stack, 'Credentials', {
        secretCompleteArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:adobe/oauth-prod-AbCdEf',
        encryptionKey: kms.Key.fromKeyArn(stack, 'CredentialsKey', credentialsKeyArn),
      }),
    }));
    const keyUse = grantsOf(template, roleOf(template, ROTATION_HANDLER)).filter((g) =>
      g.actions.some((action) => action.startsWith('kms:')),
    );
    expect(keyUse).toEqual(
      expect.arrayContaining([
        { actions: ['kms:Decrypt'], resource: JSON.stringify(credentialsKeyArn) },
        { actions: ['kms:GenerateDataKey'], resource: JSON.stringify(credentialsKeyArn) },
        { actions: ['kms:Decrypt'], resource: JSON.stringify(tokenKeyArn) },
      ]),
    );
    expect(keyUse).toHaveLength(3);
    for (const statement of rolePolicyStatements(template, roleOf(template, ROTATION_HANDLER))) {
      if ([statement.Action].flat().some((action) => action.startsWith('kms:'))) {
        expect(statement.Condition).toEqual({
          StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' },
        });
      }
    }
  });

  it('rotates every `every` days without rotating on deploy, invoked by Secrets Manager for this secret of this account only', () => {
    const { template } = synth();
    const fnId = functionId(template, ROTATION_HANDLER);
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: Match.stringLikeRegexp('^AemProdCredentials') },
      RotationLambdaARN: { 'Fn::GetAtt': [fnId, 'Arn'] },
      RotationRules: { AutomaticallyAfterDays: 90 },
      RotateImmediatelyOnUpdate: false,
    });
    const permissions = template.findResources('AWS::Lambda::Permission', {
      Properties: { Principal: 'secretsmanager.amazonaws.com' },
    });
    expect(Object.values(permissions).map((p) => p.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
        Principal: 'secretsmanager.amazonaws.com',
        SourceAccount: '111111111111',
        SourceArn: { Ref: expect.stringMatching(/^AemProdCredentials/) as unknown },
      },
    ]);
    // Secrets Manager checks the set-up by invoking the function as the schedule is created.
    const [schedule] = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule'));
    expect(schedule.DependsOn).toEqual(Object.keys(permissions));
  });

  it('checks every 6 hours whether the previous secret can be retired, naming the credentials secret in the event', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(6 hours)',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [functionId(template, ROTATION_HANDLER), 'Arn'] },
        Input: {
          'Fn::Join': [
            '',
            ['{"retireCheck":true,"secretId":"', { Ref: Match.stringLikeRegexp('^AemProdCredentials') }, '"}'],
          ],
        },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AemProdRetireCheckScheduleFailures'), 'Arn'] },
        },
      }),
    });
    // A failed check is not retried by Lambda: the next check is the retry.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId(template, ROTATION_HANDLER) },
      MaximumRetryAttempts: 0,
    });
  });

  it('alarms on any error of the rotation function, last in `alarms`, notified like the others', () => {
    const { template, refresher } = synth((stack) => ({ ...ROTATED, alarmTopic: new sns.Topic(stack, 'Topic') }));
    expect(refresher.alarms.at(-1)).toBe(refresher.rotationFailedAlarm);
    expect(refresher.alarms).toHaveLength(4);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test/AemProd rotation failed',
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(template, ROTATION_HANDLER) } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
      AlarmDescription: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('ims-token credentials rotate --secret-id ')])],
      }),
    });
  });

  it('lets the rotation role through the resource-policy denies of both secrets', () => {
    const { template } = synth({ ...ROTATED, restrictTokenReaders: true });
    const rotationRole = roleOf(template, ROTATION_HANDLER);
    const policies = Object.values(template.findResources('AWS::SecretsManager::ResourcePolicy'));
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      const [deny] = policy.Properties.ResourcePolicy.Statement as { Condition: { StringNotEquals: object } }[];
      expect(JSON.stringify(deny.Condition.StringNotEquals['aws:PrincipalArn' as keyof object])).toContain(
        `"${rotationRole}"`,
      );
    }
  });

  it("runs in the refresher's VPC, subnets and security groups, through its proxy", () => {
    const { template } = synth((stack) => ({
      ...ROTATED,
      vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 }),
      httpsProxy: 'http://proxy.corp.example:3128',
    }));
    const functions = template.findResources('AWS::Lambda::Function');
    const rotation = functions[functionId(template, ROTATION_HANDLER)].Properties;
    const refresher = functions[functionId(template, 'index.handler')].Properties;
    expect(rotation.VpcConfig).toEqual(refresher.VpcConfig);
    template.resourceCountIs('AWS::EC2::SecurityGroup', 1);
    expect(rotation.Environment.Variables.HTTPS_PROXY).toBe('http://proxy.corp.example:3128');
    const network = grantsOf(template, roleOf(template, ROTATION_HANDLER)).find((g) =>
      g.actions.includes('ec2:CreateNetworkInterface'),
    );
    expect(network?.resource).toBe('"*"');
  });

  it.each<[string, ImsTokenRefresherProps, string, RegExp]>([
    [
      'AEM service (JWT) credentials',
      { ...ROTATED, credentialsType: 'jwt' },
      'rotateClientSecret',
      /needs `credentialsType: "oauth"`.*AEM Developer Console/,
    ],
    [
      'credentials of a kind detected at run time',
      { ...ROTATED, credentialsType: undefined },
      'rotateClientSecret',
      /needs `credentialsType: "oauth"`/,
    ],
    [
      'no days',
      { ...ROTATED, rotateClientSecret: { every: Duration.hours(12) } },
      'rotateClientSecret',
      /`rotateClientSecret.every` must be a whole number of days from 1 to 365/,
    ],
    [
      'more than a year',
      { ...ROTATED, rotateClientSecret: { every: Duration.days(366) } },
      'rotateClientSecret',
      /every` must be a whole number of days/,
    ],
    [
      'a retire time of 90 minutes',
      { ...ROTATED, rotateClientSecret: { every: Duration.days(30), retireAfter: Duration.minutes(90) } },
      'rotateClientSecret',
      /`rotateClientSecret.retireAfter` must be a whole number of hours between 1 and 720/,
    ],
    [
      'a retire time over 30 days',
      { ...ROTATED, rotateClientSecret: { every: Duration.days(30), retireAfter: Duration.hours(721) } },
      'rotateClientSecret',
      /retireAfter` must be a whole number of hours/,
    ],
    [
      'an IMS org id for the org id',
      { ...ROTATED, rotateClientSecret: { every: Duration.days(30), orgId: 'ABC@AdobeOrg' } },
      'rotateClientSecret',
      /`rotateClientSecret.orgId` must be the numeric Developer Console org id/,
    ],
    [
      'a credential id with a slash',
      { ...ROTATED, rotateClientSecret: { every: Duration.days(30), credentialId: '../x' } },
      'rotateClientSecret',
      /`rotateClientSecret.credentialId` must be/,
    ],
    [
      'adobeApiBaseUrl without rotation',
      { credentialsType: 'oauth', adobeApiBaseUrl: 'https://api.proxy.example' },
      'adobeApiBaseUrl',
      /`adobeApiBaseUrl` needs `rotateClientSecret`/,
    ],
    [
      'adobeApiBaseUrl over plain http elsewhere than loopback',
      { ...ROTATED, adobeApiBaseUrl: 'http://api.adobe.example' },
      'adobeApiBaseUrl',
      /`adobeApiBaseUrl` must use https/,
    ],
  ])('refuses %s, naming the prop', (_what, props, prop, message) => {
    let error: unknown;
    try {
      synth(props);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ImsTokenRefresherError);
    expect((error as ImsTokenRefresherError).prop).toBe(prop);
    expect((error as Error).message).toMatch(message);
  });

  it("takes the configuration file's days and hours, per token", () => {
    const config = parseAppConfig({
      rotateClientSecret: { everyDays: 30, retireAfterHours: 6, orgId: '23294', credentialId: '385214' },
      tokens: [{ name: 'aem-prod', credentialsType: 'oauth', adobeApiBaseUrl: 'https://api.proxy.example' }],
    });
    const stack = new ImsTokenStack(new App(), 'Tokens', { tokens: config.tokens });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { AutomaticallyAfterDays: 30 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: ROTATION_HANDLER,
      Environment: {
        Variables: Match.objectLike({
          RETIRE_AFTER_HOURS: '6',
          ADOBE_ORG_ID: '23294',
          ADOBE_CREDENTIAL_ID: '385214',
          ADOBE_API_BASE_URL: 'https://api.proxy.example',
        }),
      },
    });
  });

  it('lets a break-glass reader keep reading the rotated credentials', () => {
    const { template } = synth({
      ...ROTATED,
      credentialsReaders: [new iam.ArnPrincipal('arn:aws:iam::111111111111:role/break-glass')],
    });
    const [policy] = Object.values(template.findResources('AWS::SecretsManager::ResourcePolicy'));
    expect(JSON.stringify(policy.Properties.ResourcePolicy)).toContain('arn:aws:iam::111111111111:role/break-glass');
  });

  it('fits the rotation alarm name and description, and the environment, at the lengths the configuration allows', () => {
    // Stack name 128, token name 40, an existing secret's name 512, as for the other alarms.
    const app = new App();
    const stack = new Stack(app, 'S'.padEnd(128, 'x'));
    const refresher = new ImsTokenRefresher(stack, 'a'.padEnd(40, 'b'), {
      ...ROTATED,
      credentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Credentials', 'c'.repeat(512)),
    });
    app.synth();
    const alarm = refresher.rotationFailedAlarm!.node.defaultChild as cloudwatch.CfnAlarm;
    const longest = new LongestValues(stack);
    expect(longest.length(alarm.alarmName)).toBeLessThanOrEqual(255);
    expect(longest.length(alarm.alarmDescription)).toBeLessThanOrEqual(1024);
  });

  it('lets Secrets Manager invoke it for a secret known by name through the suffix wildcard; acknowledges CT.LAMBDA.PR.2 only without an account', () => {
    const byName = (env?: { account: string; region: string }) => {
      const stack = new Stack(new App(), 'Test', { env });
      const refresher = new ImsTokenRefresher(stack, 'AemProd', {
        ...ROTATED,
        credentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Given', 'adobe/oauth'),
      });
      const permission = refresher.rotationFunction!.permissionsNode.findChild('SecretsManagerRotation');
      const acknowledged = permission.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.keys(entry.data as object));
      return { template: Template.fromStack(stack), acknowledged };
    };
    const placed = byName({ account: '111111111111', region: 'eu-west-1' });
    placed.template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'secretsmanager.amazonaws.com',
      SourceArn: {
        'Fn::Join': ['', Match.arrayWith([':secretsmanager:eu-west-1:111111111111:secret:adobe/oauth-??????'])],
      },
    });
    expect(placed.acknowledged).toEqual([]);
    expect(byName().acknowledged).toEqual(['cdk-validator-cfnguard::lambda_function_public_access_prohibited_check']);
  });
});
