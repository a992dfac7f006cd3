import { describe, expect, it } from 'vitest';
import {
  LIMITS,
  MaxLengthResolver,
  UnresolvableError,
  sharedSecretPolicyProblems,
  templateProblems,
  type CfnResource,
  type CfnTemplate,
} from './deploy-limits.js';

/** What the CDK's default synthesizer puts in every template. */
const CDK_OWN: CfnTemplate = {
  Parameters: {
    BootstrapVersion: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/cdk-bootstrap/hnb659fds/version' },
  },
  Rules: {
    CheckBootstrapVersion: {
      Assertions: [{ Assert: { 'Fn::Not': [{ 'Fn::Contains': [['1'], { Ref: 'BootstrapVersion' }] }] } }],
    },
  },
};

const synthesized = (template: CfnTemplate, name = 'Stack') => ({
  name,
  text: JSON.stringify(template, undefined, 1),
  template,
});
const withResources = (Resources: Record<string, CfnResource>, extra: CfnTemplate = {}) =>
  synthesized({ ...CDK_OWN, Resources, ...extra });
const problemsOf = (resources: Record<string, CfnResource>) => templateProblems(withResources(resources));
const x = (length: number) => 'x'.repeat(length);
/** A JSON document of exactly `length` characters, minified. */
const documentOf = (length: number) => {
  const empty = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: '' }] }).length;
  return { Version: '2012-10-17', Statement: [{ Sid: x(length - empty) }] };
};
const alarm = (properties: Record<string, unknown>): CfnResource => ({
  Type: 'AWS::CloudWatch::Alarm',
  Properties: properties,
});
const fn = (variables: Record<string, unknown>): CfnResource => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Environment: { Variables: variables } },
});
const dashboard = (body: unknown): CfnResource => ({
  Type: 'AWS::CloudWatch::Dashboard',
  Properties: { DashboardBody: JSON.stringify(body) },
});
const alarmWidget = (alarms: number) => ({
  type: 'alarm',
  properties: { alarms: Array.from({ length: alarms }, (_, i) => `arn:aws:cloudwatch:eu-west-1:1:alarm:a${i}`) },
});
/** `count` entries of `value`, under distinct logical ids. */
const many = <T>(count: number, value: T): Record<string, T> =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`Id${i}`, value]));
const queue: CfnResource = { Type: 'AWS::SQS::Queue' };

describe('MaxLengthResolver', () => {
  const template: CfnTemplate = {
    Resources: {
      Generated: { Type: 'AWS::SecretsManager::Secret' },
      Named: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: 'adobe/prod' } },
      Fn: { Type: 'AWS::Lambda::Function' },
      Odd: { Type: 'AWS::Some::Thing' },
    },
    Parameters: { Bounded: { Type: 'String', MaxLength: 7 }, Unbounded: { Type: 'String' } },
  };
  const resolver = new MaxLengthResolver(template);
  const length = (value: unknown) => resolver.text(value).length;

  it.each([
    ['AWS::AccountId', 12],
    ['AWS::Partition', 'aws-us-gov'.length],
    ['AWS::Region', 'ap-southeast-7'.length],
    ['AWS::StackName', 128],
    ['Bounded', 7],
    ['Fn', 64],
  ])('resolves Ref %s to %i characters', (name, expected) => {
    expect(length({ Ref: name })).toBe(expected);
  });

  it("resolves a secret's ARN from its name, or from the name CloudFormation generates (logical id and 12 characters)", () => {
    expect(resolver.text({ Ref: 'Named' })).toBe(
      `arn:${x(10)}:secretsmanager:${x(14)}:${x(12)}:secret:adobe/prod-${x(6)}`,
    );
    expect(length({ Ref: 'Generated' })).toBe(length({ Ref: 'Named' }) - 'adobe/prod'.length + 'Generated'.length + 13);
  });

  it('joins and substitutes, ${!…} staying literal', () => {
    expect(resolver.text({ 'Fn::Join': ['/', ['a', { Ref: 'AWS::AccountId' }]] })).toBe(`a/${x(12)}`);
    expect(resolver.text({ 'Fn::Sub': ['${AWS::Region}:${Fn.Arn}:${v}:${!Literal}', { v: { Ref: 'Bounded' } }] })).toBe(
      `${x(14)}:arn:${x(10)}:lambda:${x(14)}:${x(12)}:function:${x(64)}:${x(7)}:\${Literal}`,
    );
  });

  it('takes the longer branch of Fn::If, and the item Fn::Select picks', () => {
    expect(resolver.text({ 'Fn::If': ['C', 'short', { Ref: 'AWS::StackName' }] })).toBe(x(128));
    expect(resolver.text({ 'Fn::Select': [1, ['a', { Ref: 'AWS::AccountId' }]] })).toBe(x(12));
  });

  it('resolves inside objects and lists, leaving plain values', () => {
    expect(resolver.resolve({ a: [{ Ref: 'Bounded' }, 1, true], b: 'c' })).toEqual({ a: [x(7), 1, true], b: 'c' });
  });

  it.each([
    ['an intrinsic function it does not model', { 'Fn::ImportValue': 'Export' }],
    ['a parameter without MaxLength', { Ref: 'Unbounded' }],
    ['a resource type it does not model', { Ref: 'Odd' }],
    ['an attribute it does not model', { 'Fn::GetAtt': ['Fn', 'SnapStartResponse'] }],
    ['a logical id that does not exist', { Ref: 'Missing' }],
  ])('refuses to guess %s', (_, value) => {
    expect(() => resolver.text(value)).toThrow(UnresolvableError);
  });
});

describe('templateProblems', () => {
  it('finds nothing in a template within every limit, each value at its limit', () => {
    const resources = {
      Alarm: alarm({
        AlarmName: x(LIMITS.alarmName),
        AlarmDescription: { 'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, x(LIMITS.alarmDescription - 128)]] },
      }),
      Function: fn({ KEY: x(LIMITS.lambdaEnvironmentBytes - 3) }),
      Policy: { Type: 'AWS::SecretsManager::ResourcePolicy', Properties: { ResourcePolicy: documentOf(20_480) } },
      Dashboard: dashboard({ widgets: [alarmWidget(LIMITS.alarmsPerAlarmWidget)] }),
      CDKMetadata: { Type: 'AWS::CDK::Metadata' },
    };
    expect(templateProblems(withResources(resources))).toEqual([]);
  });

  it.each([
    ['an alarm name', { A: alarm({ AlarmName: x(256) }) }, 'Stack: Resources.A.AlarmName: the alarm text is up to 256'],
    [
      'an alarm description, with the stack name at its longest',
      { A: alarm({ AlarmDescription: { 'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, x(1024 - 127)]] } }) },
      'Resources.A.AlarmDescription: the alarm text is up to 1,025 characters, over the limit of 1,024',
    ],
    [
      "the Lambda environment's keys and values",
      { F: fn({ KEY: x(4096 - 2) }) },
      'Resources.F.Environment: the environment (keys and values) is up to 4,097 bytes',
    ],
    [
      'a secret resource policy',
      { P: { Type: 'AWS::SecretsManager::ResourcePolicy', Properties: { ResourcePolicy: documentOf(20_481) } } },
      'Resources.P.ResourcePolicy: the secret policy is up to 20,481 characters',
    ],
    [
      'a key policy',
      { K: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: documentOf(32_769) } } },
      'Resources.K.KeyPolicy: the key policy (bytes) is up to 32,769',
    ],
    [
      'a managed policy',
      { M: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: documentOf(6145) } } },
      'Resources.M.PolicyDocument: the managed policy is up to 6,145',
    ],
    [
      "a role's inline policies, each within the limit but not together",
      {
        R: {
          Type: 'AWS::IAM::Role',
          Properties: { Policies: [{ PolicyName: 'own', PolicyDocument: documentOf(5000) }] },
        },
        P: { Type: 'AWS::IAM::Policy', Properties: { Roles: [{ Ref: 'R' }], PolicyDocument: documentOf(5241) } },
      },
      "Resources.R: the role's inline policies together is up to 10,241 characters",
    ],
    [
      'an alarm widget of 101 alarms',
      { D: dashboard({ widgets: [alarmWidget(101)] }) },
      'Resources.D.DashboardBody: alarm widget 1 has 101 alarms; 1 to 100 are allowed',
    ],
    [
      'an alarm widget of no alarm',
      { D: dashboard({ widgets: [alarmWidget(100), alarmWidget(0)] }) },
      'Resources.D.DashboardBody: alarm widget 2 has 0 alarms',
    ],
    [
      'the widgets of a dashboard',
      { D: dashboard({ widgets: Array.from({ length: 501 }, () => ({ type: 'text' })) }) },
      'Resources.D.DashboardBody: 501 widgets, over the limit of 500',
    ],
    [
      'a resource with a logical id of the CDK',
      { CDKMetadata: queue },
      'Resources.CDKMetadata: takes a logical id the CDK uses for its own',
    ],
  ])('finds %s over its limit', (_, resources, expected) => {
    expect(problemsOf(resources)).toEqual([expect.stringContaining(expected)]);
  });

  it('finds a dashboard body over its limit', () => {
    // The body's bulk comes from a parameter, so that only the body is over a limit.
    const body = { 'Fn::Join': ['', ['{"widgets":[],"x":"', { Ref: 'Big' }, '"}']] };
    const template = synthesized({
      ...CDK_OWN,
      Parameters: { ...CDK_OWN.Parameters, Big: { Type: 'String', MaxLength: 1_000_000 - 20 } },
      Resources: { D: { Type: 'AWS::CloudWatch::Dashboard', Properties: { DashboardBody: body } } },
    });
    expect(templateProblems(template)).toEqual([
      'Stack: Resources.D.DashboardBody: the dashboard body is up to 1,000,001 bytes, over the limit of 1,000,000',
    ]);
  });

  it.each<[string, CfnTemplate, string]>([
    ['resources', { Resources: many(501, queue) }, 'Stack: template: 501 resources, over the limit of 500'],
    ['outputs', { Outputs: many(201, { Value: 'v' }) }, 'template: 201 outputs, over the limit of 200'],
    ['parameters', { Parameters: many(200, { Type: 'String' }) }, 'template: 201 parameters'],
    ['mappings', { Mappings: many(201, {}) }, 'template: 201 mappings, over the limit of 200'],
    [
      'bytes',
      { Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { Padding: x(1_000_000) } } } },
      'template: the file is up to 1,000,',
    ],
    [
      'an output taking a logical id of the CDK',
      { Outputs: { BootstrapVersion: { Value: 'v' } } },
      'Outputs.BootstrapVersion',
    ],
  ])('finds a template over its quota: %s', (_, sections, expected) => {
    const template = {
      ...CDK_OWN,
      ...sections,
      Parameters: { ...CDK_OWN.Parameters, ...sections.Parameters },
    };
    expect(templateProblems(synthesized(template))).toEqual([expect.stringContaining(expected)]);
  });

  it("finds the CDK's bootstrap version check gone (a construct named BootstrapVersion makes the CDK leave it out)", () => {
    expect(templateProblems(synthesized({ Resources: { BootstrapVersionToken: queue } }))).toEqual([
      "Stack: Parameters.BootstrapVersion: missing, so the CDK's bootstrap version check is gone",
      "Stack: Rules.CheckBootstrapVersion: missing, so the CDK's bootstrap version check is gone",
    ]);
  });
});

describe('sharedSecretPolicyProblems', () => {
  const policy = (SecretId: unknown): CfnResource => ({
    Type: 'AWS::SecretsManager::ResourcePolicy',
    Properties: { SecretId, ResourcePolicy: documentOf(100) },
  });
  const byName = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:…:secret:adobe/prod']] };

  it('finds two policies for one secret by name, in one template or in two', () => {
    const one = withResources({ A: policy(byName), B: policy(byName) }, {});
    expect(sharedSecretPolicyProblems([one])).toEqual([
      'one secret, 2 resource policies (a secret has one): Stack: Resources.A, Stack: Resources.B',
    ]);
    const other = { ...withResources({ C: policy(byName) }), name: 'Other' };
    expect(sharedSecretPolicyProblems([withResources({ A: policy(byName) }), other])).toEqual([
      'one secret, 2 resource policies (a secret has one): Stack: Resources.A, Other: Resources.C',
    ]);
  });

  it("tells apart secrets by Ref in different templates, and one template's secrets", () => {
    const first = withResources({ A: policy({ Ref: 'Secret' }), B: policy({ Ref: 'OtherSecret' }) });
    const second = { ...withResources({ A: policy({ Ref: 'Secret' }) }), name: 'Other' };
    expect(sharedSecretPolicyProblems([first, second])).toEqual([]);
  });
});
