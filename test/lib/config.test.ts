import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_ID,
  CREDENTIALS_EXPIRY_WARNING_DAYS,
  DEFAULT_REFRESH_THRESHOLD,
  refreshThresholdProblem,
  RETIRE_AFTER_HOURS,
  retireAfterHoursProblem,
  ROTATION_EVERY_DAYS,
  rotationEveryDaysProblem,
} from '../../common/rules.js';
import {
  CONTEXT_SOURCE,
  ConfigError,
  configJsonSchema,
  configSummary,
  defaultStackName,
  loadAppConfig,
  NO_CONFIGURATION,
  parseAppConfig,
  tokensByStack,
} from '../../lib/config/load.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:adobe/aem-prod-AbC123';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const EXPECTED_SECRET_ARN =
  'expected a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>)';
const EXPECTED_IAM_ARN = 'expected an IAM role, user or root ARN (arn:aws:iam::<account>:role/<name>)';
const EXPECTED_ROLE_OR_USER_ARN = 'expected an IAM role or user ARN (arn:aws:iam::<account>:role/<path/><name>)';

/** Every key, each with a value a user would write. */
const FULL = {
  name: 'aem-stage',
  credentialsSecret: 'adobe/aem-stage',
  scheduleMinutes: 30,
  refreshThreshold: 0.6,
  imsBaseUrl: 'https://ims.proxy.example',
  adobeApiBaseUrl: 'https://adobe-api.proxy.example',
  credentialsType: 'oauth',
  credentialName: 'Credential in Workspace',
  credentialsExpiryWarning: 45,
  tokenSecretName: 'adobe/aem-stage/token',
  encryptionKey: KEY_ARN,
  crossAccountReaders: ['222222222222', 'arn:aws:iam::333333333333:role/aem-reader'],
  replicaRegions: ['us-east-1'],
  restrictCredentialsReaders: true,
  credentialsReaders: ['arn:aws:iam::111111111111:role/ops/break-glass'],
  restrictTokenReaders: true,
  tokenReaders: ['arn:aws:iam::111111111111:role/aem-client', 'arn:aws:iam::111111111111:user/ci'],
  stack: 'AdobeTokens-stage',
  alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:on-call',
  reservedConcurrency: false,
  logRetentionDays: 90,
  removalPolicy: 'destroy',
  vpc: {
    vpcId: 'vpc-0123456789abcdef0',
    subnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'],
    securityGroupIds: ['sg-0ccc3333'],
  },
  secretsManagerEndpoint: 'create',
  httpsProxy: 'http://proxy.corp.example.com:3128',
  noProxy: ['.corp.example.com'],
  proxyCredentialsSecret: 'corp/proxy-login',
  fips: true,
  rotateClientSecret: { everyDays: 90, orgId: '23294', credentialId: '385214', retireAfterHours: 48 },
};

/** A configuration of one token named "a" with `fields`. */
const one = (fields: Record<string, unknown>) => ({ tokens: [{ name: 'a', ...fields }] });

/** The lines `parseAppConfig` reports for `raw` read from tokens.json, or [] when it accepts it. */
function problemsOf(raw: unknown): readonly string[] {
  try {
    parseAppConfig(raw, 'tokens.json');
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

/**
 * Invalid configurations: the exact lines reported, and whether the JSON Schema rejects them too
 * or only synth can tell (rules across tokens, and the finer `imsBaseUrl` rules).
 */
const INVALID: ReadonlyArray<readonly [string, unknown, readonly string[], 'schema rejects' | 'synth only']> = [
  [
    'a VPC without subnets, with ids that are none',
    one({ vpc: { vpcId: 'vpc-123', securityGroupIds: ['default'] } }),
    [
      'tokens.json: tokens["a"].vpc.vpcId: must be a VPC id (vpc- and 8 or 17 hex digits)',
      'tokens.json: tokens["a"].vpc.subnetIds: required key is missing',
      'tokens.json: tokens["a"].vpc.securityGroupIds[0]: must be a security group id (sg- and 8 or 17 hex digits)',
    ],
    'schema rejects',
  ],
  [
    'an endpoint setting that is neither',
    one({ secretsManagerEndpoint: 'shared' }),
    ['tokens.json: tokens["a"].secretsManagerEndpoint: must be "create" or "existing"'],
    'schema rejects',
  ],
  [
    'an https proxy URL',
    one({ httpsProxy: 'https://proxy.example.com:3128' }),
    [
      'tokens.json: tokens["a"].httpsProxy: must use http: (an HTTP CONNECT proxy; what goes through it to IMS and AWS is still TLS)',
    ],
    'schema rejects',
  ],
  [
    'a proxy URL with credentials, never repeated',
    one({ httpsProxy: 'http://alice:s3cr3t@proxy.example.com:3128' }),
    [
      'tokens.json: tokens["a"].httpsProxy: must not hold credentials (user:password@): put them in a secret named by `proxyCredentialsSecret`',
    ],
    'synth only',
  ],
  [
    'a proxy URL without a port',
    one({ httpsProxy: 'http://proxy.example.com' }),
    [
      'tokens.json: tokens["a"].httpsProxy: must be http://host:port: an explicit port, and no path, query or credentials',
    ],
    'synth only',
  ],
  [
    'a noProxy entry that is a URL, and a proxy credentials secret that is a partial ARN',
    one({
      httpsProxy: 'http://proxy:3128',
      noProxy: ['https://internal'],
      proxyCredentialsSecret: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:proxy',
    }),
    [
      'tokens.json: tokens["a"].noProxy[0]: must be a host name or a domain suffix like ".corp.example.com"',
      `tokens.json: tokens["a"].proxyCredentialsSecret: must be a complete ARN, ending in the 6-character suffix Secrets Manager adds (as the console shows it), or just the secret's name`,
    ],
    'schema rejects',
  ],
  [
    'a proxy credentials secret "create": the stack makes none',
    one({ httpsProxy: 'http://proxy:3128', proxyCredentialsSecret: 'create' }),
    ['tokens.json: tokens["a"].proxyCredentialsSecret: "create" is reserved; choose another'],
    'schema rejects',
  ],
  [
    'fips that is no boolean',
    one({ fips: 'yes' }),
    ['tokens.json: tokens["a"].fips: must be true or false'],
    'schema rejects',
  ],
  [
    'a rotation out of range, with an IMS org id for the org id and a misspelt key',
    one({
      rotateClientSecret: {
        everyDays: 0,
        orgId: 'ABCDEF0123456789@AdobeOrg',
        credentialId: 'has space',
        retireAfterHours: 721,
        every: 90,
      },
    }),
    [
      'tokens.json: tokens["a"].rotateClientSecret.every: unknown key (did you mean everyDays?)',
      'tokens.json: tokens["a"].rotateClientSecret.everyDays: must be a whole number of days, from 1 to 365',
      'tokens.json: tokens["a"].rotateClientSecret.orgId: must be the numeric Developer Console org id (project.org.id, e.g. "23294"), not the …@AdobeOrg IMS org id',
      'tokens.json: tokens["a"].rotateClientSecret.credentialId: must be 1-64 letters, digits or hyphens',
      'tokens.json: tokens["a"].rotateClientSecret.retireAfterHours: must be a whole number of hours, from 1 to 720',
    ],
    'schema rejects',
  ],
  [
    'a rotation at the top level without everyDays, and a rotation that is a number of days',
    { rotateClientSecret: {}, tokens: [{ name: 'a', rotateClientSecret: 90 }] },
    [
      'tokens.json: tokens["a"].rotateClientSecret: must be an object with "everyDays"',
      'tokens.json: rotateClientSecret.everyDays: required key is missing',
    ],
    'schema rejects',
  ],
  [
    'an adobeApiBaseUrl over plain http to a host that is not loopback',
    one({ adobeApiBaseUrl: 'http://api.adobe.example' }),
    ['tokens.json: tokens["a"].adobeApiBaseUrl: must use https (plain http only for 127.0.0.1 or localhost)'],
    'synth only',
  ],
  ['not an object', undefined, ['tokens.json: must be an object with a "tokens" list'], 'schema rejects'],
  ['no tokens', { tokens: [] }, ['tokens.json: tokens: must be a non-empty list of tokens'], 'schema rejects'],
  [
    'a misspelt top-level key',
    { token: [{ name: 'a' }] },
    ['tokens.json: token: unknown key (did you mean tokens?)', 'tokens.json: tokens: required key is missing'],
    'schema rejects',
  ],
  ['a token that is not an object', { tokens: ['a'] }, ['tokens.json: tokens[0]: must be an object'], 'schema rejects'],
  [
    'a token without a name',
    { tokens: [{}] },
    ['tokens.json: tokens[0].name: required key is missing'],
    'schema rejects',
  ],
  ...['bad name', 'a'.repeat(41), '1st'].map(
    (name) =>
      [
        `name ${JSON.stringify(name)}`,
        { tokens: [{ name }] },
        ['tokens.json: tokens[0].name: must be 1-40 letters, digits or hyphens, starting with a letter'],
        'schema rejects',
      ] as const,
  ),
  ...['Dashboard', 'BootstrapVersion', 'CheckBootstrapVersion', 'CDKMetadata', 'Exports'].map(
    (name) =>
      [
        `the reserved name ${name} (the stack's, or CDK's own: BootstrapVersion would drop the bootstrap version check)`,
        { tokens: [{ name }] },
        [`tokens.json: tokens[0].name: "${name}" is reserved; choose another`],
        'schema rejects',
      ] as const,
  ),
  [
    'a secret ARN whose name is longer than Secrets Manager allows (512)',
    {
      tokens: [
        {
          name: 'a',
          credentialsSecret: `arn:aws:secretsmanager:eu-west-1:111111111111:secret:${'n'.repeat(513)}-AbC123`,
        },
      ],
    },
    [
      'tokens.json: tokens["a"].credentialsSecret: must be a complete ARN, ending in the 6-character suffix Secrets Manager adds (as the console shows it), or just the secret\'s name',
    ],
    'schema rejects',
  ],
  [
    'a name used twice, ignoring case',
    { tokens: [{ name: 'aem-prod' }, { name: 'AEM-prod' }] },
    ['tokens.json: tokens["AEM-prod"].name: also the name of tokens["aem-prod"] (names must differ, ignoring case)'],
    'synth only',
  ],
  [
    'a misspelt key',
    { tokens: [{ name: 'aem-prod', schedulMinutes: 30 }] },
    ['tokens.json: tokens["aem-prod"].schedulMinutes: unknown key (did you mean scheduleMinutes?)'],
    'schema rejects',
  ],
  [
    'a fragment of a key',
    one({ schedule: '1h' }),
    ['tokens.json: tokens["a"].schedule: unknown key (did you mean scheduleMinutes?)'],
    'schema rejects',
  ],
  ['a key like no other', one({ colour: 'red' }), ['tokens.json: tokens["a"].colour: unknown key'], 'schema rejects'],
  [
    'a key with a line break, on one line',
    one({ 'schedule\nMinutes': 30 }),
    ['tokens.json: tokens["a"]["schedule\\nMinutes"]: unknown key (did you mean scheduleMinutes?)'],
    'schema rejects',
  ],
  ...[0.5, 0, '60'].map(
    (scheduleMinutes) =>
      [
        `scheduleMinutes ${JSON.stringify(scheduleMinutes)}`,
        one({ scheduleMinutes }),
        ['tokens.json: tokens["a"].scheduleMinutes: must be a whole number of minutes, at least 1'],
        'schema rejects',
      ] as const,
  ),
  ...[0, 1, 2].map(
    (refreshThreshold) =>
      [
        `refreshThreshold ${refreshThreshold}`,
        one({ refreshThreshold }),
        ['tokens.json: tokens["a"].refreshThreshold: must be a number between 0 and 1 (exclusive)'],
        'schema rejects',
      ] as const,
  ),
  ...[0, 366, 1.5, '30'].map(
    (credentialsExpiryWarning) =>
      [
        `credentialsExpiryWarning ${JSON.stringify(credentialsExpiryWarning)}`,
        one({ credentialsExpiryWarning }),
        ['tokens.json: tokens["a"].credentialsExpiryWarning: must be a whole number of days, from 1 to 365'],
        'schema rejects',
      ] as const,
  ),
  ...['', ' Credential in Workspace', 'two\nlines', 42].map(
    (credentialName) =>
      [
        `credentialName ${JSON.stringify(credentialName)}`,
        one({ credentialName }),
        [
          `tokens.json: tokens["a"].credentialName: must be a credential's name or id: not empty, no line breaks, no spaces at either end`,
        ],
        'schema rejects',
      ] as const,
  ),
  [
    'both alarm keys on a token',
    one({ alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:on-call', alarmEmail: 'ops@example.com' }),
    ['tokens.json: tokens["a"].alarmEmail: set "alarmTopicArn" or "alarmEmail", not both'],
    'schema rejects',
  ],
  [
    'both alarm keys for the app',
    {
      alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:on-call',
      alarmEmail: 'ops@example.com',
      tokens: [{ name: 'a' }],
    },
    ['tokens.json: alarmEmail: set "alarmTopicArn" or "alarmEmail", not both'],
    'schema rejects',
  ],
  [
    'an alarm topic that is not an SNS topic ARN',
    one({ alarmTopicArn: 'arn:aws:sqs:eu-west-1:111111111111:on-call' }),
    ['tokens.json: tokens["a"].alarmTopicArn: must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic name>)'],
    'schema rejects',
  ],
  [
    'an alarm email without a domain',
    one({ alarmEmail: 'ops' }),
    ['tokens.json: tokens["a"].alarmEmail: must be an email address'],
    'schema rejects',
  ],
  [
    'a log retention CloudWatch does not offer',
    { logRetentionDays: 100, tokens: [{ name: 'a' }] },
    [
      `tokens.json: logRetentionDays: must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (days)`,
    ],
    'schema rejects',
  ],
  [
    'a removal policy CloudFormation has but the stack does not offer',
    { removalPolicy: 'snapshot', tokens: [{ name: 'a', removalPolicy: 'Destroy' }] },
    [
      'tokens.json: tokens["a"].removalPolicy: must be "retain" or "destroy"',
      'tokens.json: removalPolicy: must be "retain" or "destroy"',
    ],
    'schema rejects',
  ],
  [
    'a dashboard flag that is not a boolean',
    { dashboard: 'no', tokens: [{ name: 'a' }] },
    ['tokens.json: dashboard: must be true or false'],
    'schema rejects',
  ],
  [
    'an empty imsBaseUrl',
    one({ imsBaseUrl: '' }),
    ['tokens.json: tokens["a"].imsBaseUrl: must be a URL'],
    'schema rejects',
  ],
  [
    'an imsBaseUrl that is no URL',
    one({ imsBaseUrl: 'not a url' }),
    ['tokens.json: tokens["a"].imsBaseUrl: is not a URL'],
    'schema rejects',
  ],
  [
    'a plain http imsBaseUrl',
    one({ imsBaseUrl: 'http://proxy.corp.example' }),
    ['tokens.json: tokens["a"].imsBaseUrl: must use https (plain http only for 127.0.0.1 or localhost)'],
    'synth only',
  ],
  [
    'an imsBaseUrl with user info',
    one({ imsBaseUrl: 'https://u:p@proxy.example' }),
    ['tokens.json: tokens["a"].imsBaseUrl: must not carry a query, fragment or user info'],
    'synth only',
  ],
  [
    'an unknown credentialsType',
    one({ credentialsType: 'saml' }),
    ['tokens.json: tokens["a"].credentialsType: must be "jwt" or "oauth"'],
    'schema rejects',
  ],
  ...[42, '', 'has spaces'].map(
    (credentialsSecret) =>
      [
        `credentialsSecret ${JSON.stringify(credentialsSecret)}`,
        one({ credentialsSecret }),
        ['tokens.json: tokens["a"].credentialsSecret: must be "create", a secret name or a complete secret ARN'],
        'schema rejects',
      ] as const,
  ),
  [
    'a partial secret ARN',
    one({ credentialsSecret: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:adobe/aem-prod' }),
    [
      'tokens.json: tokens["a"].credentialsSecret: must be a complete ARN, ending in the 6-character suffix Secrets Manager ' +
        "adds (as the console shows it), or just the secret's name",
    ],
    'schema rejects',
  ],
  [
    'a Parameter Store ARN as the credentials secret',
    one({ credentialsSecret: 'arn:aws:ssm:eu-west-1:111111111111:parameter/adobe/aem-prod' }),
    [`tokens.json: tokens["a"].credentialsSecret: ${EXPECTED_SECRET_ARN}, got a ssm parameter ARN`],
    'schema rejects',
  ],
  [
    'a secret ARN with a short account id and no region',
    one({ credentialsSecret: 'arn:aws:secretsmanager::11111111111:secret:adobe/aem-prod-AbC123' }),
    [
      'tokens.json: tokens["a"].credentialsSecret: region must be a region name like "eu-west-1"',
      'tokens.json: tokens["a"].credentialsSecret: account id must be 12 digits',
    ],
    'schema rejects',
  ],
  [
    'a truncated ARN',
    one({ credentialsSecret: 'arn:aws:secretsmanager:eu-west-1' }),
    [`tokens.json: tokens["a"].credentialsSecret: ${EXPECTED_SECRET_ARN}; this is not a complete ARN`],
    'schema rejects',
  ],
  [
    'a tokenSecretName that is no secret name',
    one({ tokenSecretName: 'has spaces' }),
    ['tokens.json: tokens["a"].tokenSecretName: must be a secret name: up to 512 of A-Z a-z 0-9 /_+=.@-'],
    'schema rejects',
  ],
  [
    'one tokenSecretName for two tokens',
    {
      tokens: [
        { name: 'a', tokenSecretName: 'adobe/token' },
        { name: 'b', tokenSecretName: 'adobe/token' },
      ],
    },
    [
      'tokens.json: tokens["b"].tokenSecretName: also the tokenSecretName of tokens["a"] (each token needs a new secret of its own)',
    ],
    'synth only',
  ],
  [
    "a tokenSecretName that is another token's credentials secret",
    {
      tokens: [
        { name: 'a', credentialsSecret: 'adobe/creds' },
        { name: 'b', tokenSecretName: 'adobe/creds' },
      ],
    },
    [
      'tokens.json: tokens["b"].tokenSecretName: also the credentialsSecret of tokens["a"] (each token needs a new secret of its own)',
    ],
    'synth only',
  ],
  [
    'a stack name starting with a digit',
    one({ stack: '1st' }),
    [
      'tokens.json: tokens["a"].stack: must be a stack name: up to 128 letters, digits or hyphens, starting with a letter',
    ],
    'schema rejects',
  ],
  [
    'a key alias as encryptionKey',
    one({ encryptionKey: 'alias/aws/secretsmanager' }),
    ['tokens.json: tokens["a"].encryptionKey: must be "create" or a KMS key ARN'],
    'schema rejects',
  ],
  [
    'a key alias ARN as encryptionKey',
    one({ encryptionKey: 'arn:aws:kms:eu-west-1:111111111111:alias/aem' }),
    [
      'tokens.json: tokens["a"].encryptionKey: expected a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>), got a kms alias ARN',
    ],
    'schema rejects',
  ],
  [
    'a short account id as reader',
    one({ encryptionKey: 'create', crossAccountReaders: ['2222'] }),
    ['tokens.json: tokens["a"].crossAccountReaders[0]: account id must be 12 digits'],
    'schema rejects',
  ],
  [
    'an assumed-role ARN as reader',
    one({ encryptionKey: 'create', crossAccountReaders: ['arn:aws:sts::222222222222:assumed-role/reader/session'] }),
    [`tokens.json: tokens["a"].crossAccountReaders[0]: ${EXPECTED_IAM_ARN}, got a sts assumed-role ARN`],
    'schema rejects',
  ],
  [
    'an IAM ARN with a region',
    one({ encryptionKey: 'create', crossAccountReaders: ['arn:aws:iam:eu-west-1:222222222222:role/reader'] }),
    [`tokens.json: tokens["a"].crossAccountReaders[0]: ${EXPECTED_IAM_ARN}, which names no region`],
    'schema rejects',
  ],
  [
    'a reader that is neither',
    one({ encryptionKey: 'create', crossAccountReaders: ['partner'] }),
    ['tokens.json: tokens["a"].crossAccountReaders[0]: must be a 12-digit account id or an IAM role, user or root ARN'],
    'schema rejects',
  ],
  [
    'no readers',
    one({ encryptionKey: 'create', crossAccountReaders: [] }),
    [
      'tokens.json: tokens["a"].crossAccountReaders: must be a non-empty list of 12-digit account ids or IAM role, user or root ARNs',
    ],
    'schema rejects',
  ],
  [
    'a reader listed twice',
    one({ encryptionKey: 'create', crossAccountReaders: ['222222222222', '222222222222'] }),
    ['tokens.json: tokens["a"].crossAccountReaders[1]: "222222222222" is listed twice'],
    'schema rejects',
  ],
  [
    'readers without encryptionKey',
    one({ crossAccountReaders: ['222222222222'] }),
    [
      'tokens.json: tokens["a"].crossAccountReaders: needs "encryptionKey": other accounts cannot decrypt the AWS managed key',
    ],
    'schema rejects',
  ],
  [
    'a string for a boolean',
    one({ restrictTokenReaders: 'yes' }),
    ['tokens.json: tokens["a"].restrictTokenReaders: must be true or false'],
    'schema rejects',
  ],
  [
    'an assumed-role session as break-glass reader (aws:PrincipalArn is the role)',
    one({ credentialsReaders: ['arn:aws:sts::111111111111:assumed-role/break-glass/alice'] }),
    [`tokens.json: tokens["a"].credentialsReaders[0]: ${EXPECTED_ROLE_OR_USER_ARN}, got a sts assumed-role ARN`],
    'schema rejects',
  ],
  [
    'an account root as break-glass reader',
    one({ credentialsReaders: ['arn:aws:iam::111111111111:root'] }),
    [`tokens.json: tokens["a"].credentialsReaders[0]: ${EXPECTED_ROLE_OR_USER_ARN}, got an iam root ARN`],
    'schema rejects',
  ],
  [
    'an account id as token reader',
    one({ restrictTokenReaders: true, tokenReaders: ['111111111111'] }),
    [`tokens.json: tokens["a"].tokenReaders[0]: ${EXPECTED_ROLE_OR_USER_ARN}; this is not a complete ARN`],
    'schema rejects',
  ],
  [
    'token readers without restrictTokenReaders',
    one({ tokenReaders: ['arn:aws:iam::111111111111:role/aem-client'] }),
    [
      'tokens.json: tokens["a"].tokenReaders: needs "restrictTokenReaders": without it, IAM policies alone decide who reads the token',
    ],
    'schema rejects',
  ],
  [
    'one region instead of a list',
    one({ replicaRegions: 'us-east-1' }),
    ['tokens.json: tokens["a"].replicaRegions: must be a non-empty list of region names like "eu-west-1"'],
    'schema rejects',
  ],
  [
    'a region name that is none',
    one({ replicaRegions: ['Europe'] }),
    ['tokens.json: tokens["a"].replicaRegions[0]: must be a region name like "eu-west-1"'],
    'schema rejects',
  ],
];

describe('parseAppConfig', () => {
  it('accepts a minimal entry and defaults the credentials secret to "create"', () => {
    const config = parseAppConfig({ tokens: [{ name: 'aem-prod' }] });
    expect(config.tokens).toEqual([{ name: 'aem-prod', credentialsSecret: 'create' }]);
  });

  it('keeps every documented override and ignores "$schema"', () => {
    const config = parseAppConfig({
      $schema: './config.schema.json',
      tokens: [FULL, { name: 'b', credentialsSecret: SECRET_ARN }],
    });
    expect(config.tokens).toEqual([FULL, { name: 'b', credentialsSecret: SECRET_ARN }]);
  });

  it.each(INVALID)('reports %s in one line per problem', (_what, raw, lines) => {
    expect(problemsOf(raw)).toEqual(lines);
  });

  it('reports every problem at once, each naming its token', () => {
    // Prepare
    const raw = {
      tokens: [
        { name: 'aem-prod', schedulMinutes: 30, refreshThreshold: 2 },
        { name: 'aem-stage', stack: '1st' },
      ],
    };

    // Act
    const lines = problemsOf(raw);

    // Assess
    expect(lines).toEqual([
      'tokens.json: tokens["aem-prod"].schedulMinutes: unknown key (did you mean scheduleMinutes?)',
      'tokens.json: tokens["aem-prod"].refreshThreshold: must be a number between 0 and 1 (exclusive)',
      'tokens.json: tokens["aem-stage"].stack: must be a stack name: up to 128 letters, digits or hyphens, starting with a letter',
    ]);
  });

  it('throws a ConfigError whose message is its lines, without a source when none is given', () => {
    const error = (() => {
      try {
        return parseAppConfig({ tokens: [{ name: 'a', scheduleMinutes: 0, stack: '1st' }] });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).name).toBe('ConfigError');
    expect((error as ConfigError).message).toBe(
      'tokens["a"].scheduleMinutes: must be a whole number of minutes, at least 1\n' +
        'tokens["a"].stack: must be a stack name: up to 128 letters, digits or hyphens, starting with a letter',
    );
  });
});

describe('loadAppConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ims-config-'));
  /** Writes `text` to a file of its own and loads it. */
  const load = (text: string) => {
    const file = join(dir, `tokens-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, text);
    return { file, act: () => loadAppConfig({ file }) };
  };

  it('reads the file named with -c config=…', () => {
    const { act } = load('\uFEFF{ "tokens": [{ "name": "from-file" }] }');
    expect(act().tokens.map((token) => token.name)).toEqual(['from-file']);
  });

  it('uses the cdk.json context without a file, naming it in messages', () => {
    expect(loadAppConfig({ context: { tokens: [{ name: 'from-context' }] } }).tokens[0].name).toBe('from-context');
    expect(() => loadAppConfig({ context: null })).toThrow(`${CONTEXT_SOURCE}: must be an object with a "tokens" list`);
  });

  it('refuses a file and the context together, naming both, before reading either', () => {
    const { file } = load('{ "tokens": [{ "name": "from-file" }] }');
    const context = { tokens: [{ name: 'from-context' }] };
    expect(() => loadAppConfig({ file, context })).toThrow(
      `two configurations: ${file} (-c config=…) and ${CONTEXT_SOURCE}`,
    );
    expect(() => loadAppConfig({ file: join(dir, 'missing.json'), context })).toThrow(/^two configurations/);
  });

  it('refuses no configuration at all, saying what to do', () => {
    expect(() => loadAppConfig({})).toThrow(new ConfigError([...NO_CONFIGURATION]));
    expect(NO_CONFIGURATION.join('\n')).toContain('-c config=tokens.json');
  });

  it('names the file in every problem', () => {
    const { file, act } = load('{ "tokens": [{ "name": "aem-prod", "schedulMinutes": 30 }] }');
    expect(act).toThrow(`${file}: tokens["aem-prod"].schedulMinutes: unknown key (did you mean scheduleMinutes?)`);
  });

  it.each([
    [
      'a trailing comma',
      '{ "tokens": [\n  { "name": "aem-prod", }\n] }',
      'expected double-quoted property name at line 2, column 25',
    ],
    ['a bare word, never quoting the text', '{ "tokens": s3cr3t-looking-word }', "unexpected token 's'"],
    ['a cut-off file', '{ "tokens": [', 'unexpected end of JSON input'],
  ])('names the file and the place of a JSON syntax error: %s', (_what, text, detail) => {
    const { file, act } = load(text);
    expect(act).toThrow(new ConfigError([`${file}: not valid JSON: ${detail}`]));
  });

  it('names a file it cannot read', () => {
    const file = join(dir, 'missing.json');
    expect(() => loadAppConfig({ file })).toThrow(new ConfigError([`${file}: cannot read the file (no such file)`]));
  });
});

describe('app-wide keys', () => {
  it("apply to every token; a token overrides them, its own alarm key replacing both of the app's", () => {
    const config = parseAppConfig({
      alarmEmail: 'ops@example.com',
      reservedConcurrency: false,
      logRetentionDays: 731,
      removalPolicy: 'destroy',
      dashboard: false,
      tokens: [
        { name: 'a' },
        {
          name: 'b',
          alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:on-call',
          reservedConcurrency: true,
          removalPolicy: 'retain',
        },
      ],
    });
    expect(config.dashboard).toBe(false);
    expect(config.tokens[0]).toMatchObject({
      alarmEmail: 'ops@example.com',
      reservedConcurrency: false,
      logRetentionDays: 731,
      removalPolicy: 'destroy',
    });
    expect(config.tokens[1]).toEqual({
      name: 'b',
      credentialsSecret: 'create',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:on-call',
      reservedConcurrency: true,
      logRetentionDays: 731,
      removalPolicy: 'retain',
    });
  });

  it("include the network settings: a token's own vpc replaces the app's whole", () => {
    const vpc = { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0aaa1111'] };
    const other = { vpcId: 'vpc-0fedcba987654321f', subnetIds: ['subnet-0bbb2222'] };
    const config = parseAppConfig({
      vpc,
      secretsManagerEndpoint: 'create',
      httpsProxy: 'http://proxy.corp.example.com:3128',
      fips: true,
      tokens: [{ name: 'a' }, { name: 'b', vpc: other, secretsManagerEndpoint: 'existing' }],
    });
    expect(config.tokens[0]).toMatchObject({ vpc, secretsManagerEndpoint: 'create', fips: true });
    expect(config.tokens[1]).toMatchObject({
      vpc: other,
      secretsManagerEndpoint: 'existing',
      httpsProxy: 'http://proxy.corp.example.com:3128',
    });
  });

  it('default to a dashboard and nothing else', () => {
    const config = parseAppConfig({ tokens: [{ name: 'a' }] });
    expect(config).toEqual({ dashboard: true, tokens: [{ name: 'a', credentialsSecret: 'create' }] });
  });
});

describe('defaultStackName', () => {
  it('is -c stackName=… when valid, else ImsTokenRefresher', () => {
    expect(defaultStackName('AdobeTokens')).toBe('AdobeTokens');
    expect(defaultStackName(undefined)).toBe('ImsTokenRefresher');
    expect(() => defaultStackName('bad name')).toThrow(
      'context "stackName": must be a stack name: up to 128 letters, digits or hyphens, starting with a letter',
    );
  });
});

describe('configJsonSchema', () => {
  // An editor's view: the formats VS Code checks, "uri" among them.
  const validate = new Ajv({ allErrors: true, formats: { uri: (value: string) => URL.canParse(value) } }).compile(
    configJsonSchema(),
  );
  const example: unknown = JSON.parse(readFileSync(new URL('../../examples/tokens.json', import.meta.url), 'utf8'));

  it.each([
    ["the README's example configuration", example],
    [
      'every key, with "$schema"',
      { $schema: './config.schema.json', tokens: [FULL, { name: 'b', credentialsSecret: SECRET_ARN }] },
    ],
    [
      'loopback http and "create" everywhere',
      one({ imsBaseUrl: 'http://127.0.0.1:8080', credentialsSecret: 'create', encryptionKey: 'create' }),
    ],
  ])('accepts %s, as parseAppConfig does', (_what, raw) => {
    expect(problemsOf(raw)).toEqual([]);
    expect(validate(raw), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each(INVALID.filter(([, , , schema]) => schema === 'schema rejects'))(
    'rejects %s, as parseAppConfig does',
    (_what, raw) => {
      expect(validate(raw)).toBe(false);
    },
  );

  it.each(INVALID.filter(([, , , schema]) => schema === 'synth only'))('cannot tell %s: synth does', (_what, raw) => {
    expect(validate(raw)).toBe(true);
  });

  it('is draft-07, describes every token key, and completes "create"', () => {
    const schema = configJsonSchema() as {
      $schema: string;
      properties: { tokens: { items: { properties: Record<string, { description?: string; anyOf?: unknown[] }> } } };
    };
    const keys = schema.properties.tokens.items.properties;
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    // FULL holds every key but alarmEmail, which cannot go with its alarmTopicArn.
    expect(Object.keys(keys).filter((key) => key !== 'alarmEmail')).toEqual(Object.keys(FULL));
    expect(Object.values(keys).every((key) => key.description)).toBe(true);
    expect(keys.credentialsSecret.anyOf).toContainEqual({ const: 'create' });
  });
});

describe('limits shared with common/rules.ts', () => {
  type Key = { description: string; [keyword: string]: unknown };
  const schema = configJsonSchema() as { properties: { tokens: { items: { properties: Record<string, Key> } } } };
  const keys = schema.properties.tokens.items.properties;
  const validate = new Ajv({ allErrors: true, formats: { uri: true } }).compile(configJsonSchema());

  it('refreshThreshold: the schema bounds are where refreshThresholdProblem() draws them, with its message', () => {
    const { exclusiveMinimum: low, exclusiveMaximum: high } = keys.refreshThreshold as Key & Record<string, number>;
    expect([low, high].map(refreshThresholdProblem)).toEqual([expect.any(String), expect.any(String)]);
    expect([low + 1e-9, high - 1e-9].map(refreshThresholdProblem)).toEqual([undefined, undefined]);
    expect(problemsOf(one({ refreshThreshold: high }))).toEqual([
      `tokens.json: tokens["a"].refreshThreshold: ${refreshThresholdProblem(high)!}`,
    ]);
    const range = `between ${low} and ${high} (default ${DEFAULT_REFRESH_THRESHOLD})`;
    expect(keys.refreshThreshold.description).toContain(range);
  });

  it('credentialsExpiryWarning: the range and default of CREDENTIALS_EXPIRY_WARNING_DAYS', () => {
    const { min, max, default: days } = CREDENTIALS_EXPIRY_WARNING_DAYS;
    expect(keys.credentialsExpiryWarning).toMatchObject({ minimum: min, maximum: max });
    expect(keys.credentialsExpiryWarning.description).toContain(`${min}-${max} (default ${days})`);
    expect([min, days, max].flatMap((warning) => problemsOf(one({ credentialsExpiryWarning: warning })))).toEqual([]);
  });

  it('rotateClientSecret: everyDays and retireAfterHours have the ranges of ROTATION_EVERY_DAYS and RETIRE_AFTER_HOURS', () => {
    const rotation = (keys.rotateClientSecret as Key & { properties: Record<string, Key> }).properties;
    const days = ROTATION_EVERY_DAYS;
    const hours = RETIRE_AFTER_HOURS;
    expect(rotation.everyDays).toMatchObject({ minimum: days.min, maximum: days.max });
    expect(rotation.retireAfterHours).toMatchObject({ minimum: hours.min, maximum: hours.max });
    expect(rotation.retireAfterHours.description).toContain(`${hours.min}-${hours.max} (default ${hours.default})`);
    // Where the shared rules draw the line, the file draws it too.
    expect(
      [days.min - 1, days.min, days.max, days.max + 1].map((d) => rotationEveryDaysProblem(d) === undefined),
    ).toEqual(
      [days.min - 1, days.min, days.max, days.max + 1].map(
        (d) => problemsOf(one({ rotateClientSecret: { everyDays: d } })).length === 0,
      ),
    );
    expect([hours.min - 1, hours.max, hours.max + 1, 1.5].map((h) => retireAfterHoursProblem(h) === undefined)).toEqual(
      [hours.min - 1, hours.max, hours.max + 1, 1.5].map(
        (h) => problemsOf(one({ rotateClientSecret: { everyDays: 30, retireAfterHours: h } })).length === 0,
      ),
    );
  });

  it.each(['111111111111', '11111111111', '1111111111111'])(
    'account id %s: ACCOUNT_ID decides, bare and in an ARN, for the loader and the schema alike',
    (account) => {
      const raw = one({ encryptionKey: 'create', crossAccountReaders: [account, `arn:aws:iam::${account}:root`] });
      const valid = ACCOUNT_ID.test(account);
      const at = (index: number) => `tokens.json: tokens["a"].crossAccountReaders[${index}]`;
      expect(problemsOf(raw)).toEqual(valid ? [] : [0, 1].map((index) => `${at(index)}: account id must be 12 digits`));
      expect(validate(raw)).toBe(valid);
    },
  );
});

describe('rotateClientSecret at the top level', () => {
  it("applies to every token, and a token's own replaces it whole", () => {
    const config = parseAppConfig({
      rotateClientSecret: { everyDays: 90 },
      tokens: [{ name: 'a' }, { name: 'b', rotateClientSecret: { everyDays: 30, retireAfterHours: 6 } }],
    });
    expect(config.tokens.map((token) => token.rotateClientSecret)).toEqual([
      { everyDays: 90 },
      { everyDays: 30, retireAfterHours: 6 },
    ]);
  });
});

describe('tokensByStack', () => {
  it('groups tokens by their "stack", the rest in the default stack, keeping configuration order', () => {
    const config = parseAppConfig({
      tokens: [{ name: 'a' }, { name: 'b', stack: 'Other' }, { name: 'c' }, { name: 'd', stack: 'Other' }],
    });
    const names = [...tokensByStack(config, 'Main')].map(([stack, tokens]) => [stack, tokens.map((t) => t.name)]);
    expect(names).toEqual([
      ['Main', ['a', 'c']],
      ['Other', ['b', 'd']],
    ]);
  });
});

describe('configSummary', () => {
  it('names the source, counts the tokens and lists the stacks, in configuration order', () => {
    const stacks = (raw: unknown) => tokensByStack(parseAppConfig(raw), 'ImsTokenRefresher');
    expect(configSummary('tokens.json', stacks({ tokens: [{ name: 'a' }] }))).toBe(
      'configuration from tokens.json: 1 token in stack ImsTokenRefresher',
    );
    expect(
      configSummary(CONTEXT_SOURCE, stacks({ tokens: [{ name: 'a', stack: 'Other' }, { name: 'b' }, { name: 'c' }] })),
    ).toBe(`configuration from ${CONTEXT_SOURCE}: 3 tokens in stacks Other, ImsTokenRefresher`);
  });
});
