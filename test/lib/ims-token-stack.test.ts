import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { describe, expect, it } from 'vitest';
import { parseAppConfig, tokensByStack } from '../../lib/config/load.js';
import { ImsTokenStack } from '../../lib/ims-token-stack.js';

const entries = [
  { name: 'aem-prod-author', credentialsSecret: 'create' },
  { name: 'aem-prod-publish', credentialsSecret: 'adobe/aem-prod-publish', scheduleMinutes: 30 },
  {
    name: 'analytics',
    credentialsSecret: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:adobe/analytics-AbC123',
    credentialsType: 'oauth',
  },
];

function synth(tokens: unknown[]) {
  return synth2({ tokens });
}

/** The stack of a whole configuration, app-wide keys included. */
function synth2(raw: unknown) {
  const app = new App();
  const stack = new ImsTokenStack(app, 'Tokens', { tokens: parseAppConfig(raw).tokens });
  return Template.fromStack(stack);
}

/** Tokens with names of the longest allowed length, so naming limits are tested at the edge. */
const manyTokens = (count: number, stacks = 1) =>
  Array.from({ length: count }, (_, i) => ({
    name: `aem-p${String(i).padStart(3, '0')}-`.padEnd(40, 'x'),
    stack: `Tokens${i % stacks}`,
  }));

describe('ImsTokenStack', () => {
  it('builds one refresher per configured token, sharing one code asset', () => {
    const template = synth(entries);
    template.resourceCountIs('AWS::Lambda::Function', 3);
    template.resourceCountIs('AWS::Scheduler::Schedule', 3);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 11); // four each; the OAuth token has no certificate alarm
    // One created credentials secret plus three token secrets.
    template.resourceCountIs('AWS::SecretsManager::Secret', 4);
    const keys = Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.Code.S3Key);
    expect(new Set(keys).size).toBe(1);
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(30 minutes)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ CREDENTIALS_TYPE: 'oauth', POWERTOOLS_SERVICE_NAME: 'Tokens/analytics' }),
      },
    });
  });

  it('passes credentialName and credentialsExpiryWarning (days) to the refresher', () => {
    const template = synth([
      { name: 'project', credentialName: 'Credential in Workspace', credentialsExpiryWarning: 45 },
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CREDENTIAL_NAME: 'Credential in Workspace' }) },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'CredentialsSecondsToExpiry',
      Threshold: 45 * 86_400,
    });
  });

  it('keeps logical ids when entries are reordered or added', () => {
    const ids = (template: Template) =>
      Object.keys(template.toJSON().Resources)
        .filter((id) => !id.startsWith('Dashboard'))
        .sort();
    const before = ids(synth(entries));
    const after = ids(synth([{ name: 'new-one' }, ...[...entries].reverse()]));
    expect(after).toEqual(expect.arrayContaining(before));
  });

  it('outputs what a person uses under readable ids, with descriptions, exported as <stack>-<id>', () => {
    const outputs = synth(entries).findOutputs('*');
    const ids = ['AemProdAuthor', 'AemProdPublish', 'Analytics'].flatMap((token) =>
      ['TokenSecretArn', 'CredentialsSecretId', 'FunctionName'].map((what) => `${token}${what}`),
    );
    expect(Object.keys(outputs).sort()).toEqual(ids.sort());
    for (const [id, output] of Object.entries(outputs)) {
      expect(output.Export, id).toEqual({ Name: `Tokens-${id}` });
    }
    expect(outputs.AemProdAuthorTokenSecretArn).toMatchObject({
      Value: { Ref: expect.stringMatching(/^aemprodauthorToken/) },
      Description:
        'Token "aem-prod-author": ARN of its token secret, to read (ims-token --secret-id <this>) or grant GetSecretValue on',
    });
    expect(outputs.AemProdAuthorFunctionName).toMatchObject({
      Value: { Ref: expect.stringMatching(/^aemprodauthorFunction/) },
      Description:
        'Token "aem-prod-author": name of its refresher function, to renew the token now (ims-token refresh --function <this>)',
    });
    // What `credentials put --secret-id` needs: the complete ARN when known, else the name (never a partial ARN).
    expect(outputs.AemProdAuthorCredentialsSecretId).toMatchObject({
      Value: { Ref: expect.stringMatching(/^aemprodauthorCredentials/) },
      Description:
        'Token "aem-prod-author": its credentials secret, by complete ARN or name, to upload to (ims-token credentials put --secret-id <this>)',
    });
    expect(outputs.AemProdPublishCredentialsSecretId.Value).toBe('adobe/aem-prod-publish');
    expect(outputs.AnalyticsCredentialsSecretId.Value).toBe(entries[2].credentialsSecret);
  });

  it('outputs the KMS key ARN of a token only when the stack creates the key', () => {
    const keyArn = 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const outputs = synth([
      { name: 'created', encryptionKey: 'create' },
      { name: 'given', encryptionKey: keyArn },
      { name: 'none' },
    ]).findOutputs('*');
    expect(Object.keys(outputs).filter((id) => id.endsWith('KeyArn'))).toEqual(['CreatedEncryptionKeyArn']);
    expect(outputs.CreatedEncryptionKeyArn).toEqual({
      Value: { 'Fn::GetAtt': [expect.stringMatching(/^createdKey/), 'Arn'] },
      Description:
        'Token "created": ARN of the KMS key of its secrets, on which readers in other accounts need kms:Decrypt',
      Export: { Name: 'Tokens-CreatedEncryptionKeyArn' },
    });
  });

  it('fails synth naming both tokens when two names give the same output ids', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new ImsTokenStack(app, 'Tokens', {
      tokens: parseAppConfig({ tokens: [{ name: 'aem-prod' }, { name: 'aemProd' }] }).tokens,
    });
    expect(() => app.synth()).toThrow('tokens "aem-prod" and "aemProd" both name their outputs AemProd…; rename one');
  });

  it('draws no dashboard unless asked: an app asks one stack, for the alarms of all its stacks', () => {
    expect(synth(entries).findResources('AWS::CloudWatch::Dashboard')).toEqual({});
    const app = new App();
    const oauth = { name: 'analytics', stack: 'Tokens1', credentialsType: 'oauth' };
    const stacks = [...tokensByStack(parseAppConfig({ tokens: [...manyTokens(3, 2), oauth] }), 'Tokens')].map(
      ([name, tokens]) => new ImsTokenStack(app, name, { tokens }),
    );
    stacks[0].addDashboard(stacks.flatMap((stack) => stack.refreshers.flatMap((refresher) => refresher.alarms)));
    const [first, second] = stacks.map((stack) => Template.fromStack(stack));
    second.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    const [dashboard] = Object.values(first.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    // Alarms by ARN built from their names: the other stack's too, with no cross-stack export.
    for (const stack of stacks) {
      for (const refresher of stack.refreshers) {
        for (const what of ['permanent failure', 'token expiring', 'not running', 'certificate expiring']) {
          const shown = what !== 'certificate expiring' || refresher.node.id !== 'analytics';
          expect(body.includes(`:alarm:${refresher.serviceName} ${what}`), `${refresher.node.id}: ${what}`).toBe(shown);
        }
      }
    }
    expect(body).toMatch(
      /SEARCH\('\{ImsTokenRefresher,service\} MetricName=\\+"TokenSecondsToExpiry\\+"', 'Minimum', 3600\) \/ 3600/,
    );
    expect(body).toContain('CredentialsSecondsToExpiry');
    expect(Object.keys(first.toJSON().Outputs ?? {}).some((key) => key.startsWith('Export'))).toBe(false);
    expect(JSON.stringify(second.toJSON())).not.toContain('Fn::ImportValue');
    expect(JSON.stringify(first.toJSON())).not.toContain('Fn::ImportValue');
  });

  it('shows any number of alarms: at most 100 to a widget, each once, and a new dashboard before 1 MB', () => {
    const app = new App();
    const stack = new ImsTokenStack(app, 'Tokens', { tokens: parseAppConfig({ tokens: [{ name: 'a' }] }).tokens });
    // Alarms with names of CloudWatch's longest (255), as many as fill more than one dashboard.
    const other = new Stack(app, 'Other');
    const metric = new cloudwatch.Metric({ namespace: 'N', metricName: 'M' });
    const alarmNames = Array.from({ length: 3300 }, (_, i) => `${i} `.padEnd(255, 'x'));
    const alarms = alarmNames.map(
      (alarmName, i) => new cloudwatch.Alarm(other, `A${i}`, { metric, threshold: 1, evaluationPeriods: 1, alarmName }),
    );
    const dashboards = stack.addDashboard(alarms);

    const names = (dashboard: cloudwatch.Dashboard) =>
      (dashboard.node.defaultChild as cloudwatch.CfnDashboard).dashboardName;
    expect(dashboards.map(names)).toEqual(['Tokens-ims-tokens', 'Tokens-ims-tokens-2']);
    // The bodies as CloudFormation resolves them, in the partition and region with the longest names.
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws-us-gov',
      'AWS::Region': 'us-isof-south-1',
      'AWS::AccountId': '111111111111',
    };
    const join = (node: unknown): string =>
      typeof node === 'string'
        ? node
        : (node as { Ref?: string }).Ref
          ? pseudo[(node as { Ref: string }).Ref]
          : (node as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].map(join).join('');
    const bodies = dashboards.map((dashboard) =>
      join(stack.resolve((dashboard.node.defaultChild as cloudwatch.CfnDashboard).dashboardBody)),
    );
    const widgets = bodies.map(
      (body) => (JSON.parse(body) as { widgets: { type: string; properties: { alarms?: string[] } }[] }).widgets,
    );
    for (const body of bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(1_000_000);
    const shown = widgets.flat().flatMap((widget) => widget.properties.alarms ?? []);
    expect(shown).toEqual(
      alarmNames.map((name) => `arn:aws-us-gov:cloudwatch:us-isof-south-1:111111111111:alarm:${name}`),
    );
    for (const widget of widgets.flat().filter((w) => w.type === 'alarm')) {
      expect(widget.properties.alarms!.length).toBeGreaterThanOrEqual(1);
      expect(widget.properties.alarms!.length).toBeLessThanOrEqual(100);
    }
    // The graphs, once, on the first dashboard.
    expect(widgets.map((list) => list.filter((widget) => widget.type === 'metric').length)).toEqual([2, 0]);
  });

  it('creates no alarm widget without alarms (CloudWatch refuses an empty one)', () => {
    const stack = new ImsTokenStack(new App(), 'Tokens', {
      tokens: parseAppConfig({ tokens: [{ name: 'a' }] }).tokens,
    });
    const [dashboard] = stack.addDashboard([]);
    const body = JSON.stringify(stack.resolve((dashboard.node.defaultChild as cloudwatch.CfnDashboard).dashboardBody));
    expect(body).not.toContain('\\"type\\":\\"alarm\\"');
    expect(body).toContain('\\"type\\":\\"metric\\"');
  });

  it('notifies an existing topic by ARN, or an email address through one encrypted topic per address', () => {
    const template = synth([
      { name: 'a', alarmEmail: 'ops@example.com' },
      { name: 'b', alarmEmail: 'ops@example.com' },
      { name: 'c', alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:on-call' },
    ]);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlarmsKey'), 'Arn'] },
    });
    // CloudWatch of this account may use the key, so alarms can publish to the encrypted topic.
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    const actionsOf = (token: string) =>
      alarms
        .filter((alarm) => alarm.Properties.AlarmName.startsWith(`Tokens/${token} `))
        .map((alarm) => JSON.stringify(alarm.Properties.AlarmActions));
    // Both tokens of the address share its topic: eight alarms, one action.
    expect([...actionsOf('a'), ...actionsOf('b')]).toHaveLength(8);
    expect(new Set([...actionsOf('a'), ...actionsOf('b')]).size).toBe(1);
    expect(actionsOf('a')[0]).toMatch(/^\[\{"Ref":"Alarms/);
    expect(actionsOf('c')).toEqual(Array(4).fill('["arn:aws:sns:eu-west-1:111111111111:on-call"]'));
  });

  it('lets only AWS services create grants on the keys it creates (Control Tower CT.KMS.PR.3)', () => {
    const template = synth([{ name: 'shared', encryptionKey: 'create', alarmEmail: 'ops@example.com' }]);
    template.resourceCountIs('AWS::KMS::Key', 2);
    template.allResourcesProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'GrantsOnlyForAwsServices',
            Effect: 'Deny',
            Principal: '*',
            Action: 'kms:CreateGrant',
            Resource: '*',
            Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
          },
        ]),
      },
    });
  });

  it('passes reservedConcurrency and logRetentionDays to every refresher', () => {
    const template = synth([{ name: 'a', reservedConcurrency: false, logRetentionDays: 30 }]);
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: Match.absent() });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('creates a rotating KMS key for "encryptionKey": "create", and shares the token with other accounts', () => {
    const template = synth([
      { name: 'shared', encryptionKey: 'create', crossAccountReaders: ['arn:aws:iam::222222222222:role/aem-reader'] },
    ]);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.resourcePropertiesCountIs(
      'AWS::SecretsManager::Secret',
      { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^sharedKey'), 'Arn'] } },
      2,
    );
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      ResourcePolicy: {
        Statement: [Match.objectLike({ Principal: { AWS: 'arn:aws:iam::222222222222:role/aem-reader' } })],
      },
    });
  });

  describe('removalPolicy', () => {
    /** [DeletionPolicy, UpdateReplacePolicy, PendingWindowInDays] of each resource of `type`, by logical id prefix. */
    function removal(template: Template, type: string) {
      return Object.fromEntries(
        Object.entries(template.findResources(type)).map(([id, resource]) => [
          id.replace(/[0-9A-F]{8}$/, ''),
          [resource.DeletionPolicy, resource.UpdateReplacePolicy, resource.Properties?.PendingWindowInDays],
        ]),
      );
    }
    const config = (shared: Record<string, unknown>, own: Record<string, unknown> = {}) => ({
      ...shared,
      alarmEmail: 'ops@example.com',
      tokens: [{ name: 'a', encryptionKey: 'create', ...own }, { name: 'b' }],
    });

    it.each([
      ['by default', {}, 'Retain', undefined],
      ['with "retain"', { removalPolicy: 'retain' }, 'Retain', undefined],
      ['with "destroy"', { removalPolicy: 'destroy' }, 'Delete', 7],
    ])('keeps or deletes the created secrets, log groups and KMS keys %s', (_how, shared, policy, pendingWindow) => {
      const template = synth2(config(shared));
      expect(removal(template, 'AWS::KMS::Key')).toEqual({
        aKey: [policy, policy, pendingWindow],
        AlarmsKey: [policy, policy, pendingWindow],
      });
      expect(removal(template, 'AWS::Logs::LogGroup')).toEqual({
        aLogs: [policy, policy, undefined],
        bLogs: [policy, policy, undefined],
      });
      expect(removal(template, 'AWS::SecretsManager::Secret')).toEqual({
        aCredentials: [policy, policy, undefined],
        bCredentials: [policy, policy, undefined],
        aToken: ['Delete', 'Delete', undefined],
        bToken: ['Delete', 'Delete', undefined],
      });
    });

    it("follows each token's own value; the alarm topics' key is deleted only when every token notifying through it says so", () => {
      const template = synth2(config({ removalPolicy: 'destroy' }, { removalPolicy: 'retain' }));
      expect(removal(template, 'AWS::KMS::Key')).toEqual({
        aKey: ['Retain', 'Retain', undefined],
        AlarmsKey: ['Retain', 'Retain', undefined],
      });
      expect(removal(template, 'AWS::SecretsManager::Secret')).toMatchObject({
        aCredentials: ['Retain', 'Retain', undefined],
        bCredentials: ['Delete', 'Delete', undefined],
      });
    });
  });

  it('uses an existing KMS key by ARN and replicates to the listed regions', () => {
    const keyArn = 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const template = synth([
      { name: 'replicated', encryptionKey: keyArn, replicaRegions: ['us-east-1', 'ap-southeast-2'] },
    ]);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      KmsKeyId: keyArn,
      ReplicaRegions: [{ Region: 'us-east-1' }, { Region: 'ap-southeast-2' }],
    });
  });

  it('keeps token names apart from the ids of their keys and imported secrets', () => {
    const template = synth([
      { name: 'a', encryptionKey: 'create', credentialsSecret: 'adobe/a' },
      { name: 'aKey' },
      { name: 'aCredentials' },
    ]);
    template.resourceCountIs('AWS::Lambda::Function', 3);
  });

  it('imports an existing credentials secret by complete ARN, granting exactly that ARN', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:adobe/aem-prod-author-AbC123';
    const template = synth([{ name: 'author', credentialsSecret: arn }]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Effect: 'Allow',
            Resource: arn,
          },
        ]),
      },
    });
  });

  it('passes the reader settings: break-glass readers of an existing secret, and token readers', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:adobe/aem-prod-author-AbC123';
    const template = synth([
      {
        name: 'author',
        credentialsSecret: arn,
        restrictCredentialsReaders: true,
        credentialsReaders: ['arn:aws:iam::111111111111:role/ops/break-glass'],
        restrictTokenReaders: true,
        tokenReaders: ['arn:aws:iam::111111111111:role/app/aem-client'],
      },
    ]);
    const refresher = { 'Fn::GetAtt': [Match.stringLikeRegexp('^authorRole'), 'Arn'] };
    const denyExcept = (readers: unknown[]) =>
      Match.objectLike({ Effect: 'Deny', Condition: { StringNotEquals: { 'aws:PrincipalArn': readers } } });
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      SecretId: arn,
      ResourcePolicy: { Statement: [denyExcept([refresher, 'arn:aws:iam::111111111111:role/ops/break-glass'])] },
    });
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      SecretId: { Ref: Match.stringLikeRegexp('^authorToken') },
      ResourcePolicy: { Statement: [denyExcept([refresher, 'arn:aws:iam::111111111111:role/app/aem-client'])] },
    });
  });

  it('gives tokens sharing a Developer Console project download one resource policy, exempting every refresher', () => {
    const project = { credentialsSecret: 'adobe/project', credentialsType: 'oauth', restrictCredentialsReaders: true };
    const template = synth([
      { name: 'analytics', credentialName: 'analytics', ...project },
      {
        name: 'campaign',
        credentialName: 'campaign',
        ...project,
        credentialsReaders: ['arn:aws:iam::111111111111:role/ops/break-glass'],
      },
    ]);
    template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 1);
    const role = (name: string) => ({ 'Fn::GetAtt': [Match.stringLikeRegexp(`^${name}Role`), 'Arn'] });
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      SecretId: 'adobe/project',
      ResourcePolicy: {
        Statement: [
          Match.objectLike({
            Effect: 'Deny',
            Condition: {
              StringNotEquals: {
                'aws:PrincipalArn': [
                  role('analytics'),
                  role('campaign'),
                  'arn:aws:iam::111111111111:role/ops/break-glass',
                ],
              },
            },
          }),
        ],
      },
    });
  });

  it('refuses tokens of two stacks that both restrict one credentials secret, naming both', () => {
    const app = new App();
    const tokens = parseAppConfig({
      tokens: ['One', 'Two'].map((stack) => ({
        name: `t${stack}`,
        stack,
        credentialsSecret: 'adobe/project',
        restrictCredentialsReaders: true,
      })),
    });
    const build = () => {
      for (const [name, stackTokens] of tokensByStack(tokens, 'unused'))
        new ImsTokenStack(app, name, { tokens: stackTokens });
    };
    expect(build).toThrow(
      /^`restrictCredentialsReaders`: Two\/tTwo and One\/tOne restrict the readers of the credentials secret adobe\/project from two stacks/,
    );
  });

  it('fails synth when a stack would exceed CloudFormation quotas, saying how many tokens fit', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new ImsTokenStack(app, 'Tokens', { tokens: parseAppConfig({ tokens: manyTokens(30) }).tokens });
    expect(() => app.synth()).toThrow(
      /stack "Tokens" has 30 tokens: \d+ resources, 90 outputs and a template of [\d,]+ bytes, over CloudFormation's 500, 200 and 1,000,000; give some tokens another "stack" \(about 2\d fit in one\)/,
    );
  });

  it('fails synth when a stack template would exceed 1 MB, though within 500 resources and 200 outputs', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const readers = Array.from({ length: 50 }, (_, i) => `arn:aws:iam::111111111111:role/${'p/'.repeat(150)}r${i}`);
    const tokens = manyTokens(20).map((token) => ({
      ...token,
      credentialsReaders: readers,
      restrictTokenReaders: true,
      tokenReaders: readers,
    }));
    new ImsTokenStack(app, 'Tokens', { tokens: parseAppConfig({ tokens }).tokens });
    expect(() => app.synth()).toThrow(
      /stack "Tokens" has 20 tokens: [1-4]\d\d resources, 60 outputs and a template of 1,\d{3},\d{3} bytes, over CloudFormation's 500, 200 and 1,000,000; give some tokens another "stack" \(about 1\d fit in one\)/,
    );
  });

  it('synthesizes 100 tokens in 5 stacks, each within quotas and AWS naming limits, sharing one code asset', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    for (const [name, tokens] of tokensByStack(parseAppConfig({ tokens: manyTokens(100, 5) }), 'unused')) {
      new ImsTokenStack(app, name, { tokens });
    }
    const assembly = app.synth();
    expect(assembly.stacks).toHaveLength(5);
    const assets = new Set<string>();
    for (const artifact of assembly.stacks) {
      const template = artifact.template;
      expect(Object.keys(template.Resources).length).toBeLessThanOrEqual(500);
      expect(Object.keys(template.Outputs).length).toBeLessThanOrEqual(200);
      for (const id of [...Object.keys(template.Resources), ...Object.keys(template.Outputs)]) {
        expect(id.length).toBeLessThanOrEqual(255);
      }
      for (const fn of Object.values<any>(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')) {
        assets.add(fn.Properties.Code.S3Key);
        // The metric dimension (the function reads it from POWERTOOLS_SERVICE_NAME): "<stack>/<token>", unique per region.
        expect(fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).toMatch(
          new RegExp(`^${artifact.stackName}/aem-p\\d{3}-x+$`),
        );
      }
    }
    expect(assets.size).toBe(1);
  });
});
