import { ConfigurationError } from '../common/errors.js';
import {
  DEFAULT_REFRESH_THRESHOLD,
  parseImsBaseUrl,
  refreshThresholdProblem,
  adobeIdProblem,
  adobeOrgIdProblem,
  RETIRE_AFTER_HOURS,
  retireAfterHoursProblem,
} from '../common/rules.js';
import type { RotationSettings } from './rotation.js';
import { parseNoProxy, parseProxyUrl, type ProxyRoute } from '../common/proxy.js';
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
  /** The HTTPS proxy (HTTP CONNECT) for the IMS and Secrets Manager calls, and the hosts that bypass it. */
  readonly proxy?: ProxyRoute;
  /** Name or ARN of the secret holding the proxy's credentials (`{"username", "password"}`). */
  readonly proxyCredentialsSecretId?: string;
}

/**
 * Reads the Lambda's environment (the configuration contract, see README):
 * CREDENTIALS_SECRET_ID, TOKEN_SECRET_ID (required); IMS_BASE_URL, CREDENTIALS_TYPE,
 * REFRESH_THRESHOLD, CREDENTIAL_NAME, HTTPS_PROXY, NO_PROXY, PROXY_CREDENTIALS_SECRET_ID
 * (optional). Throws `ConfigurationError` naming the variable (never echoing a proxy URL: it
 * could hold credentials). AWS_USE_FIPS_ENDPOINT is the AWS SDK's own.
 */
export function readConfig(env: Record<string, string | undefined>): RefreshSettings {
  const credentialsSecretId = required(env, 'CREDENTIALS_SECRET_ID');
  const tokenSecretId = required(env, 'TOKEN_SECRET_ID');
  const settings: RefreshSettings = {
    credentialsSecretId,
    tokenSecretId,
    imsBaseUrl: parseImsBaseUrl(env.IMS_BASE_URL),
    credentialsType: credentialsType(env.CREDENTIALS_TYPE),
    refreshThreshold: threshold(env.REFRESH_THRESHOLD),
    credentialName: env.CREDENTIAL_NAME?.trim() || undefined,
    ...proxySettings(env, [credentialsSecretId, tokenSecretId]),
  };
  if (settings.credentialsSecretId === settings.tokenSecretId) {
    throw new ConfigurationError('CREDENTIALS_SECRET_ID and TOKEN_SECRET_ID must name different secrets');
  }
  return settings;
}

/** What the rotation function needs besides its event: the core's settings and the network's. */
export interface RotationConfig extends RotationSettings, Pick<RefreshSettings, 'proxy' | 'proxyCredentialsSecretId'> {
  /** Send I/O Management API requests here instead of https://api.adobe.io. */
  readonly adobeApiBaseUrl?: string;
}

/**
 * Reads the rotation function's environment: TOKEN_SECRET_ID (required); IMS_BASE_URL,
 * ADOBE_API_BASE_URL (same rules), CREDENTIAL_NAME, ADOBE_ORG_ID, ADOBE_CREDENTIAL_ID,
 * RETIRE_AFTER_HOURS and the network variables, as the refresher reads them. The credentials
 * secret comes from each event (`SecretId`), never from the environment.
 */
export function readRotationConfig(env: Record<string, string | undefined>): RotationConfig {
  const orgId = optionalId(env, 'ADOBE_ORG_ID', adobeOrgIdProblem);
  const credentialId = optionalId(env, 'ADOBE_CREDENTIAL_ID', adobeIdProblem);
  const hours = env.RETIRE_AFTER_HOURS?.trim() ? Number(env.RETIRE_AFTER_HOURS) : RETIRE_AFTER_HOURS.default;
  const problem = retireAfterHoursProblem(hours);
  if (problem) throw new ConfigurationError(`RETIRE_AFTER_HOURS ${problem}`);
  const tokenSecretId = required(env, 'TOKEN_SECRET_ID');
  return {
    tokenSecretId,
    imsBaseUrl: parseImsBaseUrl(env.IMS_BASE_URL),
    adobeApiBaseUrl: parseImsBaseUrl(env.ADOBE_API_BASE_URL, 'ADOBE_API_BASE_URL'),
    credentialName: env.CREDENTIAL_NAME?.trim() || undefined,
    orgId,
    credentialId,
    retireAfterMs: hours * 3_600_000,
    ...proxySettings(env, [tokenSecretId]),
  };
}

/** An optional id variable, refused with its rule's message (never its value) when set but malformed. */
function optionalId(
  env: Record<string, string | undefined>,
  name: string,
  problemOf: (value: string) => string | undefined,
): string | undefined {
  const value = env[name]?.trim() || undefined;
  const problem = value === undefined ? undefined : problemOf(value);
  if (problem) throw new ConfigurationError(`${name} ${problem}`);
  return value;
}

/**
 * HTTPS_PROXY with NO_PROXY, and PROXY_CREDENTIALS_SECRET_ID (only with HTTPS_PROXY, and none of the
 * function's `otherSecretIds`); NO_PROXY alone means nothing.
 */
function proxySettings(
  env: Record<string, string | undefined>,
  otherSecretIds: readonly string[],
): Pick<RefreshSettings, 'proxy' | 'proxyCredentialsSecretId'> {
  const url = env.HTTPS_PROXY?.trim();
  const proxyCredentialsSecretId = env.PROXY_CREDENTIALS_SECRET_ID?.trim() || undefined;
  if (!url) {
    if (proxyCredentialsSecretId) throw new ConfigurationError('PROXY_CREDENTIALS_SECRET_ID needs HTTPS_PROXY');
    return {};
  }
  const noProxy = parseNoProxy((env.NO_PROXY ?? '').split(','), 'NO_PROXY');
  const proxy = { ...parseProxyUrl(url, 'HTTPS_PROXY'), noProxy };
  if (proxyCredentialsSecretId !== undefined && otherSecretIds.includes(proxyCredentialsSecretId)) {
    throw new ConfigurationError('PROXY_CREDENTIALS_SECRET_ID must name a secret of its own');
  }
  return { proxy, proxyCredentialsSecretId };
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
