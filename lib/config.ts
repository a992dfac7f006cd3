import { readFileSync } from 'node:fs';
import { Duration } from 'aws-cdk-lib';
import { DEFAULT_REFRESH_THRESHOLD, parseImsBaseUrl } from '../common/rules.js';

/** One token to keep fresh, as written in `cdk.json` context or the config file (keys: `TOKEN_FIELDS`). */
export interface TokenConfig {
  /** Unique name: letters, digits and hyphens; the construct id (metrics: `service` = `<stack>/<name>`). */
  readonly name: string;
  /** `"create"` for a new credentials secret, or the name or complete ARN of an existing one. */
  readonly credentialsSecret: string;
  readonly scheduleMinutes?: number;
  readonly refreshThreshold?: number;
  readonly imsBaseUrl?: string;
  readonly credentialsType?: 'jwt' | 'oauth';
  /** The `name` or `id` of one OAuth Server-to-Server credential in a Developer Console project download. */
  readonly credentialName?: string;
  /** Days before the credentials' certificate expires at which its alarm fires (1-365). */
  readonly credentialsExpiryWarning?: number;
  readonly tokenSecretName?: string;
  /** `"create"` for a new customer-managed KMS key, or the ARN of an existing one. */
  readonly encryptionKey?: string;
  /** 12-digit account ids or IAM principal ARNs of other accounts that may read the token. */
  readonly crossAccountReaders?: readonly string[];
  /** Regions the token secret is replicated to. */
  readonly replicaRegions?: readonly string[];
  /** Deny reading the credentials secret to all but the refresher and `credentialsReaders` (default: true for "create"). */
  readonly restrictCredentialsReaders?: boolean;
  /** IAM role or user ARNs of this account that may still read the credentials secret: break-glass roles. */
  readonly credentialsReaders?: readonly string[];
  /** Deny reading the token secret to all but the refresher, `crossAccountReaders` and `tokenReaders` (default false). */
  readonly restrictTokenReaders?: boolean;
  /** IAM role or user ARNs of this account that may read the token under `restrictTokenReaders`. */
  readonly tokenReaders?: readonly string[];
  /** The stack this token belongs to; about 23 tokens fit in one (CloudFormation's quotas; synth says when one is full). */
  readonly stack?: string;
  /** An existing SNS topic the alarms notify; overrides the app's `alarmTopicArn` and `alarmEmail`. */
  readonly alarmTopicArn?: string;
  /** An email address the alarms notify through a topic the stack creates; overrides the app's alarm keys. */
  readonly alarmEmail?: string;
  /** Reserve one concurrent execution for the function (default true). */
  readonly reservedConcurrency?: boolean;
  /** Days the function's logs are kept, one of CloudWatch Logs' values (default 365). */
  readonly logRetentionDays?: number;
}

/** The keys that may be set for the whole app and overridden by a token. */
export type SharedConfig = Pick<TokenConfig, 'alarmTopicArn' | 'alarmEmail' | 'reservedConcurrency' | 'logRetentionDays'>;

export interface AppConfig extends SharedConfig {
  /** Each token with the app's shared keys applied (a token's own alarm key replaces both of the app's). */
  readonly tokens: readonly TokenConfig[];
  /** One CloudWatch dashboard for all tokens, in the first stack (default true). */
  readonly dashboard: boolean;
}

/** What names the configuration in messages when it comes from cdk.json rather than a file. */
export const CONTEXT_SOURCE = 'cdk.json context "imsTokenRefresher"';

/**
 * A configuration that cannot be deployed: one line per problem in `problems`, each naming the
 * source (when given), the token and the key, e.g.
 * `tokens.json: tokens["aem-prod"].schedulMinutes: unknown key (did you mean scheduleMinutes?)`.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

// ---------------------------------------------------------------------------------------------
// Rules: each says a value's shape once, as JSON Schema for editors and as a check for people.
// ---------------------------------------------------------------------------------------------

/** A JSON Schema (draft-07) fragment. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** One problem: `at` is the path below the value checked (`.key`, `[2]`), `message` what was expected. */
interface Problem {
  readonly at: string;
  readonly message: string;
}

interface Rule {
  readonly schema: JsonSchema;
  /** Every problem with `value`; none when it is valid. */
  check(value: unknown): Problem[];
  /** Whether `value` was evidently meant for this rule, so its own diagnosis beats a generic one. */
  claims?(value: unknown): boolean;
}

/** One key of an object: its rule and what the schema tells editors about it. */
interface Field {
  readonly description: string;
  readonly rule: Rule;
  readonly required?: boolean;
  /** Applied when the key is absent, and shown by editors. */
  readonly default?: string;
  /** Another key that must be present with this one, and why (JSON Schema `dependencies`). */
  readonly needs?: { readonly key: string; readonly because: string };
}

const problem = (message: string, at = ''): Problem => ({ at, message });
const under = (at: string, problems: Problem[]): Problem[] => problems.map((p) => ({ ...p, at: at + p.at }));
const anchored = (pattern: RegExp) => new RegExp(`^(?:${pattern.source})$`);
/** `.key`, or `["odd key"]` for a key that would not read as one word (one line per problem, always). */
const keyPath = (key: string) => (/^[$\w-]+$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);

/** A string, matching `pattern` when one is given; else `message`. */
function text(pattern: RegExp | undefined, message: string): Rule {
  const whole = pattern && anchored(pattern);
  return {
    schema: { type: 'string', ...(whole ? { pattern: whole.source } : {}) },
    check: (value) => (typeof value === 'string' && (!whole || whole.test(value)) ? [] : [problem(message)]),
  };
}

/** One of a few fixed words. */
function word(...words: string[]): Rule {
  return {
    schema: words.length === 1 ? { const: words[0] } : { enum: words },
    check: (value) => (words.includes(value as string) ? [] : [problem(`must be ${words.map((w) => `"${w}"`).join(' or ')}`)]),
  };
}

/** `rule`, except for the `reserved` words. */
function except(rule: Rule, reserved: readonly string[]): Rule {
  return {
    schema: { ...rule.schema, not: { enum: reserved } },
    check: (value) => {
      const problems = rule.check(value);
      if (problems.length > 0 || !reserved.includes(value as string)) return problems;
      return [problem(`"${value as string}" is reserved; choose another`)];
    },
  };
}

/** A whole number of `unit`, at least `minimum` and, when given, at most `maximum`. */
function wholeNumber(unit: string, minimum: number, maximum?: number): Rule {
  const range = maximum === undefined ? `at least ${minimum}` : `from ${minimum} to ${maximum}`;
  return {
    schema: { type: 'integer', minimum, ...(maximum === undefined ? {} : { maximum }) },
    check: (value) =>
      Number.isInteger(value) && (value as number) >= minimum && (value as number) <= (maximum ?? Infinity)
        ? []
        : [problem(`must be a whole number of ${unit}, ${range}`)],
  };
}

/** true or false. */
const BOOLEAN: Rule = {
  schema: { type: 'boolean' },
  check: (value) => (typeof value === 'boolean' ? [] : [problem('must be true or false')]),
};

/** A number strictly between `low` and `high`. */
function between(low: number, high: number): Rule {
  return {
    schema: { type: 'number', exclusiveMinimum: low, exclusiveMaximum: high },
    check: (value) =>
      typeof value === 'number' && value > low && value < high
        ? []
        : [problem(`must be a number between ${low} and ${high} (exclusive)`)],
  };
}

/** Any of `rules`; a value that one rule claims gets its diagnosis, any other "must be `expected`". */
function anyOf(expected: string, ...rules: Rule[]): Rule {
  return {
    schema: { anyOf: rules.map((rule) => rule.schema) },
    check: (value) => {
      if (rules.some((rule) => rule.check(value).length === 0)) return [];
      const claimant = rules.find((rule) => rule.claims?.(value));
      return claimant ? claimant.check(value) : [problem(`must be ${expected}`)];
    },
  };
}

/** A non-empty list of distinct items, each named in messages by `label` (default: its index). */
function list(
  item: Rule,
  expected: string,
  options: {
    label?: (item: unknown, index: number) => string;
    /** Problems between items that no single item shows. */
    across?: (items: readonly unknown[], labels: readonly string[]) => Problem[];
  } = {},
): Rule {
  return {
    schema: { type: 'array', minItems: 1, uniqueItems: true, items: item.schema },
    check: (value) => {
      if (!Array.isArray(value) || value.length === 0) return [problem(`must be a non-empty list of ${expected}`)];
      const labels = value.map((entry, index) => `[${options.label?.(entry, index) ?? index}]`);
      return [
        ...value.flatMap((entry, index) => [
          ...under(labels[index]!, item.check(entry)),
          ...(typeof entry === 'string' && value.indexOf(entry) < index
            ? [problem(`"${entry}" is listed twice`, labels[index])]
            : []),
        ]),
        ...(options.across?.(value, labels) ?? []),
      ];
    },
  };
}

/** An object with exactly `fields`; `expected` completes "must be …". */
function object(fields: Readonly<Record<string, Field>>, expected: string): Rule {
  const entries = Object.entries(fields);
  const needs = entries.filter(([, field]) => field.needs);
  return {
    schema: {
      type: 'object',
      properties: Object.fromEntries(
        entries.map(([key, { description, rule, default: value }]) => [
          key,
          { description, ...(value === undefined ? {} : { default: value }), ...rule.schema },
        ]),
      ),
      required: entries.filter(([, field]) => field.required).map(([key]) => key),
      additionalProperties: false,
      ...(needs.length > 0 ? { dependencies: Object.fromEntries(needs.map(([key, field]) => [key, [field.needs!.key]])) } : {}),
    },
    check: (value) => {
      if (!isObject(value)) return [problem(`must be ${expected}`)];
      const unknown = Object.keys(value).filter((key) => !Object.hasOwn(fields, key));
      return [
        ...unknown.map((key) => problem(`unknown key${didYouMean(key, Object.keys(fields))}`, keyPath(key))),
        ...entries.flatMap(([key, field]): Problem[] => {
          if (value[key] === undefined) return field.required ? [problem('required key is missing', `.${key}`)] : [];
          const found = under(`.${key}`, field.rule.check(value[key]));
          if (field.needs && value[field.needs.key] === undefined) {
            found.push(problem(`needs "${field.needs.key}": ${field.needs.because}`, `.${key}`));
          }
          return found;
        }),
      ];
    },
  };
}

/** How an ARN of the kind a field expects looks. */
interface ArnShape {
  /** What the field expects, in words: "a KMS key ARN". */
  readonly what: string;
  /** Its form, in messages: "arn:aws:kms:<region>:<account>:key/<key id>". */
  readonly form: string;
  readonly service: string;
  /** IAM ARNs name no region. */
  readonly regional: boolean;
  /** Resource types accepted: the resource part up to its first "/" or ":". */
  readonly types: readonly string[];
  /** The whole resource part. */
  readonly resource: RegExp;
  /** Said when only the resource part is wrong; default: what was expected. */
  readonly resourceHint?: string;
}

const PARTITION = /aws[a-z-]*/;
const REGION = /[a-z]{2}(?:-[a-z]+)+-\d/;
const ACCOUNT = /\d{12}/;
const ACCOUNT_MESSAGE = 'account id must be 12 digits';

/** An ARN of `shape`; messages say which part is wrong and what was expected. */
function arn(shape: ArnShape): Rule {
  const region = shape.regional ? REGION.source : '';
  const rule = text(
    new RegExp(`arn:${PARTITION.source}:${shape.service}:${region}:${ACCOUNT.source}:(?:${shape.resource.source})`),
    `must be ${shape.what} (${shape.form})`,
  );
  return {
    schema: rule.schema,
    claims: (value) => typeof value === 'string' && value.startsWith('arn:'),
    check: (value) => (rule.check(value).length === 0 ? [] : diagnoseArn(shape, value)),
  };
}

function diagnoseArn(shape: ArnShape, value: unknown): Problem[] {
  const expected = `expected ${shape.what} (${shape.form})`;
  const parts = typeof value === 'string' ? value.split(':') : [];
  if (parts.length < 6 || parts[0] !== 'arn') return [problem(`${expected}; this is not a complete ARN`)];
  const [, partition, service, region, account, ...rest] = parts as [string, string, string, string, string, ...string[]];
  const resource = rest.join(':');
  const type = resource.split(/[/:]/)[0]!;
  if (service !== shape.service || !shape.types.includes(type)) {
    return [problem(`${expected}, got ${/^[aeiou]/.test(service) ? 'an' : 'a'} ${service} ${type} ARN`)];
  }
  const problems: Problem[] = [];
  if (!anchored(PARTITION).test(partition)) problems.push(problem(`partition must be "aws", "aws-cn" or "aws-us-gov"`));
  if (shape.regional && !anchored(REGION).test(region)) problems.push(problem('region must be a region name like "eu-west-1"'));
  if (!shape.regional && region !== '') problems.push(problem(`${expected}, which names no region`));
  if (!anchored(ACCOUNT).test(account)) problems.push(problem(ACCOUNT_MESSAGE));
  if (!anchored(shape.resource).test(resource)) problems.push(problem(shape.resourceHint ?? expected));
  return problems;
}

/** A URL for IMS requests; the Lambda's own rule (`parseImsBaseUrl`) decides, so synth and run agree. */
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

// ---------------------------------------------------------------------------------------------
// The configuration file: every key, once.
// ---------------------------------------------------------------------------------------------

const NAME = /[A-Za-z][A-Za-z0-9-]{0,39}/;
const SECRET_CHAR = /[A-Za-z0-9/_+=.@-]/;
const SECRET_NAME = new RegExp(`${SECRET_CHAR.source}{1,512}`);
const SECRET_NAME_MESSAGE = 'must be a secret name: up to 512 of A-Z a-z 0-9 /_+=.@-';
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
const ACCOUNT_ID: Rule = { ...text(ACCOUNT, ACCOUNT_MESSAGE), claims: (value) => /^\d+$/.test(String(value)) };

/** CloudWatch Logs' retention periods, in days. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** The keys a token may set and the app may set for all tokens; `satisfies` keeps them and `SharedConfig` in step. */
const SHARED_FIELDS = {
  alarmTopicArn: {
    description: 'An existing SNS topic the alarms notify (alarm and OK), e.g. your on-call topic. Not with "alarmEmail".',
    rule: text(
      new RegExp(`arn:${PARTITION.source}:sns:${REGION.source}:${ACCOUNT.source}:[A-Za-z0-9_-]{1,256}(?:\\.fifo)?`),
      'must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic name>)',
    ),
  },
  alarmEmail: {
    description: 'An email address the alarms notify: the stack creates a KMS-encrypted topic with this subscription ' +
      '(confirm the email AWS sends). Not with "alarmTopicArn".',
    rule: text(/[^@\s]+@[^@\s]+\.[^@\s]+/, 'must be an email address'),
  },
  reservedConcurrency: {
    description: 'Reserve one concurrent execution per token so runs never overlap (default true). Set false in ' +
      'accounts whose Lambda concurrency quota is too low; overlapping runs stay correct.',
    rule: BOOLEAN,
  },
  logRetentionDays: {
    description: `Days the function's logs are kept (default 365): one of ${LOG_RETENTION_DAYS.join(', ')}.`,
    rule: {
      schema: { enum: LOG_RETENTION_DAYS },
      check: (value) =>
        LOG_RETENTION_DAYS.includes(value as number) ? [] : [problem(`must be one of ${LOG_RETENTION_DAYS.join(', ')} (days)`)],
    },
  },
} satisfies { readonly [K in keyof SharedConfig]-?: Field };

/** `rule` for an object in which the keys `a` and `b` cannot both be meant. */
function notBoth(rule: Rule, a: string, b: string): Rule {
  return {
    schema: { ...rule.schema, not: { required: [a, b] } },
    check: (value) => [
      ...rule.check(value),
      ...(isObject(value) && value[a] !== undefined && value[b] !== undefined ? [problem(`set "${a}" or "${b}", not both`, `.${b}`)] : []),
    ],
  };
}

/** The keys of one token; `satisfies` keeps them and `TokenConfig` in step. */
const TOKEN_FIELDS = {
  name: {
    required: true,
    description: 'Unique name (ignoring case): 1-40 letters, digits or hyphens, starting with a letter; not "Dashboard". ' +
      'The construct id; renaming replaces the resources, reordering does not.',
    // The stack itself uses "Dashboard" next to the tokens' construct ids.
    rule: except(text(NAME, 'must be 1-40 letters, digits or hyphens, starting with a letter'), ['Dashboard']),
  },
  credentialsSecret: {
    default: 'create',
    description: '"create" for a new secret to upload the credentials into, or an existing secret\'s name (same ' +
      'account and region) or complete ARN, with the 6-character suffix Secrets Manager adds.',
    rule: anyOf(
      '"create", a secret name or a complete secret ARN',
      word('create'),
      text(SECRET_NAME, SECRET_NAME_MESSAGE),
      arn({
        what: 'a Secrets Manager secret ARN',
        form: 'arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>',
        service: 'secretsmanager',
        regional: true,
        types: ['secret'],
        resource: new RegExp(`secret:${SECRET_CHAR.source}+-[A-Za-z0-9]{6}`),
        resourceHint:
          'must be a complete ARN, ending in the 6-character suffix Secrets Manager adds (as the console shows it), ' +
          "or just the secret's name",
      }),
    ),
  },
  scheduleMinutes: {
    description: 'How often to check the token, in minutes (default 60).',
    rule: wholeNumber('minutes', 1),
  },
  refreshThreshold: {
    description:
      `Renew when this share of the token's life or less is left, between 0 and 1 (default ${DEFAULT_REFRESH_THRESHOLD}).`,
    rule: between(0, 1),
  },
  imsBaseUrl: {
    description: 'Send IMS requests here (a proxy) instead of https://{imsEndpoint}: https (plain http only to ' +
      '127.0.0.1 or localhost), no query, fragment or user info.',
    rule: IMS_URL,
  },
  credentialsType: {
    description: 'The kind of credentials; default: detected from the secret\'s shape.',
    rule: word('jwt', 'oauth'),
  },
  credentialName: {
    description: 'The name or id of the OAuth Server-to-Server credential to use when the credentials are an Adobe ' +
      'Developer Console project download holding several (default: its only one).',
    rule: text(/\S(?:.*\S)?/, "must be a credential's name or id: not empty, no line breaks, no spaces at either end"),
  },
  credentialsExpiryWarning: {
    description: 'Alarm when the certificate in AEM service credentials expires in fewer than this many days, 1-365 (default 30).',
    rule: wholeNumber('days', 1, 365),
  },
  tokenSecretName: {
    description: 'Physical name of the token secret, unique across tokens and not a credentials secret (default: generated).',
    rule: text(SECRET_NAME, SECRET_NAME_MESSAGE),
  },
  encryptionKey: {
    description: '"create" for a new customer-managed KMS key with rotation, or a KMS key ARN, for the token secret and ' +
      'a created credentials secret (default: the AWS managed key).',
    rule: anyOf(
      '"create" or a KMS key ARN',
      word('create'),
      arn({
        what: 'a KMS key ARN',
        form: 'arn:aws:kms:<region>:<account>:key/<key id>',
        service: 'kms',
        regional: true,
        types: ['key'],
        resource: /key\/[A-Za-z0-9-]+/,
      }),
    ),
  },
  crossAccountReaders: {
    description:
      '12-digit account ids or IAM role, user or root ARNs of other accounts that may read the token; needs "encryptionKey".',
    needs: { key: 'encryptionKey', because: 'other accounts cannot decrypt the AWS managed key' },
    rule: list(
      anyOf(
        'a 12-digit account id or an IAM role, user or root ARN',
        ACCOUNT_ID,
        arn({
          what: 'an IAM role, user or root ARN',
          form: 'arn:aws:iam::<account>:role/<name>',
          service: 'iam',
          regional: false,
          types: ['root', 'role', 'user'],
          resource: /root|(?:role|user)\/[\w+=,.@/-]+/,
        }),
      ),
      '12-digit account ids or IAM role, user or root ARNs',
    ),
  },
  replicaRegions: {
    description: 'Regions to replicate the token secret to, e.g. ["us-east-1"].',
    rule: list(text(REGION, 'must be a region name like "eu-west-1"'), 'region names like "eu-west-1"'),
  },
  restrictCredentialsReaders: {
    description: 'Deny secretsmanager:GetSecretValue on the credentials secret to every principal but the refresher and ' +
      '"credentialsReaders" (default: true for a created secret, false for an existing one, whose resource policy it replaces).',
    rule: BOOLEAN,
  },
  credentialsReaders: {
    description: 'IAM role or user ARNs of this account, with their paths, that may still read the credentials secret ' +
      '(break-glass roles); their IAM policies must allow it too.',
    rule: ROLE_OR_USER_ARNS,
  },
  restrictTokenReaders: {
    description: 'Deny secretsmanager:GetSecretValue on the token secret to every principal but the refresher, ' +
      '"crossAccountReaders" and "tokenReaders" (default false).',
    rule: BOOLEAN,
  },
  tokenReaders: {
    description: 'IAM role or user ARNs of this account, with their paths, that may read the token under ' +
      '"restrictTokenReaders"; their IAM policies must allow it too.',
    needs: { key: 'restrictTokenReaders', because: 'without it, IAM policies alone decide who reads the token' },
    rule: ROLE_OR_USER_ARNS,
  },
  stack: {
    description:
      'The CloudFormation stack this token lives in (default: ImsTokenRefresher, or -c stackName=…); about 23 tokens fit in one.',
    rule: text(/[A-Za-z][A-Za-z0-9-]{0,127}/, 'must be a stack name: up to 128 letters, digits or hyphens, starting with a letter'),
  },
  ...SHARED_FIELDS,
} satisfies { readonly [K in keyof TokenConfig]-?: Field };

/** A token is named by its name in messages once that name is valid, else by its index. */
function tokenLabel(entry: unknown, index: number): string {
  const name = isObject(entry) ? entry.name : undefined;
  return TOKEN_FIELDS.name.rule.check(name).length === 0 ? JSON.stringify(name) : String(index);
}

/**
 * What no single token shows: names must differ (ignoring case), and each `tokenSecretName` must
 * name a new secret, neither another token's nor a credentials secret; else deploy would fail.
 */
function sharedNames(entries: readonly unknown[], labels: readonly string[]): Problem[] {
  const valid = (entry: unknown, key: keyof typeof TOKEN_FIELDS): string | undefined => {
    const value = isObject(entry) ? entry[key] : undefined;
    return value !== undefined && TOKEN_FIELDS[key].rule.check(value).length === 0 ? (value as string) : undefined;
  };
  // What holds each name first: "the name of tokens["a"]".
  const names = new Map<string, string>();
  const secrets = new Map<string, string>();
  entries.forEach((entry, index) => {
    const secret = valid(entry, 'credentialsSecret');
    if (secret && secret !== 'create' && !secret.startsWith('arn:') && !secrets.has(secret)) {
      secrets.set(secret, `the credentialsSecret of tokens${labels[index]}`);
    }
  });
  const unique = [
    { key: 'name', held: names, normalize: (name: string) => name.toLowerCase(), why: 'names must differ, ignoring case' },
    { key: 'tokenSecretName', held: secrets, normalize: (name: string) => name, why: 'each token needs a new secret of its own' },
  ] as const;
  return entries.flatMap((entry, index) =>
    unique.flatMap(({ key, held, normalize, why }) => {
      const value = valid(entry, key);
      if (value === undefined) return [];
      const first = held.get(normalize(value));
      if (first) return [problem(`also ${first} (${why})`, `${labels[index]}.${key}`)];
      held.set(normalize(value), `the ${key} of tokens${labels[index]}`);
      return [];
    }),
  );
}

const APP = object(
  {
    $schema: { description: 'The JSON Schema of this file, for editors.', rule: text(undefined, 'must be a string') },
    tokens: {
      required: true,
      description: 'The tokens to keep fresh: each becomes its own refresher (function, schedule, token secret, alarms).',
      rule: list(notBoth(object(TOKEN_FIELDS, 'an object'), 'alarmTopicArn', 'alarmEmail'), 'tokens', { label: tokenLabel, across: sharedNames }),
    },
    dashboard: {
      description: 'One CloudWatch dashboard for all tokens of the app, in its first stack ($3 a month; default true).',
      rule: BOOLEAN,
    },
    ...SHARED_FIELDS,
  },
  'an object with a "tokens" list',
);
const APP_RULE = notBoth(APP, 'alarmTopicArn', 'alarmEmail');

/**
 * The JSON Schema (draft-07) of the configuration file, derived from the same rules as
 * `parseAppConfig`. It cannot say what spans tokens (unique names and token secrets) or every
 * `imsBaseUrl` rule; synth still checks those.
 */
export function configJsonSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'ims-token-refresher configuration',
    description:
      'The Adobe IMS tokens to keep fresh: `cdk deploy -c config=<this file>`, or the "imsTokenRefresher" context in cdk.json.',
    ...APP_RULE.schema,
  };
}

/**
 * Validates the app configuration, reporting every problem at once: throws a `ConfigError` with
 * one line per problem, each starting with `source` when given (a file path, or `CONTEXT_SOURCE`).
 */
export function parseAppConfig(raw: unknown, source?: string): AppConfig {
  const problems = APP_RULE.check(raw);
  if (problems.length > 0) {
    throw new ConfigError(
      problems.map(({ at, message }) => [source, at.replace(/^\./, '') || undefined, message].filter(Boolean).join(': ')),
    );
  }
  const fields: Readonly<Record<string, Field>> = TOKEN_FIELDS;
  const defaults = Object.fromEntries(
    Object.entries(fields)
      .filter(([, field]) => field.default !== undefined)
      .map(([key, field]) => [key, field.default]),
  );
  const app = raw as SharedConfig & { tokens: TokenConfig[]; dashboard?: boolean };
  const shared = Object.fromEntries(Object.keys(SHARED_FIELDS).flatMap((key) => (key in app ? [[key, app[key as keyof SharedConfig]]] : [])));
  const tokens = app.tokens.map((token) => {
    // A token's own alarm target replaces the app's, whichever key each uses.
    const inherited = token.alarmTopicArn ?? token.alarmEmail ? { ...shared, alarmTopicArn: undefined, alarmEmail: undefined } : shared;
    return Object.fromEntries(Object.entries({ ...defaults, ...inherited, ...token }).filter(([, value]) => value !== undefined)) as unknown as TokenConfig;
  });
  return { ...(shared as SharedConfig), tokens, dashboard: app.dashboard ?? true };
}

/**
 * The app's configuration: the JSON file named with `-c config=…` when given, else the
 * `imsTokenRefresher` context of cdk.json. Throws a `ConfigError` naming the source, also for a
 * file that cannot be read or is not JSON (with line and column, never its content).
 */
export function loadAppConfig(options: { readonly file?: string | undefined; readonly context?: unknown }): AppConfig {
  const { file } = options;
  if (file === undefined) return parseAppConfig(options.context, CONTEXT_SOURCE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError([`${file}: cannot read the file (${code === 'ENOENT' ? 'no such file' : code})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${file}: not valid JSON: ${syntaxProblem(error as SyntaxError, text)}`]);
  }
  return parseAppConfig(raw, file);
}

/** V8's JSON error with a line and column, cut before the excerpt of the text it may quote in double quotes. */
function syntaxProblem(error: SyntaxError, text: string): string {
  const message = error.message.split('"')[0]!.replace(/[\s,.]+$/, '');
  const position = /^(.*?) in JSON at position (\d+)/.exec(message);
  const what = position ? position[1]! : message;
  const described = what.charAt(0).toLowerCase() + what.slice(1);
  if (!position) return described;
  const before = text.slice(0, Number(position[2])).split('\n');
  return `${described} at line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

/** " (did you mean x?)" for the known key closest to `key`, when one is close enough to be the intent. */
function didYouMean(key: string, known: readonly string[]): string {
  const lower = key.toLowerCase();
  const [closest] = known
    .map((candidate) => ({ candidate, distance: editDistance(lower, candidate.toLowerCase()) }))
    .sort((a, b) => a.distance - b.distance);
  let guess = closest && closest.distance <= Math.min(2, Math.floor(key.length / 3)) ? closest.candidate : undefined;
  // A fragment of one key only, e.g. "schedule" for "scheduleMinutes".
  const containing = known.filter((candidate) => candidate.toLowerCase().includes(lower));
  if (!guess && lower.length >= 4 && containing.length === 1) guess = containing[0];
  return guess ? ` (did you mean ${guess}?)` : '';
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The stack of tokens without `stack`: `-c stackName=…`, checked like `stack`, else "ImsTokenRefresher". */
export function defaultStackName(context: unknown): string {
  if (context === undefined) return 'ImsTokenRefresher';
  const problems = TOKEN_FIELDS.stack.rule.check(context);
  if (problems.length > 0) throw new ConfigError(problems.map(({ message }) => `context "stackName": ${message}`));
  return context as string;
}

/** The tokens of each stack, in configuration order; tokens without `stack` go to `defaultStack`. */
export function tokensByStack(config: AppConfig, defaultStack: string): Map<string, TokenConfig[]> {
  const stacks = new Map<string, TokenConfig[]>();
  for (const token of config.tokens) {
    const name = token.stack ?? defaultStack;
    stacks.set(name, [...(stacks.get(name) ?? []), token]);
  }
  return stacks;
}

/** The schedule of an entry as a `Duration`, or undefined for the construct's default. */
export function scheduleOf(token: TokenConfig): Duration | undefined {
  return token.scheduleMinutes === undefined ? undefined : Duration.minutes(token.scheduleMinutes);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
