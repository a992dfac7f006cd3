import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { ImsTokenRefresher, type ImsTokenRefresherProps } from '../../lib/ims-token-refresher.js';
import { evaluate, resolveIntrinsics, type Request, type Statement } from '../support/iam-policy.js';

const ACCOUNT = '111111111111';
const PARTNER = '222222222222';
const BREAK_GLASS = `arn:aws:iam::${ACCOUNT}:role/ops/break-glass`;
const CREDENTIALS_ARN = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:AemProdCredentials-AbC123`;
const TOKEN_ARN = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:AemProdToken-XyZ789`;
/** What the refresher's role is named once deployed: CDK gives it no path. */
const REFRESHER_ARN = `arn:aws:iam::${ACCOUNT}:role/Test-AemProdRole-1A2B3C4D5E6F`;

const refresherArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^AemProdRole'), 'Arn'] };

/** Props, or a function that makes them in the stack (for roles, keys and secrets). */
type PropsIn = ImsTokenRefresherProps | ((stack: Stack) => ImsTokenRefresherProps);

function synth(props: PropsIn = {}, extra?: (stack: Stack, refresher: ImsTokenRefresher) => void) {
  const app = new App();
  const stack = new Stack(app, 'Test', { env: { account: ACCOUNT, region: 'eu-west-1' } });
  const refresher = new ImsTokenRefresher(stack, 'AemProd', typeof props === 'function' ? props(stack) : props);
  extra?.(stack, refresher);
  return { stack, refresher, template: Template.fromStack(stack) };
}

/** The resource policy statements attached to the secret with logical id prefix `secret`, as deployed. */
function resourcePolicy(template: Template, secret: string, physical: Record<string, string>): Statement[] {
  const policies = template.findResources('AWS::SecretsManager::ResourcePolicy', {
    Properties: { SecretId: { Ref: Match.stringLikeRegexp(`^${secret}`) } },
  });
  expect(Object.keys(policies)).toHaveLength(1);
  return resolveIntrinsics(
    Object.values(policies)[0].Properties.ResourcePolicy.Statement,
    physical,
    ACCOUNT,
  ) as Statement[];
}

/** The statements of the IAM policies attached to the role with logical id prefix `role`, as deployed. */
function identityPolicy(template: Template, role: string, physical: Record<string, string>): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
    (policy.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref.startsWith(role)),
  );
  expect(policies.length).toBeGreaterThan(0);
  return policies.flatMap(
    (policy) => resolveIntrinsics(policy.Properties.PolicyDocument.Statement, physical, ACCOUNT) as Statement[],
  );
}

/** The logical id of the one resource of `type` whose id starts with `prefix`. */
function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** The request a role of `account` (default: this one) makes with `action` on `resource`. */
const asRole = (arn: string, action: string, resource: string): Request => ({
  action,
  resource,
  resourceAccount: ACCOUNT,
  context: { 'aws:PrincipalArn': arn, 'aws:PrincipalAccount': arn.split(':')[4] },
});

/** An administrator's identity policy, as many accounts have: every Secrets Manager action on every secret. */
const ADMIN: Statement[] = [{ Effect: 'Allow', Action: 'secretsmanager:*', Resource: '*' }];

describe('the policy evaluator (test support)', () => {
  const read = asRole(`arn:aws:iam::${ACCOUNT}:role/app`, 'secretsmanager:GetSecretValue', CREDENTIALS_ARN);
  const denyUnless = (condition: Statement['Condition']): Statement => ({
    Effect: 'Deny',
    Principal: '*',
    Action: 'secretsmanager:GetSecretValue',
    Resource: '*',
    Condition: condition,
  });

  it('allows what an identity policy allows, by wildcard, and nothing else', () => {
    expect(evaluate({ identity: ADMIN, resource: [] }, read)).toBe('allowed');
    expect(
      evaluate(
        { identity: [{ Effect: 'Allow', Action: 'secretsmanager:Describe*', Resource: '*' }], resource: [] },
        read,
      ),
    ).toBe('implicitly denied');
    expect(
      evaluate(
        { identity: [{ Effect: 'Allow', Action: 'secretsmanager:*', Resource: TOKEN_ARN }], resource: [] },
        read,
      ),
    ).toBe('implicitly denied');
  });

  it('lets an explicit Deny win over any Allow', () => {
    expect(evaluate({ identity: ADMIN, resource: [denyUnless(undefined)] }, read)).toBe('explicitly denied');
  });

  it('applies StringNotEquals unless the key has one of the values', () => {
    const deny = denyUnless({
      StringNotEquals: { 'aws:PrincipalArn': [BREAK_GLASS, `arn:aws:iam::${ACCOUNT}:role/app`] },
    });
    expect(evaluate({ identity: ADMIN, resource: [deny] }, read)).toBe('allowed');
    expect(
      evaluate(
        { identity: ADMIN, resource: [deny] },
        asRole(`arn:aws:iam::${ACCOUNT}:role/other`, read.action, read.resource),
      ),
    ).toBe('explicitly denied');
  });

  it('treats a key missing from the request as matching no value: StringNotEquals holds, StringEquals does not', () => {
    // An anonymous request carries no aws:PrincipalArn; only a resource policy can allow it.
    const anonymous: Request = { ...read, context: {} };
    const everyone: Statement = { Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' };
    expect(evaluate({ identity: [], resource: [everyone] }, anonymous)).toBe('allowed');
    expect(evaluate({ identity: [], resource: [everyone] }, { ...anonymous, resourceAccount: PARTNER })).toBe(
      'allowed',
    );
    const unless = (operator: string) => denyUnless({ [operator]: { 'aws:PrincipalArn': BREAK_GLASS } });
    expect(evaluate({ identity: [], resource: [everyone, unless('StringNotEquals')] }, anonymous)).toBe(
      'explicitly denied',
    );
    expect(evaluate({ identity: [], resource: [everyone, unless('StringEquals')] }, anonymous)).toBe('allowed');
  });

  it('ANDs the keys of a condition: the deny applies only when the principal matches neither list', () => {
    const deny = denyUnless({ StringNotEquals: { 'aws:PrincipalArn': BREAK_GLASS, 'aws:PrincipalAccount': PARTNER } });
    const partnerRole = asRole(`arn:aws:iam::${PARTNER}:role/reader`, read.action, read.resource);
    const allowPartner: Statement = {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${PARTNER}:root` },
      Action: '*',
      Resource: '*',
    };
    expect(evaluate({ identity: ADMIN, resource: [deny, allowPartner] }, partnerRole)).toBe('allowed');
    expect(evaluate({ identity: ADMIN, resource: [deny] }, partnerRole)).toBe('implicitly denied'); // across accounts both must allow
    expect(evaluate({ identity: ADMIN, resource: [deny] }, asRole(BREAK_GLASS, read.action, read.resource))).toBe(
      'allowed',
    );
    expect(evaluate({ identity: ADMIN, resource: [deny] }, read)).toBe('explicitly denied');
  });

  it('refuses what it does not model rather than guess', () => {
    expect(() =>
      evaluate({ identity: ADMIN, resource: [denyUnless({ ArnNotLike: { 'aws:PrincipalArn': '*' } })] }, read),
    ).toThrow('condition operator not modelled: ArnNotLike');
    const notAction = { Effect: 'Allow', NotAction: 'iam:*', Action: [], Resource: '*' } as unknown as Statement;
    expect(() => evaluate({ identity: [notAction], resource: [] }, read)).toThrow('not modelled: NotAction');
    expect(() => resolveIntrinsics({ 'Fn::Sub': 'x' }, {}, ACCOUNT)).toThrow('not modelled: Fn::Sub');
  });
});

describe('least access: the credentials secret', () => {
  it('denies GetSecretValue to every principal but the refresher role, by default, in exactly one statement', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      SecretId: { Ref: Match.stringLikeRegexp('^AemProdCredentials') },
      BlockPublicPolicy: true,
      ResourcePolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OnlyRefresherAndCredentialsReaders',
            Effect: 'Deny',
            Principal: '*',
            Action: 'secretsmanager:GetSecretValue',
            Resource: '*',
            Condition: { StringNotEquals: { 'aws:PrincipalArn': [refresherArn] } },
          },
        ],
      },
    });
    // The token secret stays with IAM alone unless `restrictTokenReaders` is set.
    template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 1);
  });

  it('also exempts the credentialsReaders: roles (with their paths), users and role ARNs', () => {
    const { template } = synth((stack) => ({
      credentialsReaders: [
        new iam.ArnPrincipal(BREAK_GLASS),
        new iam.Role(stack, 'Auditor', { assumedBy: new iam.AccountRootPrincipal(), path: '/audit/' }),
        new iam.User(stack, 'Operator'),
      ],
    }));
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      SecretId: { Ref: Match.stringLikeRegexp('^AemProdCredentials') },
      ResourcePolicy: {
        Statement: [
          Match.objectLike({
            Condition: {
              StringNotEquals: {
                'aws:PrincipalArn': [
                  refresherArn,
                  BREAK_GLASS,
                  // GetAtt Arn is the role's full ARN, its path included, as aws:PrincipalArn carries it.
                  { 'Fn::GetAtt': [Match.stringLikeRegexp('^Auditor'), 'Arn'] },
                  { 'Fn::GetAtt': [Match.stringLikeRegexp('^Operator'), 'Arn'] },
                ],
              },
            },
          }),
        ],
      },
    });
  });

  it('leaves a given credentials secret alone unless asked', () => {
    const { template } = synth((stack) => ({
      credentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Existing', 'adobe/aem-prod'),
    }));
    template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 0);
  });

  it('attaches a policy of its own to an imported credentials secret with restrictCredentialsReaders', () => {
    const arn = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:adobe/aem-prod-AbC123`;
    const { template } = synth((stack) => ({
      credentialsSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Existing', arn),
      restrictCredentialsReaders: true,
      credentialsReaders: [new iam.ArnPrincipal(BREAK_GLASS)],
    }));
    template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 1);
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      SecretId: arn,
      BlockPublicPolicy: true,
      ResourcePolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OnlyRefresherAndCredentialsReaders',
            Effect: 'Deny',
            Principal: '*',
            Action: 'secretsmanager:GetSecretValue',
            Resource: '*',
            Condition: { StringNotEquals: { 'aws:PrincipalArn': [refresherArn, BREAK_GLASS] } },
          },
        ],
      },
    });
  });

  it('names an imported-by-name secret by its name, and adds to the one policy of a secret defined in the app', () => {
    const byName = synth((stack) => ({
      credentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Existing', 'adobe/aem-prod'),
      restrictCredentialsReaders: true,
    }));
    byName.template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', { SecretId: 'adobe/aem-prod' });

    const defined = synth((stack) => {
      const secret = new secretsmanager.Secret(stack, 'Mine');
      secret.addToResourcePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:DescribeSecret'],
          principals: [new iam.AccountRootPrincipal()],
          resources: ['*'],
        }),
      );
      return { credentialsSecret: secret, restrictCredentialsReaders: true };
    });
    defined.template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 1);
    defined.template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      SecretId: { Ref: Match.stringLikeRegexp('^Mine') },
      ResourcePolicy: {
        Statement: [
          Match.objectLike({ Effect: 'Allow', Action: 'secretsmanager:DescribeSecret' }),
          Match.objectLike({ Effect: 'Deny', Sid: 'OnlyRefresherAndCredentialsReaders' }),
        ],
      },
    });
  });

  it.each([
    [
      'credentialsReaders for a given secret without restrictCredentialsReaders',
      (stack: Stack) => ({
        credentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Existing', 'adobe/aem-prod'),
        credentialsReaders: [new iam.ArnPrincipal(BREAK_GLASS)],
      }),
      '`credentialsReaders` needs `restrictCredentialsReaders`: a given credentials secret gets no resource policy without it',
    ],
    [
      'a credentials secret of another account',
      (stack: Stack) => ({
        credentialsSecret: secretsmanager.Secret.fromSecretCompleteArn(
          stack,
          'Existing',
          `arn:aws:secretsmanager:eu-west-1:${PARTNER}:secret:x-AbC123`,
        ),
        restrictCredentialsReaders: true,
      }),
      '`restrictCredentialsReaders` needs a credentials secret of this account: only its owner can set its resource policy',
    ],
    [
      'an assumed-role session as reader',
      () => ({ credentialsReaders: [new iam.ArnPrincipal(`arn:aws:sts::${ACCOUNT}:assumed-role/break-glass/alice`)] }),
      /^`credentialsReaders`: .* has no fixed IAM role or user ARN, so `restrictCredentialsReaders` cannot exempt it/,
    ],
    [
      'a service as reader',
      () => ({ credentialsReaders: [new iam.ServicePrincipal('lambda.amazonaws.com')] }),
      /^`credentialsReaders`: ServicePrincipal\(lambda.amazonaws.com\) has no fixed IAM role or user ARN/,
    ],
    [
      'a whole account as reader',
      () => ({ credentialsReaders: [new iam.AccountPrincipal(ACCOUNT)] }),
      /^`credentialsReaders`: .* is a whole account; name IAM roles or users$/,
    ],
    [
      'a role of another account as reader',
      () => ({ credentialsReaders: [new iam.ArnPrincipal(`arn:aws:iam::${PARTNER}:role/break-glass`)] }),
      `\`credentialsReaders\`: arn:aws:iam::${PARTNER}:role/break-glass is in another account; name principals of this account`,
    ],
  ] as const)('refuses %s at synth, saying what to do', (_what, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  describe('evaluated against an administrator allowed secretsmanager:* on *', () => {
    let template: Template;
    let physical: Record<string, string>;
    let resource: Statement[];
    beforeAll(() => {
      template = synth({ credentialsReaders: [new iam.ArnPrincipal(BREAK_GLASS)] }).template;
      physical = {
        [logicalId(template, 'AWS::SecretsManager::Secret', 'AemProdCredentials')]: CREDENTIALS_ARN,
        [logicalId(template, 'AWS::IAM::Role', 'AemProdRole')]: REFRESHER_ARN,
      };
      resource = resourcePolicy(template, 'AemProdCredentials', physical);
    });
    const admin = `arn:aws:iam::${ACCOUNT}:role/Admin`;

    it('denies the administrator the read, whatever its IAM policy allows', () => {
      const read = asRole(admin, 'secretsmanager:GetSecretValue', CREDENTIALS_ARN);
      expect(evaluate({ identity: ADMIN, resource }, read)).toBe('explicitly denied');
    });

    it.each([
      'PutSecretValue',
      'DescribeSecret',
      'GetResourcePolicy',
      'PutResourcePolicy',
      'DeleteResourcePolicy',
      'DeleteSecret',
    ])('leaves %s to IAM, so the administrator can upload, manage and remove the policy', (action) => {
      expect(evaluate({ identity: ADMIN, resource }, asRole(admin, `secretsmanager:${action}`, CREDENTIALS_ARN))).toBe(
        'allowed',
      );
    });

    it('lets the refresher read with the IAM policy the stack gives it', () => {
      const identity = identityPolicy(template, 'AemProdRole', physical);
      expect(
        evaluate({ identity, resource }, asRole(REFRESHER_ARN, 'secretsmanager:GetSecretValue', CREDENTIALS_ARN)),
      ).toBe('allowed');
    });

    it('lets the break-glass role read when its IAM policy allows it, and only then', () => {
      const read = asRole(BREAK_GLASS, 'secretsmanager:GetSecretValue', CREDENTIALS_ARN);
      expect(evaluate({ identity: ADMIN, resource }, read)).toBe('allowed');
      expect(evaluate({ identity: [], resource }, read)).toBe('implicitly denied');
    });

    it('denies a role of the same name on another path, and anonymous or service requests (no aws:PrincipalArn)', () => {
      const samePathless = `arn:aws:iam::${ACCOUNT}:role/break-glass`;
      expect(
        evaluate({ identity: ADMIN, resource }, asRole(samePathless, 'secretsmanager:GetSecretValue', CREDENTIALS_ARN)),
      ).toBe('explicitly denied');
      const keyless: Request = { ...asRole(admin, 'secretsmanager:GetSecretValue', CREDENTIALS_ARN), context: {} };
      expect(evaluate({ identity: ADMIN, resource }, keyless)).toBe('explicitly denied');
    });
  });
});

describe('least access: refreshers sharing one credentials secret', () => {
  const PROJECT_ARN = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:adobe/project-AbC123`;
  const AUDITOR = `arn:aws:iam::${ACCOUNT}:role/audit/auditor`;
  const roleOf = (id: string) => ({ 'Fn::GetAtt': [Match.stringLikeRegexp(`^${id}Role`), 'Arn'] });

  /** Two refreshers of a Developer Console project download, each given its secret by `secretOf`. */
  function twoRefreshers(
    secretOf: (stack: Stack, id: string) => secretsmanager.ISecret,
    restrict: [boolean, boolean] = [true, true],
  ) {
    const app = new App();
    const stack = new Stack(app, 'Test', { env: { account: ACCOUNT, region: 'eu-west-1' } });
    new ImsTokenRefresher(stack, 'Analytics', {
      credentialsSecret: secretOf(stack, 'Analytics'),
      credentialName: 'analytics',
      restrictCredentialsReaders: restrict[0],
      credentialsReaders: restrict[0] ? [new iam.ArnPrincipal(BREAK_GLASS)] : [],
    });
    new ImsTokenRefresher(stack, 'Campaign', {
      credentialsSecret: secretOf(stack, 'Campaign'),
      credentialName: 'campaign',
      restrictCredentialsReaders: restrict[1],
      credentialsReaders: restrict[1] ? [new iam.ArnPrincipal(AUDITOR)] : [],
    });
    return Template.fromStack(stack);
  }

  /** The one deny statement of the one policy on the secret, which must exempt both refreshers and both readers. */
  function expectOnePolicyForBoth(template: Template, secretId: unknown) {
    template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 1);
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      SecretId: secretId,
      BlockPublicPolicy: true,
      ResourcePolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'OnlyRefresherAndCredentialsReaders',
            Effect: 'Deny',
            Condition: {
              StringNotEquals: {
                'aws:PrincipalArn': [roleOf('Analytics'), BREAK_GLASS, roleOf('Campaign'), AUDITOR],
              },
            },
          }),
        ]),
      },
    });
    const statements = Object.values(template.findResources('AWS::SecretsManager::ResourcePolicy'))[0].Properties
      .ResourcePolicy.Statement as Statement[];
    expect(statements.filter((statement) => statement.Effect === 'Deny')).toHaveLength(1);
  }

  it('gives a secret object they share one resource policy exempting both refreshers and their readers', () => {
    let shared: secretsmanager.ISecret | undefined;
    const template = twoRefreshers(
      (stack) => (shared ??= secretsmanager.Secret.fromSecretNameV2(stack, 'Project', 'adobe/project')),
    );
    expectOnePolicyForBoth(template, 'adobe/project');
  });

  it('recognises the same secret imported twice, by name and by complete ARN', () => {
    const template = twoRefreshers((stack, id) =>
      id === 'Analytics'
        ? secretsmanager.Secret.fromSecretNameV2(stack, `${id}.Credentials`, 'adobe/project')
        : secretsmanager.Secret.fromSecretCompleteArn(stack, `${id}.Credentials`, PROJECT_ARN),
    );
    expectOnePolicyForBoth(template, 'adobe/project');
  });

  it('adds one statement for both to the policy of a secret defined in the app', () => {
    let shared: secretsmanager.ISecret | undefined;
    const template = twoRefreshers((stack) => (shared ??= new secretsmanager.Secret(stack, 'Project')));
    expectOnePolicyForBoth(template, { Ref: Match.stringLikeRegexp('^Project') });
  });

  it('keeps the policy of an existing secret where each refresher had its own, and retains it when it moves', () => {
    const template = twoRefreshers((stack, id) =>
      secretsmanager.Secret.fromSecretNameV2(stack, `${id}.Credentials`, 'adobe/project'),
    );
    // The first sharer's `CredentialsPolicy`: the logical id a deployed single-token stack already has.
    const [[id, policy]] = Object.entries(template.findResources('AWS::SecretsManager::ResourcePolicy'));
    expect(id).toMatch(/^AnalyticsCredentialsPolicy[0-9A-F]{8}$/);
    // Deleting it after writing its successor elsewhere would leave the secret with no policy.
    expect(policy).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    let shared: secretsmanager.ISecret | undefined;
    const owned = twoRefreshers((stack) => (shared ??= new secretsmanager.Secret(stack, 'Project')));
    expect(Object.values(owned.findResources('AWS::SecretsManager::ResourcePolicy'))[0].DeletionPolicy).toBeUndefined();
  });

  it('gives existing secrets whose names differ only in punctuation a policy each', () => {
    const names: Record<string, string> = { Analytics: 'adobe/aem-prod', Campaign: 'adobe/aem/prod' };
    const template = twoRefreshers((stack, id) =>
      secretsmanager.Secret.fromSecretNameV2(stack, `${id}.Credentials`, names[id]),
    );
    template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 2);
  });

  it('lets each refresher read, as deployed, and still denies everyone else', () => {
    const template = twoRefreshers((stack, id) =>
      secretsmanager.Secret.fromSecretCompleteArn(stack, `${id}.Credentials`, PROJECT_ARN),
    );
    const physical = Object.fromEntries(
      ['Analytics', 'Campaign'].map((id) => [
        logicalId(template, 'AWS::IAM::Role', `${id}Role`),
        `arn:aws:iam::${ACCOUNT}:role/Test-${id}Role-1A2B3C`,
      ]),
    );
    const policy = Object.values(template.findResources('AWS::SecretsManager::ResourcePolicy'))[0];
    const resource = resolveIntrinsics(policy.Properties.ResourcePolicy.Statement, physical, ACCOUNT) as Statement[];
    for (const id of ['Analytics', 'Campaign']) {
      const identity = identityPolicy(template, `${id}Role`, physical);
      const read = asRole(
        `arn:aws:iam::${ACCOUNT}:role/Test-${id}Role-1A2B3C`,
        'secretsmanager:GetSecretValue',
        PROJECT_ARN,
      );
      expect(evaluate({ identity, resource }, read)).toBe('allowed');
    }
    const admin = asRole(`arn:aws:iam::${ACCOUNT}:role/Admin`, 'secretsmanager:GetSecretValue', PROJECT_ARN);
    expect(evaluate({ identity: ADMIN, resource }, admin)).toBe('explicitly denied');
  });

  it.each([
    ['the first', [true, false]],
    ['the second', [false, true]],
  ] as const)(
    'refuses, naming both, when only %s restricts the readers (the policy would lock the other out)',
    (_which, restrict) => {
      expect(() =>
        twoRefreshers(
          (stack, id) => secretsmanager.Secret.fromSecretNameV2(stack, `${id}.Credentials`, 'adobe/project'),
          [...restrict],
        ),
      ).toThrow(
        /^`restrictCredentialsReaders`: Test\/Campaign and Test\/Analytics share the credentials secret adobe\/project, but only one of them restricts its readers/,
      );
    },
  );

  it('refuses to restrict one existing secret from two stacks, naming both refreshers', () => {
    const app = new App();
    const env = { account: ACCOUNT, region: 'eu-west-1' };
    for (const id of ['One', 'Two']) {
      const stack = new Stack(app, id, { env });
      const refresher = () =>
        new ImsTokenRefresher(stack, 'Refresher', {
          credentialsSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Project', 'adobe/project'),
          restrictCredentialsReaders: true,
        });
      if (id === 'One') refresher();
      else
        expect(refresher).toThrow(
          '`restrictCredentialsReaders`: Two/Refresher and One/Refresher restrict the readers of the credentials ' +
            'secret adobe/project from two stacks: a secret has one resource policy, so each stack would replace ' +
            "the other's; keep the tokens that share it in one stack",
        );
    }
  });
});

describe('least access: the token secret (restrictTokenReaders)', () => {
  const withKey = (props: ImsTokenRefresherProps) => (stack: Stack) => ({
    encryptionKey: new kms.Key(stack, 'Key'),
    ...props,
  });

  it('adds no deny by default', () => {
    const { template } = synth({}, (stack, refresher) => refresher.grantRead(new iam.User(stack, 'Reader')));
    expect(
      Object.keys(
        template.findResources('AWS::SecretsManager::ResourcePolicy', {
          Properties: { SecretId: { Ref: Match.stringLikeRegexp('^AemProdToken') } },
        }),
      ),
    ).toEqual([]);
  });

  it('exempts the refresher, tokenReaders, cross-account readers and every grantRead, also those after construction', () => {
    const { template } = synth(
      withKey({
        restrictTokenReaders: true,
        tokenReaders: [new iam.ArnPrincipal(`arn:aws:iam::${ACCOUNT}:role/app/aem-client`)],
        crossAccountReaders: [
          new iam.AccountPrincipal(PARTNER),
          new iam.ArnPrincipal('arn:aws:iam::333333333333:role/reader'),
        ],
      }),
      (stack, refresher) => {
        refresher.grantRead(
          new iam.Role(stack, 'Consumer', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') }),
        );
        refresher.grantRead(
          new lambda.Function(stack, 'Worker', {
            runtime: lambda.Runtime.NODEJS_24_X,
            handler: 'index.handler',
            code: lambda.Code.fromInline('exports.handler = async () => {}'),
          }),
        );
      },
    );
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      SecretId: { Ref: Match.stringLikeRegexp('^AemProdToken') },
      BlockPublicPolicy: true,
      ResourcePolicy: {
        Version: '2012-10-17',
        Statement: Match.arrayWith([
          {
            Sid: 'OnlyGrantedTokenReaders',
            Effect: 'Deny',
            Principal: '*',
            Action: 'secretsmanager:GetSecretValue',
            Resource: '*',
            Condition: {
              StringNotEquals: {
                'aws:PrincipalArn': [
                  refresherArn,
                  `arn:aws:iam::${ACCOUNT}:role/app/aem-client`,
                  'arn:aws:iam::333333333333:role/reader',
                  { 'Fn::GetAtt': [Match.stringLikeRegexp('^Consumer'), 'Arn'] },
                  { 'Fn::GetAtt': [Match.stringLikeRegexp('^WorkerServiceRole'), 'Arn'] },
                ],
                'aws:PrincipalAccount': [PARTNER],
              },
            },
          },
        ]),
      },
    });
  });

  it('turns a root ARN among crossAccountReaders into its account, and names no account when there is none', () => {
    const partnerRoot = new iam.ArnPrincipal(`arn:aws:iam::${PARTNER}:root`);
    const { template } = synth(withKey({ restrictTokenReaders: true, crossAccountReaders: [partnerRoot] }));
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      ResourcePolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Condition: { StringNotEquals: { 'aws:PrincipalArn': [refresherArn], 'aws:PrincipalAccount': [PARTNER] } },
          }),
        ]),
      },
    });
    synth({ restrictTokenReaders: true }).template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      ResourcePolicy: {
        Statement: [Match.objectLike({ Condition: { StringNotEquals: { 'aws:PrincipalArn': [refresherArn] } } })],
      },
    });
  });

  it.each([
    [
      'a service principal',
      () => new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      new RegExp(
        '^`grantRead`: ServicePrincipal\\(ecs-tasks.amazonaws.com\\) has no fixed IAM role or user ARN, so ' +
          '`restrictTokenReaders` cannot exempt it from its deny: give the read to an IAM role or user',
      ),
    ],
    [
      'a group',
      (stack: Stack) => new iam.Group(stack, 'Readers'),
      /^`grantRead`: .*Readers has no fixed IAM role or user ARN/,
    ],
    [
      'a web identity',
      () => new iam.WebIdentityPrincipal('cognito-identity.amazonaws.com'),
      /has no fixed IAM role or user ARN/,
    ],
    [
      'this whole account',
      () => new iam.AccountRootPrincipal(),
      /^`grantRead`: .* is this whole account, which would undo `restrictTokenReaders`; name IAM roles or users$/,
    ],
    ['this account by its id', () => new iam.AccountPrincipal(ACCOUNT), /^`grantRead`: .* is this whole account/],
  ] as const)('fails grantRead of %s, saying what to do, before granting anything', (_what, grantee, message) => {
    const app = new App();
    const stack = new Stack(app, 'Test', { env: { account: ACCOUNT, region: 'eu-west-1' } });
    const refresher = new ImsTokenRefresher(stack, 'AemProd', { restrictTokenReaders: true });
    expect(() => refresher.grantRead(grantee(stack))).toThrow(message);
    // Nothing was granted: no IAM policy but the refresher's own, no Allow in the token secret's policy.
    const template = Template.fromStack(stack);
    expect(Object.keys(template.findResources('AWS::IAM::Policy')).filter((id) => !id.startsWith('AemProd'))).toEqual(
      [],
    );
    const policies = Object.values(
      template.findResources('AWS::SecretsManager::ResourcePolicy', {
        Properties: { SecretId: { Ref: Match.stringLikeRegexp('^AemProdToken') } },
      }),
    );
    const effects = policies.flatMap((policy) =>
      (policy.Properties.ResourcePolicy.Statement as Statement[]).map((s) => s.Effect),
    );
    expect(effects).toEqual(['Deny']);
  });

  it('refuses tokenReaders without restrictTokenReaders', () => {
    expect(() => synth({ tokenReaders: [new iam.ArnPrincipal(BREAK_GLASS)] })).toThrow(
      '`tokenReaders` needs `restrictTokenReaders`: without it, IAM policies alone decide who reads the token',
    );
  });

  describe('evaluated against an administrator allowed secretsmanager:* on *', () => {
    const consumer = `arn:aws:iam::${ACCOUNT}:role/Test-Consumer-9Z8Y7X`;
    let template: Template;
    let physical: Record<string, string>;
    let resource: Statement[];
    beforeAll(() => {
      const props = withKey({ restrictTokenReaders: true, crossAccountReaders: [new iam.AccountPrincipal(PARTNER)] });
      template = synth(props, (stack, refresher) =>
        refresher.grantRead(
          new iam.Role(stack, 'Consumer', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') }),
        ),
      ).template;
      physical = {
        [logicalId(template, 'AWS::SecretsManager::Secret', 'AemProdToken')]: TOKEN_ARN,
        [logicalId(template, 'AWS::IAM::Role', 'AemProdRole')]: REFRESHER_ARN,
        [logicalId(template, 'AWS::IAM::Role', 'Consumer')]: consumer,
      };
      resource = resourcePolicy(template, 'AemProdToken', physical);
    });
    const read = (arn: string) => asRole(arn, 'secretsmanager:GetSecretValue', TOKEN_ARN);

    it('lets the refresher and the consumer read with the IAM policies the stack gives them', () => {
      expect(
        evaluate({ identity: identityPolicy(template, 'AemProdRole', physical), resource }, read(REFRESHER_ARN)),
      ).toBe('allowed');
      expect(evaluate({ identity: identityPolicy(template, 'Consumer', physical), resource }, read(consumer))).toBe(
        'allowed',
      );
    });

    it('denies the administrator the read but leaves writing and managing the policy to IAM', () => {
      const admin = `arn:aws:iam::${ACCOUNT}:role/Admin`;
      expect(evaluate({ identity: ADMIN, resource }, read(admin))).toBe('explicitly denied');
      for (const action of ['PutSecretValue', 'DescribeSecret', 'DeleteResourcePolicy']) {
        expect(evaluate({ identity: ADMIN, resource }, asRole(admin, `secretsmanager:${action}`, TOKEN_ARN))).toBe(
          'allowed',
        );
      }
    });

    it('lets a role of the partner account read (its own IAM policy allowing it), and no other account', () => {
      const reader: Statement[] = [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: TOKEN_ARN }];
      expect(evaluate({ identity: reader, resource }, read(`arn:aws:iam::${PARTNER}:role/aem-reader`))).toBe('allowed');
      expect(evaluate({ identity: reader, resource }, read('arn:aws:iam::444444444444:role/aem-reader'))).toBe(
        'explicitly denied',
      );
    });
  });
});
