import { Duration } from 'aws-cdk-lib';
import { parseImsBaseUrl } from '../lambda/config.js';

/** One token to keep fresh, as written in `cdk.json` context or the config file. */
export interface TokenConfig {
  /** Unique name: letters, digits and hyphens; the construct id (metrics: `service` = `<stack>/<name>`). */
  readonly name: string;
  /** `"create"` for a new credentials secret, or the name or complete ARN of an existing one. */
  readonly credentialsSecret: string;
  readonly scheduleMinutes?: number;
  readonly refreshThreshold?: number;
  readonly imsBaseUrl?: string;
  readonly credentialsType?: 'jwt' | 'oauth';
  readonly tokenSecretName?: string;
  /** `"create"` for a new customer-managed KMS key, or the ARN of an existing one. */
  readonly encryptionKey?: string;
  /** 12-digit account ids or IAM principal ARNs of other accounts that may read the token. */
  readonly crossAccountReaders?: readonly string[];
  /** Regions the token secret is replicated to. */
  readonly replicaRegions?: readonly string[];
  /** The stack this token belongs to; 26 tokens fit in one (CloudFormation's quotas). */
  readonly stack?: string;
}

export interface AppConfig {
  readonly tokens: readonly TokenConfig[];
}

const TOKEN_KEYS = new Set([
  'name',
  'credentialsSecret',
  'scheduleMinutes',
  'refreshThreshold',
  'imsBaseUrl',
  'credentialsType',
  'tokenSecretName',
  'encryptionKey',
  'crossAccountReaders',
  'replicaRegions',
  'stack',
]);
const NAME = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;
/** Ids the stack itself uses next to the tokens' construct ids. */
const RESERVED_NAMES = new Set(['Dashboard']);
const COMPLETE_SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const READER = /^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:(root|(role|user)\/[\w+=,.@/-]+))$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Validates the app configuration; errors name the entry and the field. */
export function parseAppConfig(raw: unknown): AppConfig {
  if (!isObject(raw)) throw new Error('configuration must be an object with a "tokens" array');
  const unknown = Object.keys(raw).filter((key) => key !== 'tokens');
  if (unknown.length > 0) throw new Error(`configuration has unknown key "${unknown[0]}"`);
  if (!Array.isArray(raw.tokens) || raw.tokens.length === 0) {
    throw new Error('configuration "tokens" must be a non-empty array');
  }
  const seen = new Set<string>();
  return {
    tokens: raw.tokens.map((entry: unknown, index: number) => {
      const token = parseToken(entry, `tokens[${index}]`);
      if (seen.has(token.name.toLowerCase())) throw new Error(`tokens[${index}] "name": "${token.name}" is used twice`);
      seen.add(token.name.toLowerCase());
      return token;
    }),
  };
}

function parseToken(entry: unknown, where: string): TokenConfig {
  if (!isObject(entry)) throw new Error(`${where} must be an object`);
  for (const key of Object.keys(entry)) {
    if (!TOKEN_KEYS.has(key)) throw new Error(`${where} has unknown key "${key}"`);
  }
  const name = entry.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new Error(`${where} "name" must be 1-40 letters, digits or hyphens, starting with a letter`);
  }
  if (RESERVED_NAMES.has(name)) throw new Error(`${where} "name": "${name}" is reserved; choose another`);
  const at = `tokens "${name}"`;
  const credentialsSecret = entry.credentialsSecret ?? 'create';
  if (typeof credentialsSecret !== 'string' || credentialsSecret === '') {
    throw new Error(`${at} "credentialsSecret" must be "create" or a secret name or ARN`);
  }
  if (credentialsSecret.startsWith('arn:') && !COMPLETE_SECRET_ARN.test(credentialsSecret)) {
    throw new Error(
      `${at} "credentialsSecret" must be a complete ARN, ending in the 6-character suffix Secrets Manager adds ` +
        '(as the console shows it), or just the secret\'s name',
    );
  }
  const minutes = entry.scheduleMinutes;
  if (minutes !== undefined && !(Number.isInteger(minutes) && (minutes as number) >= 1)) {
    throw new Error(`${at} "scheduleMinutes" must be a whole number of minutes, at least 1`);
  }
  const threshold = entry.refreshThreshold;
  if (threshold !== undefined && !(typeof threshold === 'number' && threshold > 0 && threshold < 1)) {
    throw new Error(`${at} "refreshThreshold" must be a number between 0 and 1 (exclusive)`);
  }
  if (entry.imsBaseUrl !== undefined && typeof entry.imsBaseUrl !== 'string') throw new Error(`${at} "imsBaseUrl" is not a URL`);
  parseImsBaseUrl(entry.imsBaseUrl, `${at} "imsBaseUrl"`);
  if (entry.credentialsType !== undefined && entry.credentialsType !== 'jwt' && entry.credentialsType !== 'oauth') {
    throw new Error(`${at} "credentialsType" must be "jwt" or "oauth"`);
  }
  check(entry.tokenSecretName, SECRET_NAME, `${at} "tokenSecretName" must be a secret name: up to 512 of A-Z a-z 0-9 /_+=.@-`);
  check(entry.stack, STACK_NAME, `${at} "stack" must be a stack name: up to 128 letters, digits or hyphens, starting with a letter`);
  if (entry.encryptionKey !== 'create') {
    check(entry.encryptionKey, KEY_ARN, `${at} "encryptionKey" must be "create" or a KMS key ARN`);
  }
  checkList(entry.crossAccountReaders, READER, `${at} "crossAccountReaders" must list 12-digit account ids or IAM role, user or root ARNs`);
  checkList(entry.replicaRegions, REGION, `${at} "replicaRegions" must list region names like "eu-west-1"`);
  if (entry.crossAccountReaders !== undefined && entry.encryptionKey === undefined) {
    throw new Error(`${at} "crossAccountReaders" needs "encryptionKey": other accounts cannot decrypt the AWS managed key`);
  }
  return { ...(entry as unknown as TokenConfig), credentialsSecret };
}

/** An optional string field must match `pattern`. */
function check(value: unknown, pattern: RegExp, message: string): void {
  if (value !== undefined && !(typeof value === 'string' && pattern.test(value))) throw new Error(message);
}

/** An optional list field must be a non-empty array of strings that match `pattern`. */
function checkList(value: unknown, pattern: RegExp, message: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.length === 0) throw new Error(message);
  for (const item of value) check(item, pattern, message);
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
