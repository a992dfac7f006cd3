import { createHash } from 'node:crypto';
import type { RefreshSettings } from './config.js';
import { parseCredentials } from './credentials.js';
import { ConfigurationError, CredentialsError, ImsError, RefresherError, SecretStoreError } from './errors.js';
import { exchange, type Fetch, type ImsToken } from './ims.js';
import { refreshReason, type RefreshReason } from './policy.js';
import type { SecretStore, SecretVersion } from './store.js';
import { checkTokenClock, expiresAtMs, parseTokenRecord, type CredentialsType, type TokenRecord } from './token.js';

/** The outside world, injected: the store, IMS over fetch, the clock, the sleeper and jitter. */
export interface RefreshDeps {
  readonly store: SecretStore;
  readonly fetch: Fetch;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
}

export interface RefreshRequest {
  readonly force: boolean;
  /** Identifies the triggering event; equal for duplicate deliveries (idempotent write). */
  readonly requestKey: string;
  /** Epoch ms after which no new IMS attempt starts (safely inside the function timeout). */
  readonly deadline: number;
  /**
   * Aborts every call still under way (Secrets Manager and IMS) so the run can still report
   * before the function timeout, whichever call hangs. @default - calls end by their own timeouts only
   */
  readonly signal?: AbortSignal;
}

export type Outcome = 'refreshed' | 'skipped' | 'failed';

export interface RunResult {
  readonly outcome: Outcome;
  /** Why it refreshed; or why a fresh token was kept. */
  readonly reason: RefreshReason | 'fresh' | 'newer-token-stored' | 'duplicate-delivery' | undefined;
  /** The token in the secret after the run (ours if refreshed), for time-to-expiry. */
  readonly token: TokenRecord | undefined;
  /** Whether the token secret could be read: if not, `token` says nothing about the secret. */
  readonly tokenRead: boolean;
  readonly imsAttempts: number;
  /** Time spent in IMS requests, including waits between retries. */
  readonly imsLatencyMs: number | undefined;
  readonly error?: RefresherError;
}

/** Retry budget for transient IMS failures within one run (ims-protocol.md §3). */
export const RETRY = {
  maxAttempts: 4,
  attemptTimeoutMs: 10_000,
  baseDelayMs: 1_000,
  maxDelayMs: 15_000,
  /** `Retry-After` longer than this ends the run; the next scheduled run tries again. */
  maxRetryAfterMs: 30_000,
} as const;

/**
 * One refresher run. Never throws: a failure comes back as `outcome: 'failed'` with a typed
 * `error`, so the caller can always report the token's time-to-expiry. A failed run writes nothing.
 */
export async function runRefresh(settings: RefreshSettings, request: RefreshRequest, deps: RefreshDeps): Promise<RunResult> {
  let stored: TokenRecord | undefined;
  let tokenRead = false;
  let imsAttempts = 0;
  let imsLatencyMs: number | undefined;
  const result = (outcome: Outcome, reason: RunResult['reason'], token: TokenRecord | undefined, error?: RefresherError): RunResult => ({
    outcome,
    reason,
    token,
    tokenRead,
    imsAttempts,
    imsLatencyMs,
    ...(error ? { error } : {}),
  });
  const store = bounded(deps.store, request.signal);
  const ourToken = (secret: SecretVersion | undefined) => trustedToken(secret, deps.now());
  try {
    const current = await store.read(settings.tokenSecretId);
    stored = ourToken(current);
    tokenRead = true;
    const credentialsSecret = await store.read(settings.credentialsSecretId);
    if (!credentialsSecret) {
      throw new CredentialsError(
        `credentials secret "${settings.credentialsSecretId}" has no value yet; put the credentials JSON in it`,
      );
    }
    // The ids may differ as strings (a name and an ARN) and still name one secret: writing the token would destroy the credentials.
    if (current && current.arn === credentialsSecret.arn) {
      throw new ConfigurationError('CREDENTIALS_SECRET_ID and TOKEN_SECRET_ID name the same secret; the token needs a secret of its own');
    }
    const reason = refreshReason({
      token: stored,
      credentialsVersionId: credentialsSecret.versionId,
      now: deps.now(),
      threshold: settings.refreshThreshold,
      force: request.force,
    });
    if (!reason) return result('skipped', 'fresh', stored);

    const credentials = parseCredentials(credentialsSecret.value, {
      type: settings.credentialsType,
      allowAnyImsHost: settings.imsBaseUrl !== undefined,
    });
    const started = deps.now();
    let attemptStarted = started;
    const imsToken = await withRetries(request, deps, () => {
      imsAttempts += 1;
      attemptStarted = deps.now();
      return exchange(credentials, {
        fetch: deps.fetch,
        now: attemptStarted,
        baseUrl: settings.imsBaseUrl,
        timeoutMs: RETRY.attemptTimeoutMs,
        signal: request.signal,
      });
    });
    imsLatencyMs = deps.now() - started;
    // IMS counts the lifetime from its answer; starting the clock at our request errs on the safe side.
    const fresh = record(imsToken, attemptStarted, credentials.clientId, credentials.imsEndpoint, credentialsSecret, credentials.type);

    // Re-check before writing: a token stored meanwhile that outlives ours stays.
    const latest = await store.read(settings.tokenSecretId);
    const latestToken = latest?.versionId === current?.versionId ? undefined : ourToken(latest);
    if (latestToken && expiresAtMs(latestToken) >= expiresAtMs(fresh)) {
      return result('skipped', 'newer-token-stored', latestToken);
    }
    const written = await store.write(
      settings.tokenSecretId,
      JSON.stringify(fresh),
      requestToken(settings.tokenSecretId, request.requestKey),
    );
    if (written.duplicate) {
      return result('skipped', 'duplicate-delivery', ourToken(latest));
    }
    return result('refreshed', reason, fresh);
  } catch (error) {
    return result('failed', undefined, stored, asRefresherError(error));
  }
}

/** Retries transient IMS failures with exponential backoff and full jitter, honouring Retry-After. */
async function withRetries<T>(request: RefreshRequest, deps: RefreshDeps, attempt: () => Promise<T>): Promise<T> {
  const { deadline, signal } = request;
  for (let n = 1; ; n += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ImsError) || !error.transient || n >= RETRY.maxAttempts || signal?.aborted) throw error;
      const asked = error.retryAfterSeconds === undefined ? undefined : error.retryAfterSeconds * 1000;
      if (asked !== undefined && asked > RETRY.maxRetryAfterMs) throw error;
      const backoff = deps.random() * Math.min(RETRY.maxDelayMs, RETRY.baseDelayMs * 2 ** (n - 1));
      const delay = Math.max(asked ?? 0, backoff);
      if (deps.now() + delay + RETRY.attemptTimeoutMs > deadline) throw error;
      await deps.sleep(delay);
    }
  }
}

function record(
  token: ImsToken,
  issuedAt: number,
  clientId: string,
  imsEndpoint: string,
  credentials: SecretVersion,
  type: CredentialsType,
): TokenRecord {
  return {
    access_token: token.accessToken,
    token_type: 'bearer', // the only type `exchange` accepts
    issued_at: new Date(issuedAt).toISOString(),
    expires_at: new Date(issuedAt + token.lifetimeMs).toISOString(),
    client_id: clientId,
    ims_endpoint: imsEndpoint,
    credentials_version_id: credentials.versionId,
    credentials_type: type,
  };
}

/**
 * The stored token if the secret holds one in our format with dates IMS could have issued; a
 * placeholder, junk or a record with impossible dates counts as none, so it is replaced.
 */
function trustedToken(secret: SecretVersion | undefined, now: number): TokenRecord | undefined {
  if (!secret) return undefined;
  try {
    return checkTokenClock(parseTokenRecord(secret.value), now);
  } catch {
    return undefined;
  }
}

/** The store with every call ending when `signal` aborts, whether or not the adapter honours the signal. */
function bounded(store: SecretStore, signal: AbortSignal | undefined): SecretStore {
  if (!signal) return store;
  const race = <T>(code: 'SECRET_READ_FAILED' | 'TOKEN_WRITE_FAILED', secretId: string, call: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      const abort = () =>
        reject(new SecretStoreError(code, `Secrets Manager did not answer for "${secretId}" before the run's deadline`, signal.reason));
      if (signal.aborted) return abort();
      signal.addEventListener('abort', abort, { once: true });
      call()
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', abort));
    });
  return {
    read: (secretId) => race('SECRET_READ_FAILED', secretId, () => store.read(secretId, { signal })),
    write: (secretId, value, token) => race('TOKEN_WRITE_FAILED', secretId, () => store.write(secretId, value, token, { signal })),
  };
}

/** Secrets Manager wants 32–64 characters; a hash keeps duplicates of one event on one version. */
function requestToken(secretId: string, requestKey: string): string {
  return createHash('sha256').update(`${secretId}\n${requestKey}`).digest('hex');
}

function asRefresherError(error: unknown): RefresherError {
  if (error instanceof RefresherError) return error;
  const name = error instanceof Error ? error.name : typeof error;
  return new RefresherError('INTERNAL_ERROR', `unexpected ${name} during refresh`, { cause: error });
}
