/**
 * The configuration file: every key once, with its rule (rules.ts) and the description editors
 * show. Limits that other parts of the product check too come from common/rules.ts.
 */
import {
  ADOBE_ID,
  ADOBE_ID_MESSAGE,
  ADOBE_ORG_ID,
  ADOBE_ORG_ID_MESSAGE,
  CREDENTIALS_EXPIRY_WARNING_DAYS,
  DEFAULT_REFRESH_THRESHOLD,
  parseImsBaseUrl,
  REFRESH_THRESHOLD_BOUNDS,
  refreshThresholdProblem,
  RETIRE_AFTER_HOURS,
  ROTATION_EVERY_DAYS,
} from '../../common/rules.js';
import { CREDENTIALS_TYPES } from '../../common/token.js';
import { CDK_STACK_CHILD_IDS, LIMITS, SECRET_NAME_CHAR } from '../limits.js';
import { httpsProxyProblem, NO_PROXY_ENTRY, NO_PROXY_MESSAGE, SECRETS_MANAGER_ENDPOINT_CHOICES } from '../network.js';
import {
  ACCOUNT,
  ACCOUNT_MESSAGE,
  BOOLEAN,
  PARTITION,
  REGION,
  anyOf,
  arn,
  between,
  except,
  isObject,
  list,
  notBoth,
  object,
  problem,
  text,
  unanchored,
  word,
  wholeNumber,
  type Field,
  type Problem,
  type Rule,
} from './rules.js';
import type { SharedConfig, TokenConfig } from './types.js';

const NAME = /[A-Za-z][A-Za-z0-9-]{0,39}/;
/** Construct ids next to the tokens' in a stack: the stack's dashboard, and CDK's own. */
const RESERVED_NAMES = ['Dashboard', ...CDK_STACK_CHILD_IDS];
const SECRET_NAME = new RegExp(`${SECRET_NAME_CHAR.source}{1,${LIMITS.secretName}}`);
const SECRET_NAME_MESSAGE = `must be a secret name: up to ${LIMITS.secretName} of A-Z a-z 0-9 /_+=.@-`;

/** An IAM role or user ARN, as a request's `aws:PrincipalArn` carries it (with the path). */
const ROLE_OR_USER_ARN = arn({
  what: 'an IAM role or user ARN',
  form: 'arn:aws:iam::<account>:role/<path/><name>',
  service: 'iam',
  regional: false,
  types: ['role', 'user'],
  resource: /(?:role|user)\/[\w+=,.@/-]+/,
});
const ROLE_OR_USER_ARNS = list(ROLE_OR_USER_ARN, 'IAM role or user ARNs');

/** A bare account id; digits alone are evidently meant as one. */
const BARE_ACCOUNT_ID: Rule = { ...text(ACCOUNT, ACCOUNT_MESSAGE), claims: (value) => /^\d+$/.test(String(value)) };

/** A secret of this account and region by name, or by its complete ARN. */
const SECRET_ARN = arn({
  what: 'a Secrets Manager secret ARN',
  form: 'arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>',
  service: 'secretsmanager',
  regional: true,
  types: ['secret'],
  resource: new RegExp(`secret:${SECRET_NAME_CHAR.source}{1,${LIMITS.secretName}}-[A-Za-z0-9]{6}`),
  resourceHint:
    'must be a complete ARN, ending in the 6-character suffix Secrets Manager adds (as the console shows it), ' +
    "or just the secret's name",
});

const KMS_KEY_ARN = arn({
  what: 'a KMS key ARN',
  form: 'arn:aws:kms:<region>:<account>:key/<key id>',
  service: 'kms',
  regional: true,
  types: ['key'],
  resource: /key\/[A-Za-z0-9-]+/,
});

/** Another account, or a principal in one. */
const CROSS_ACCOUNT_READER = anyOf(
  'a 12-digit account id or an IAM role, user or root ARN',
  BARE_ACCOUNT_ID,
  arn({
    what: 'an IAM role, user or root ARN',
    form: 'arn:aws:iam::<account>:role/<name>',
    service: 'iam',
    regional: false,
    types: ['root', 'role', 'user'],
    resource: /root|(?:role|user)\/[\w+=,.@/-]+/,
  }),
);

/** A URL for IMS (or I/O Management API) requests; the Lambda's own rule (`parseImsBaseUrl`) decides, so synth and run agree. */
const IMS_URL: Rule = {
  schema: { type: 'string', format: 'uri' },
  check: (value) => {
    if (typeof value !== 'string' || value.trim() === '') return [problem('must be a URL')];
    try {
      parseImsBaseUrl(value, '');
      return [];
    } catch (error) {
      // Named '' above, the message is the rule alone: "must use https (…)".
      return [problem((error as Error).message.trim())];
    }
  },
};

/** CloudWatch Logs' retention periods, in days. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const LOG_RETENTION: Rule = {
  schema: { enum: LOG_RETENTION_DAYS },
  check: (value) =>
    LOG_RETENTION_DAYS.includes(value as number)
      ? []
      : [problem(`must be one of ${LOG_RETENTION_DAYS.join(', ')} (days)`)],
};

/** An EC2 resource id of `prefix` (`vpc`, `subnet`, `sg`): the prefix, "-" and 8 or 17 hex digits. */
const ec2Id = (prefix: string, what: string): Rule =>
  text(new RegExp(`${prefix}-(?:[0-9a-f]{8}|[0-9a-f]{17})`), `must be ${what} id (${prefix}- and 8 or 17 hex digits)`);

const VPC: Rule = object(
  {
    vpcId: { required: true, description: "The VPC's id.", rule: ec2Id('vpc', 'a VPC') },
    subnetIds: {
      required: true,
      description:
        'Subnets of the VPC the function runs in, with a route out (NAT gateway) or to the proxy; a created ' +
        'Secrets Manager endpoint goes in them too (at most one per Availability Zone).',
      rule: list(ec2Id('subnet', 'a subnet'), 'subnet ids'),
    },
    securityGroupIds: {
      description: "The function's security groups, used as they are (default: one created, TCP 443 out only).",
      rule: list(ec2Id('sg', 'a security group'), 'security group ids'),
    },
  },
  'an object with "vpcId" and "subnetIds"',
);

/** A proxy URL; the construct's own rule (`httpsProxyProblem`) decides, and no message repeats the value. */
const HTTPS_PROXY: Rule = {
  schema: { type: 'string', pattern: '^http://' },
  check: (value) => {
    const message = httpsProxyProblem(value);
    return message === undefined ? [] : [problem(message)];
  },
};

const ROTATION: Rule = object(
  {
    everyDays: {
      required: true,
      description: `Days between rotations, ${ROTATION_EVERY_DAYS.min}-${ROTATION_EVERY_DAYS.max}.`,
      rule: wholeNumber('days', ROTATION_EVERY_DAYS.min, ROTATION_EVERY_DAYS.max),
    },
    orgId: {
      description:
        'The numeric Developer Console org id (e.g. "23294"), for flat OAuth credentials; a Developer Console ' +
        'project download carries it (project.org.id) and must agree.',
      rule: text(unanchored(ADOBE_ORG_ID), ADOBE_ORG_ID_MESSAGE),
    },
    credentialId: {
      description:
        "The credential's Developer Console id, for flat OAuth credentials; a project download carries it and must agree.",
      rule: text(unanchored(ADOBE_ID), ADOBE_ID_MESSAGE),
    },
    retireAfterHours: {
      description:
        `Delete the previous secret once Adobe has seen it unused for this many hours, ${RETIRE_AFTER_HOURS.min}-` +
        `${RETIRE_AFTER_HOURS.max} (default ${RETIRE_AFTER_HOURS.default}); else the next rotation deletes it.`,
      rule: wholeNumber('hours', RETIRE_AFTER_HOURS.min, RETIRE_AFTER_HOURS.max),
    },
  },
  'an object with "everyDays"',
);

/** The keys a token may set and the app may set for all tokens; `satisfies` keeps them and `SharedConfig` in step. */
export const SHARED_FIELDS = {
  alarmTopicArn: {
    description:
      'An existing SNS topic the alarms notify (alarm and OK), e.g. your on-call topic. Not with "alarmEmail".',
    rule: text(
      new RegExp(`arn:${PARTITION.source}:sns:${REGION.source}:${ACCOUNT.source}:[A-Za-z0-9_-]{1,256}(?:\\.fifo)?`),
      'must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic name>)',
    ),
  },
  alarmEmail: {
    description:
      'An email address the alarms notify: the stack creates a KMS-encrypted topic with this subscription ' +
      '(confirm the email AWS sends). Not with "alarmTopicArn".',
    rule: text(/[^@\s]+@[^@\s]+\.[^@\s]+/, 'must be an email address'),
  },
  reservedConcurrency: {
    description:
      'Reserve one concurrent execution per token so runs never overlap (default true). Set false in ' +
      'accounts whose Lambda concurrency quota is too low; overlapping runs stay correct.',
    rule: BOOLEAN,
  },
  logRetentionDays: {
    description: `Days the function's logs are kept (default 365): one of ${LOG_RETENTION_DAYS.join(', ')}.`,
    rule: LOG_RETENTION,
  },
  removalPolicy: {
    description:
      'What stack removal does with the created credentials secret, the log group and created KMS keys: ' +
      '"retain" keeps them (default), "destroy" deletes them (the secret at once, no recovery window, ' +
      'keys after 7 days). The alarm topics\' key is deleted only when every token using it says "destroy".',
    rule: word('retain', 'destroy'),
  },
  vpc: {
    description:
      'Run the function in this VPC: {"vpcId", "subnetIds", "securityGroupIds"?}. It still needs a way to Adobe ' +
      'IMS and Secrets Manager: a NAT gateway, "httpsProxy", "secretsManagerEndpoint".',
    rule: VPC,
  },
  secretsManagerEndpoint: {
    description:
      '"create": an interface VPC endpoint for Secrets Manager with private DNS in the subnets (one per VPC for the ' +
      'app, about $15 a month with two subnets); "existing": the VPC has one. Needs "vpc".',
    rule: word(...SECRETS_MANAGER_ENDPOINT_CHOICES),
  },
  httpsProxy: {
    description:
      'A forward proxy (HTTP CONNECT) for the IMS call, and for the AWS calls "noProxy" does not name: ' +
      'http://host:port, without credentials (see "proxyCredentialsSecret").',
    rule: HTTPS_PROXY,
  },
  noProxy: {
    description:
      'Host names or domain suffixes (".corp.example.com") reached without the proxy (default: the Secrets ' +
      'Manager host with "secretsManagerEndpoint" or "proxyCredentialsSecret", else none). Needs "httpsProxy".',
    rule: list(text(NO_PROXY_ENTRY, NO_PROXY_MESSAGE), 'host names or domain suffixes'),
  },
  proxyCredentialsSecret: {
    description:
      "The name (same account and region) or complete ARN of a secret holding the proxy's credentials as " +
      '{"username": "…", "password": "…"}; the function reads it. Needs "httpsProxy". Not "create": the stack ' +
      'makes no proxy secret.',
    rule: except(anyOf('a secret name or a complete secret ARN', text(SECRET_NAME, SECRET_NAME_MESSAGE), SECRET_ARN), [
      'create',
    ]),
  },
  fips: {
    description:
      'Call AWS through FIPS endpoints (default false); only in regions that have them for Secrets Manager (US, ' +
      'Canada, GovCloud), so the stack needs a known region.',
    rule: BOOLEAN,
  },
  rotateClientSecret: {
    description:
      'Rotate the OAuth Server-to-Server client secret through Adobe\'s I/O Management API: {"everyDays", "orgId"?, ' +
      '"credentialId"?, "retireAfterHours"?} (default off). Needs "credentialsType": "oauth"; a deploy never ' +
      'rotates by itself.',
    rule: ROTATION,
  },
} satisfies { readonly [K in keyof SharedConfig]-?: Field };

const { low, high } = REFRESH_THRESHOLD_BOUNDS;
const EXPIRY_WARNING = CREDENTIALS_EXPIRY_WARNING_DAYS;

/** The keys of one token; `satisfies` keeps them and `TokenConfig` in step. */
export const TOKEN_FIELDS = {
  name: {
    required: true,
    description:
      'Unique name (ignoring case): 1-40 letters, digits or hyphens, starting with a letter; not ' +
      `${RESERVED_NAMES.map((name) => `"${name}"`).join(', ')}. ` +
      'The construct id; renaming replaces the resources, reordering does not.',
    rule: except(text(NAME, 'must be 1-40 letters, digits or hyphens, starting with a letter'), RESERVED_NAMES),
  },
  credentialsSecret: {
    default: 'create',
    description:
      '"create" for a new secret to upload the credentials into, or an existing secret\'s name (same ' +
      'account and region) or complete ARN, with the 6-character suffix Secrets Manager adds.',
    rule: anyOf(
      '"create", a secret name or a complete secret ARN',
      word('create'),
      text(SECRET_NAME, SECRET_NAME_MESSAGE),
      SECRET_ARN,
    ),
  },
  scheduleMinutes: {
    description: 'How often to check the token, in minutes (default 60).',
    rule: wholeNumber('minutes', 1),
  },
  refreshThreshold: {
    description:
      `Renew when this share of the token's life or less is left, between ${low} and ${high} ` +
      `(default ${DEFAULT_REFRESH_THRESHOLD}).`,
    rule: between(low, high, refreshThresholdProblem),
  },
  imsBaseUrl: {
    description:
      'Send IMS requests here (a proxy) instead of https://{imsEndpoint}: https (plain http only to ' +
      '127.0.0.1 or localhost), no query, fragment or user info.',
    rule: IMS_URL,
  },
  adobeApiBaseUrl: {
    description:
      'Send Adobe I/O Management API requests (client secret rotation) here instead of https://api.adobe.io: ' +
      'https (plain http only to 127.0.0.1 or localhost), no query, fragment or user info. Needs "rotateClientSecret".',
    rule: IMS_URL,
  },
  credentialsType: {
    description: "The kind of credentials; default: detected from the secret's shape.",
    rule: word(...CREDENTIALS_TYPES),
  },
  credentialName: {
    description:
      'The name or id of the OAuth Server-to-Server credential to use when the credentials are an Adobe ' +
      'Developer Console project download holding several (default: its only one).',
    rule: text(/\S(?:.*\S)?/, "must be a credential's name or id: not empty, no line breaks, no spaces at either end"),
  },
  credentialsExpiryWarning: {
    description:
      'Alarm when the certificate in AEM service credentials expires in fewer than this many days, ' +
      `${EXPIRY_WARNING.min}-${EXPIRY_WARNING.max} (default ${EXPIRY_WARNING.default}); not with "credentialsType": "oauth".`,
    rule: wholeNumber('days', EXPIRY_WARNING.min, EXPIRY_WARNING.max),
  },
  tokenSecretName: {
    description:
      'Physical name of the token secret, unique across tokens and not a credentials secret (default: generated).',
    rule: text(SECRET_NAME, SECRET_NAME_MESSAGE),
  },
  encryptionKey: {
    description:
      '"create" for a new customer-managed KMS key with rotation, or a KMS key ARN, for the token secret ' +
      'and a created credentials secret (default: the AWS managed key).',
    rule: anyOf('"create" or a KMS key ARN', word('create'), KMS_KEY_ARN),
  },
  crossAccountReaders: {
    description:
      '12-digit account ids or IAM role, user or root ARNs of other accounts that may read the token; ' +
      'needs "encryptionKey".',
    needs: { key: 'encryptionKey', because: 'other accounts cannot decrypt the AWS managed key' },
    rule: list(CROSS_ACCOUNT_READER, '12-digit account ids or IAM role, user or root ARNs'),
  },
  replicaRegions: {
    description: 'Regions to replicate the token secret to, e.g. ["us-east-1"].',
    rule: list(text(REGION, 'must be a region name like "eu-west-1"'), 'region names like "eu-west-1"'),
  },
  restrictCredentialsReaders: {
    description:
      'Deny secretsmanager:GetSecretValue on the credentials secret to every principal but the refresher ' +
      'and "credentialsReaders" (default: true for a created secret, false for an existing one, whose resource ' +
      'policy it replaces).',
    rule: BOOLEAN,
  },
  credentialsReaders: {
    description:
      'IAM role or user ARNs of this account, with their paths, that may still read the credentials ' +
      'secret (break-glass roles); their IAM policies must allow it too.',
    rule: ROLE_OR_USER_ARNS,
  },
  restrictTokenReaders: {
    description:
      'Deny secretsmanager:GetSecretValue on the token secret to every principal but the refresher, ' +
      '"crossAccountReaders" and "tokenReaders" (default false).',
    rule: BOOLEAN,
  },
  tokenReaders: {
    description:
      'IAM role or user ARNs of this account, with their paths, that may read the token under ' +
      '"restrictTokenReaders"; their IAM policies must allow it too.',
    needs: { key: 'restrictTokenReaders', because: 'without it, IAM policies alone decide who reads the token' },
    rule: ROLE_OR_USER_ARNS,
  },
  stack: {
    description:
      'The CloudFormation stack this token lives in (default: ImsTokenRefresher, or -c stackName=…); ' +
      'about 23 tokens fit in one.',
    rule: text(
      /[A-Za-z][A-Za-z0-9-]{0,127}/,
      'must be a stack name: up to 128 letters, digits or hyphens, starting with a letter',
    ),
  },
  ...SHARED_FIELDS,
} satisfies { readonly [K in keyof TokenConfig]-?: Field };

/** A token is named by its name in messages once that name is valid, else by its index. */
function tokenLabel(entry: unknown, index: number): string {
  const name = isObject(entry) ? entry.name : undefined;
  return TOKEN_FIELDS.name.rule.check(name).length === 0 ? JSON.stringify(name) : String(index);
}

/** The value of `key` in a token when it is valid, else undefined. */
function validValue(entry: unknown, key: 'name' | 'credentialsSecret' | 'tokenSecretName'): string | undefined {
  const value = isObject(entry) ? entry[key] : undefined;
  return value !== undefined && TOKEN_FIELDS[key].rule.check(value).length === 0 ? (value as string) : undefined;
}

/**
 * What no single token shows: names must differ (ignoring case), and each `tokenSecretName` must
 * name a new secret, neither another token's nor a credentials secret; else deploy would fail.
 */
function sharedNames(entries: readonly unknown[], labels: readonly string[]): Problem[] {
  // What holds each name first: "the name of tokens["a"]".
  const names = new Map<string, string>();
  const secrets = new Map<string, string>();
  entries.forEach((entry, index) => {
    const secret = validValue(entry, 'credentialsSecret');
    if (secret && secret !== 'create' && !secret.startsWith('arn:') && !secrets.has(secret)) {
      secrets.set(secret, `the credentialsSecret of tokens${labels[index]}`);
    }
  });
  const unique = [
    {
      key: 'name',
      held: names,
      normalize: (name: string) => name.toLowerCase(),
      why: 'names must differ, ignoring case',
    },
    {
      key: 'tokenSecretName',
      held: secrets,
      normalize: (name: string) => name,
      why: 'each token needs a new secret of its own',
    },
  ] as const;
  return entries.flatMap((entry, index) =>
    unique.flatMap(({ key, held, normalize, why }) => {
      const value = validValue(entry, key);
      if (value === undefined) return [];
      const first = held.get(normalize(value));
      if (first) return [problem(`also ${first} (${why})`, `${labels[index]}.${key}`)];
      held.set(normalize(value), `the ${key} of tokens${labels[index]}`);
      return [];
    }),
  );
}

const TOKENS = list(notBoth(object(TOKEN_FIELDS, 'an object'), 'alarmTopicArn', 'alarmEmail'), 'tokens', {
  label: tokenLabel,
  across: sharedNames,
});

/** The whole file: its tokens, the app-wide keys, and one alarm target at most. */
export const APP_RULE = notBoth(
  object(
    {
      $schema: { description: 'The JSON Schema of this file, for editors.', rule: text(undefined, 'must be a string') },
      tokens: {
        required: true,
        description:
          'The tokens to keep fresh: each becomes its own refresher (function, schedule, token secret, alarms).',
        rule: TOKENS,
      },
      dashboard: {
        description:
          'One CloudWatch dashboard for all tokens of the app, in its first stack ($3 a month; default true).',
        rule: BOOLEAN,
      },
      ...SHARED_FIELDS,
    },
    'an object with a "tokens" list',
  ),
  'alarmTopicArn',
  'alarmEmail',
);
