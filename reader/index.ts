import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  ConfigurationError,
  ProxyError,
  RefresherError,
  SecretStoreError,
  TokenContractError,
  TokenExpiredError,
} from '../common/errors.js';
import { parseNoProxy, parseProxyUrl, ProxyAgent, type ProxyCredentials } from '../common/proxy.js';
import { SecretsManagerStore, secretsManagerClient } from '../common/secrets-manager-store.js';
import {
  checkTokenClock,
  expiresAtMs,
  parseTokenRecord,
  type CredentialsType,
  type TokenRecord,
} from '../common/token.js';

/**
 * The token reader (`import … from 'ims-token-refresher/reader'`): reads the token secret the
 * refresher writes, checks it against the token contract and caches it until shortly before it
 * expires. Needs the AWS SDK's Secrets Manager client, not the CDK.
 *
 * @module
 */
export type { CredentialsType, ProxyCredentials, TokenRecord };
/**
 * What the reader rejects with, for `instanceof`: `TokenExpiredError`, `TokenContractError`,
 * `SecretStoreError`, `ProxyError` (with `httpsProxy`) and, for bad options, `ConfigurationError`;
 * each is a `RefresherError` with a stable `code` (the README's Troubleshoot table) and `transient`.
 */
export { ConfigurationError, ProxyError, RefresherError, SecretStoreError, TokenContractError, TokenExpiredError };
export type { ErrorCode, ProxiedCall } from '../common/errors.js';

/**
 * A token is handed out only while it has at least this long left (5 minutes), so that a request
 * started with it finishes before it expires. It does not affect freshness: the refresher renews
 * 12 hours before expiry.
 */
export const DEFAULT_MIN_VALIDITY_MS = 5 * 60_000;

/** How a reader finds and trusts the token secret. */
export interface TokenReaderOptions {
  /** Name or ARN of the token secret. */
  readonly secretId: string;
  /** Hand out a token only while it has at least this many milliseconds left. @default DEFAULT_MIN_VALIDITY_MS (5 minutes) */
  readonly minValidityMs?: number;
  /**
   * The Secrets Manager client. @default - a new client configured by the SDK's default chain
   * (which honours `AWS_USE_FIPS_ENDPOINT`), with timeouts, through `httpsProxy` if given
   */
  readonly client?: SecretsManagerClient;
  /**
   * An HTTP CONNECT proxy for the default client's calls, `http://host:port` (the SDK's own agent
   * ignores `HTTPS_PROXY`; pass `process.env.HTTPS_PROXY` to use it). A proxy failure rejects
   * with `ProxyError` (`PROXY_FAILED`). Not with `client`. @default - no proxy
   */
  readonly httpsProxy?: string;
  /** With `httpsProxy`: host suffixes reached directly (`.example.com`, `example.com`, `*`). @default [] */
  readonly noProxy?: readonly string[];
  /** With `httpsProxy`: its credentials (Basic, in `Proxy-Authorization` only). @default - none */
  readonly proxyCredentials?: ProxyCredentials;
  /** This host's clock, in epoch milliseconds; the reader adds Secrets Manager's measured offset to it. @default Date.now */
  readonly now?: () => number;
}

/** Reads one token secret and caches the token until it is `minValidityMs` from expiry. */
export interface TokenReader {
  /**
   * The token record, from the cache or from one read shared by all concurrent callers. Rejects
   * with `TokenExpiredError` (the secret's token is expired or inside the margin),
   * `TokenContractError` (no token yet, or not the contract) or `SecretStoreError` (AWS failed;
   * the message ends with the SDK's reason, redacted, and the SDK error is the `cause`).
   */
  get(): Promise<TokenRecord>;
  /** The access token alone; see `get`. */
  getAccessToken(): Promise<string>;
  /** Forgets the cached token, e.g. after a 401 from Adobe: the next call reads the secret again. */
  invalidate(): void;
}

/**
 * Creates a reader for one token secret; failed reads are not cached.
 *
 * Clock skew: the reader judges `expires_at` (with the margin) and `issued_at` by Secrets
 * Manager's clock, not this host's: `now()` plus the offset the AWS SDK measures from the `Date`
 * header of each answer (`systemClockOffset`, which it also signs with). So a host whose clock is
 * minutes or hours behind neither refuses fresh tokens nor hands out, or keeps serving from the
 * cache, an expired one. Without that offset (a client with `disableClockSkewCorrection`, or one
 * that does not keep `systemClockOffset`) the reader uses this host's clock alone: a clock `d`
 * behind then hands out tokens until `minValidityMs - d` before expiry, expired ones once `d`
 * exceeds the margin. Either way `issued_at` may lie up to an hour ahead (`MAX_CLOCK_SKEW_MS`)
 * before the record is refused as not the contract.
 */
export function createTokenReader(options: TokenReaderOptions): TokenReader {
  const { secretId, minValidityMs = DEFAULT_MIN_VALIDITY_MS, now = Date.now } = options;
  if (!secretId) throw new ConfigurationError('"secretId" is required');
  if (!(minValidityMs >= 0)) throw new ConfigurationError('"minValidityMs" must be a number, 0 or more');
  const agent = proxyAgent(options);
  const client = options.client ?? secretsManagerClient({}, agent);
  const store = new SecretsManagerStore(client);
  const serverNow = () => now() + clockOffsetMs(client);
  /**
   * The cached token, usable until `usableUntil` by the server's clock and, should this host's
   * wall clock step back (a resumed VM, a manual change), until `monotonicUntil` by its monotonic one.
   */
  let cached:
    { readonly record: TokenRecord; readonly usableUntil: number; readonly monotonicUntil: number } | undefined;
  let reading: Promise<TokenRecord> | undefined;

  async function read(): Promise<TokenRecord> {
    const secret = await store.read(secretId);
    if (!secret) throw new TokenContractError(`no token yet: secret "${secretId}" has no value yet`);
    const time = serverNow();
    const record = checkTokenClock(parseTokenRecord(secret.value), time);
    const expiresAt = expiresAtMs(record);
    if (time >= expiresAt - minValidityMs) {
      throw new TokenExpiredError(
        `the token in secret "${secretId}" ${time >= expiresAt ? 'expired' : 'expires'} at ${record.expires_at} ` +
          `(reader margin ${minValidityMs / 1000} s); the refresher is likely failing: check its alarms and logs`,
        new Date(expiresAt),
      );
    }
    const usableUntil = expiresAt - minValidityMs;
    cached = { record, usableUntil, monotonicUntil: performance.now() + usableUntil - time };
    return record;
  }

  const reader: TokenReader = {
    async get() {
      if (cached && serverNow() < cached.usableUntil && performance.now() < cached.monotonicUntil) return cached.record;
      cached = undefined;
      reading ??= read().finally(() => {
        reading = undefined;
      });
      return reading;
    },
    async getAccessToken() {
      return (await reader.get()).access_token;
    },
    invalidate() {
      cached = undefined;
    },
  };
  return reader;
}

/** The agent for `httpsProxy`, or none; a `ConfigurationError` names the option that is wrong. */
function proxyAgent(options: TokenReaderOptions): ProxyAgent | undefined {
  const { httpsProxy, noProxy, proxyCredentials } = options;
  if (httpsProxy === undefined) {
    if (noProxy !== undefined || proxyCredentials !== undefined) {
      throw new ConfigurationError('"noProxy" and "proxyCredentials" need "httpsProxy"');
    }
    return undefined;
  }
  if (options.client) throw new ConfigurationError('"httpsProxy" is for the default client: not with "client"');
  const route = { ...parseProxyUrl(httpsProxy, '"httpsProxy"'), noProxy: parseNoProxy(noProxy ?? [], '"noProxy"') };
  return new ProxyAgent(route, {
    call: 'Secrets Manager',
    credentials: proxyCredentials && (() => Promise.resolve(proxyCredentials)),
    agentOptions: { keepAlive: true },
  });
}

/**
 * How far Secrets Manager's clock is ahead of this host's, in milliseconds, as the SDK measured it
 * from the `Date` header of its last answer (`systemClockOffset`, which it also signs with); 0
 * before the first answer, with `disableClockSkewCorrection`, or for a client that does not keep it.
 */
function clockOffsetMs(client: SecretsManagerClient): number {
  const offset = (client as { config?: { systemClockOffset?: unknown } }).config?.systemClockOffset;
  return typeof offset === 'number' && Number.isFinite(offset) ? offset : 0;
}

/** `getAccessToken`'s options: a reader's, and whether to read the secret again now. */
export interface GetAccessTokenOptions extends TokenReaderOptions {
  /** Read the secret again now (after a 401 from Adobe) instead of using the cached token. @default false */
  readonly forceFetch?: boolean;
}

const readers = new Map<string, TokenReader>();

/**
 * The access token in `secretId`, through one cached reader per secret id for the life of the
 * process (see `createTokenReader`); the other options take effect on the first call for an id.
 */
export async function getAccessToken(options: GetAccessTokenOptions): Promise<string> {
  let reader = readers.get(options.secretId);
  if (!reader) readers.set(options.secretId, (reader = createTokenReader(options)));
  if (options.forceFetch) reader.invalidate();
  return reader.getAccessToken();
}
