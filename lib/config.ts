import { Duration } from 'aws-cdk-lib';

/** One token to keep fresh, as written in `cdk.json` context or the config file. */
export interface TokenConfig {
  /** Unique name: letters, digits and hyphens; becomes the construct id and metric `service`. */
  readonly name: string;
  /** `"create"` for a new credentials secret, or the name or ARN of an existing one. */
  readonly credentialsSecret: string;
  readonly scheduleMinutes?: number;
  readonly refreshThreshold?: number;
  readonly imsBaseUrl?: string;
  readonly credentialsType?: 'jwt' | 'oauth';
  readonly tokenSecretName?: string;
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
]);
const NAME = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;

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
  const at = `tokens "${name}"`;
  const credentialsSecret = entry.credentialsSecret ?? 'create';
  if (typeof credentialsSecret !== 'string' || credentialsSecret === '') {
    throw new Error(`${at} "credentialsSecret" must be "create" or a secret name or ARN`);
  }
  const minutes = entry.scheduleMinutes;
  if (minutes !== undefined && !(Number.isInteger(minutes) && (minutes as number) >= 1)) {
    throw new Error(`${at} "scheduleMinutes" must be a whole number of minutes, at least 1`);
  }
  const threshold = entry.refreshThreshold;
  if (threshold !== undefined && !(typeof threshold === 'number' && threshold > 0 && threshold < 1)) {
    throw new Error(`${at} "refreshThreshold" must be a number between 0 and 1 (exclusive)`);
  }
  for (const key of ['imsBaseUrl', 'tokenSecretName'] as const) {
    if (entry[key] !== undefined && (typeof entry[key] !== 'string' || entry[key] === '')) {
      throw new Error(`${at} "${key}" must be a non-empty string`);
    }
  }
  if (entry.imsBaseUrl !== undefined && !URL.canParse(entry.imsBaseUrl as string)) {
    throw new Error(`${at} "imsBaseUrl" is not a URL`);
  }
  if (entry.credentialsType !== undefined && entry.credentialsType !== 'jwt' && entry.credentialsType !== 'oauth') {
    throw new Error(`${at} "credentialsType" must be "jwt" or "oauth"`);
  }
  return { ...(entry as unknown as TokenConfig), credentialsSecret };
}

/** The schedule of an entry as a `Duration`, or undefined for the construct's default. */
export function scheduleOf(token: TokenConfig): Duration | undefined {
  return token.scheduleMinutes === undefined ? undefined : Duration.minutes(token.scheduleMinutes);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
