import { ConfigurationError } from '../common/errors.js';
import { DEFAULT_REFRESH_THRESHOLD, parseImsBaseUrl, refreshThresholdProblem } from '../common/rules.js';
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
  const settings: RefreshSettings = {
    credentialsSecretId: required(env, 'CREDENTIALS_SECRET_ID'),
    tokenSecretId: required(env, 'TOKEN_SECRET_ID'),
    imsBaseUrl: parseImsBaseUrl(env.IMS_BASE_URL),
    credentialsType: credentialsType(env.CREDENTIALS_TYPE),
    refreshThreshold: threshold(env.REFRESH_THRESHOLD),
    credentialName: env.CREDENTIAL_NAME?.trim() || undefined,
    ...proxySettings(env),
  };
  if (settings.credentialsSecretId === settings.tokenSecretId) {
    throw new ConfigurationError('CREDENTIALS_SECRET_ID and TOKEN_SECRET_ID must name different secrets');
  }
  const { proxyCredentialsSecretId } = settings;
  if (
    proxyCredentialsSecretId === settings.credentialsSecretId ||
    proxyCredentialsSecretId === settings.tokenSecretId
  ) {
    throw new ConfigurationError('PROXY_CREDENTIALS_SECRET_ID must name a secret of its own');
  }
  return settings;
}

/** HTTPS_PROXY with NO_PROXY, and PROXY_CREDENTIALS_SECRET_ID (only with HTTPS_PROXY); NO_PROXY alone means nothing. */
function proxySettings(
  env: Record<string, string | undefined>,
): Pick<RefreshSettings, 'proxy' | 'proxyCredentialsSecretId'> {
  const url = env.HTTPS_PROXY?.trim();
  const proxyCredentialsSecretId = env.PROXY_CREDENTIALS_SECRET_ID?.trim() || undefined;
  if (!url) {
    if (proxyCredentialsSecretId) throw new ConfigurationError('PROXY_CREDENTIALS_SECRET_ID needs HTTPS_PROXY');
    return {};
  }
  const noProxy = parseNoProxy((env.NO_PROXY ?? '').split(','), 'NO_PROXY');
  return { proxy: { ...parseProxyUrl(url, 'HTTPS_PROXY'), noProxy }, proxyCredentialsSecretId };
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
