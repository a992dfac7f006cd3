import { ConfigurationError } from '../common/errors.js';
import { DEFAULT_REFRESH_THRESHOLD, parseImsBaseUrl, refreshThresholdProblem } from '../common/rules.js';
import { isCredentialsType, type CredentialsType } from '../common/token.js';

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

function credentialsType(value: string | undefined): RefreshSettings['credentialsType'] {
  if (value === undefined || value.trim() === '') return undefined;
  if (isCredentialsType(value)) return value;
  throw new ConfigurationError('CREDENTIALS_TYPE must be "jwt" or "oauth"');
}

function threshold(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_REFRESH_THRESHOLD;
  const number = Number(value);
  const problem = refreshThresholdProblem(number);
  if (problem) throw new ConfigurationError(`REFRESH_THRESHOLD ${problem}`);
  return number;
}
