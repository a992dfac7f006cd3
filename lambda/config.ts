import { ConfigurationError } from './errors.js';
import type { CredentialsType } from './token.js';

/** What one run needs to know; the handler builds it from the environment. */
export interface RefreshSettings {
  readonly credentialsSecretId: string;
  readonly tokenSecretId: string;
  /** Send IMS requests here instead of `https://{imsEndpoint}`. */
  readonly imsBaseUrl?: string;
  /** Pin the credentials kind instead of detecting it from the secret's shape. */
  readonly credentialsType?: CredentialsType;
  /** Renew when this share of the token's lifetime or less is left (0 < x < 1). */
  readonly refreshThreshold: number;
  /** Which OAuth Server-to-Server credential of a Developer Console project download to use (`name` or `id`). */
  readonly credentialName?: string;
}

/** Default share of the token's life left at which it is renewed: after half its life. */
export const DEFAULT_REFRESH_THRESHOLD = 0.5;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Reads the Lambda's environment (the configuration contract, see README):
 * CREDENTIALS_SECRET_ID, TOKEN_SECRET_ID (required); IMS_BASE_URL, CREDENTIALS_TYPE,
 * REFRESH_THRESHOLD, CREDENTIAL_NAME (optional). Throws `ConfigurationError` naming the variable.
 */
export function readConfig(env: Record<string, string | undefined>): RefreshSettings {
  const settings: RefreshSettings = {
    credentialsSecretId: required(env, 'CREDENTIALS_SECRET_ID'),
    tokenSecretId: required(env, 'TOKEN_SECRET_ID'),
    imsBaseUrl: parseImsBaseUrl(env.IMS_BASE_URL),
    credentialsType: credentialsType(env.CREDENTIALS_TYPE),
    refreshThreshold: threshold(env.REFRESH_THRESHOLD),
    credentialName: env.CREDENTIAL_NAME?.trim() || undefined,
  };
  if (settings.credentialsSecretId === settings.tokenSecretId) {
    throw new ConfigurationError('CREDENTIALS_SECRET_ID and TOKEN_SECRET_ID must name different secrets');
  }
  return settings;
}

function required(env: Record<string, string | undefined>, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigurationError(`environment variable ${name} is required`);
  return value;
}

/**
 * Where IMS requests go: https, or plain http to loopback only; no query, fragment or user info
 * (credentials in a URL would sit in the function's environment). `name` is what messages call
 * the value; the CDK app checks the same rule at synth.
 */
export function parseImsBaseUrl(value: string | undefined, name = 'IMS_BASE_URL'): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ConfigurationError(`${name} is not a URL`);
  }
  const plainHttpAllowed = url.protocol === 'http:' && LOOPBACK.has(url.hostname);
  if (url.protocol !== 'https:' && !plainHttpAllowed) {
    throw new ConfigurationError(`${name} must use https (plain http only for 127.0.0.1 or localhost)`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigurationError(`${name} must not carry a query, fragment or user info`);
  }
  return url.href.replace(/\/+$/, '');
}

function credentialsType(value: string | undefined): RefreshSettings['credentialsType'] {
  if (value === undefined || value.trim() === '') return undefined;
  if (value === 'jwt' || value === 'oauth') return value;
  throw new ConfigurationError('CREDENTIALS_TYPE must be "jwt" or "oauth"');
}

function threshold(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_REFRESH_THRESHOLD;
  const number = Number(value);
  if (!(number > 0 && number < 1)) throw new ConfigurationError('REFRESH_THRESHOLD must be a number between 0 and 1 (exclusive)');
  return number;
}
