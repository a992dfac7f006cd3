import { createHash } from 'node:crypto';
import type { RefreshSettings } from './config.js';
import { parseCredentials, type Credentials } from '../common/credentials.js';
import {
  ConfigurationError,
  CredentialsError,
  ImsError,
  RefresherError,
  SecretStoreError,
  type ErrorCode,
} from '../common/errors.js';
import { bounded } from './bounded-store.js';
import { clientSecretRefused, exchange, type Fetch, type ImsToken } from './ims.js';
import { isDue, refreshReason, type RefreshReason } from './policy.js';
import { RETRY, withRetries } from './retry.js';
import type { SecretStore, SecretVersion } from '../common/store.js';
import { expiresAtMs, trustedToken, type TokenRecord } from '../common/token.js';

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

/**
 * `superseded`: the run's credentials were rejected, but a newer credentials version was uploaded
 * while it ran; the run that upload triggers decides, so this one ends without a failure.
 */
export type Outcome = 'refreshed' | 'skipped' | 'superseded' | 'failed';

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
  /** `VersionId` of the credentials secret's current version, once read. */
  readonly credentialsVersionId?: string;
  /** When the current credentials' certificate expires (epoch ms): AEM service credentials that parse. */
  readonly credentialsExpiresAt?: number;
  /** Indexes of client secrets IMS refused (401 `invalid_client`) before a later one worked: remove them. */
  readonly rejectedClientSecrets: readonly number[];
  /** Set when the current credentials failed and the token in the secret was minted from the previous version. */
  readonly fallbackCredentialsVersionId?: string;
  /** Set when the current credentials failed and the previous version could not mint either: its id and why. */
  readonly fallbackFailure?: { readonly versionId: string; readonly errorCode: ErrorCode };
  /** Set when the run was superseded: the credentials secret's current version at the end, and why the run's own version failed. */
  readonly supersededBy?: { readonly credentialsVersionId: string; readonly errorCode: ErrorCode };
  readonly error?: RefresherError;
}

/**
 * One refresher run. Never throws: a failure comes back as `outcome: 'failed'` with a typed
 * `error`, so the caller can always report the token's time-to-expiry. A failed run writes
 * nothing, with one exception: when the current credentials fail permanently and the token is
 * needed, a token minted from the previous credentials version (`AWSPREVIOUS`) is stored, and the
 * run still fails so that someone fixes the upload.
 */
export async function runRefresh(
  settings: RefreshSettings,
  request: RefreshRequest,
  deps: RefreshDeps,
): Promise<RunResult> {
  const run: Run = {
    settings,
    request,
    deps,
    store: bounded(deps.store, request.signal),
    stored: undefined,
    tokenRead: false,
    imsAttempts: 0,
    imsLatencyMs: undefined,
    credentialsVersionId: undefined,
    credentialsExpiresAt: undefined,
    rejectedClientSecrets: [],
  };
  return failed(run, () => refresh(run));
}

/**
 * One run's inputs, and what it has learnt so far: each step takes it, and `finish` reports from
 * it. `store` is the injected store bounded by the request's signal.
 */
interface Run {
  readonly settings: RefreshSettings;
  readonly request: RefreshRequest;
  readonly deps: RefreshDeps;
  readonly store: SecretStore;
  /** The token in the secret at the start, when it is one of ours. */
  stored: TokenRecord | undefined;
  tokenRead: boolean;
  imsAttempts: number;
  imsLatencyMs: number | undefined;
  credentialsVersionId: string | undefined;
  credentialsExpiresAt: number | undefined;
  readonly rejectedClientSecrets: number[];
}

/** What the run found before minting: both secrets as read, and why it must mint (if it must). */
interface Findings {
  /** The token secret as first read (compared with what is there before writing). */
  readonly current: SecretVersion | undefined;
  readonly credentialsSecret: SecretVersion;
  readonly reason: RefreshReason | undefined;
}

/** The run's result from what it has learnt, with how it ended. */
function finish(
  run: Run,
  outcome: Outcome,
  reason: RunResult['reason'],
  token: TokenRecord | undefined,
  error?: RefresherError,
  fallback?: Pick<RunResult, 'fallbackCredentialsVersionId' | 'fallbackFailure'>,
): RunResult {
  const { tokenRead, imsAttempts, imsLatencyMs, credentialsVersionId, credentialsExpiresAt, rejectedClientSecrets } =
    run;
  return {
    outcome,
    reason,
    token,
    tokenRead,
    imsAttempts,
    imsLatencyMs,
    ...(credentialsVersionId === undefined ? {} : { credentialsVersionId }),
    ...(credentialsExpiresAt === undefined ? {} : { credentialsExpiresAt }),
    rejectedClientSecrets,
    ...fallback,
    ...(error ? { error } : {}),
  };
}

/** The run's steps; a step's error ends the run as failed (see `runRefresh`). */
async function refresh(run: Run): Promise<RunResult> {
  const current = await readToken(run);
  const credentialsSecret = await readCredentials(run, current);
  // Parsed on every run, so the certificate's expiry is reported every run and a bad upload fails at once.
  const parsed = parseCurrent(run, credentialsSecret);
  const reason = refreshReason({
    token: run.stored,
    credentialsVersionId: credentialsSecret.versionId,
    now: run.deps.now(),
    threshold: run.settings.refreshThreshold,
    force: run.request.force,
  });
  if (!reason && !parsed.unusable) return finish(run, 'skipped', 'fresh', run.stored);

  const found: Findings = { current, credentialsSecret, reason };
  let fresh: TokenRecord;
  try {
    if (!parsed.credentials) throw parsed.unusable;
    fresh = await mint(run, parsed.credentials, credentialsSecret);
  } catch (error) {
    return await unlessSuperseded(run, await failed(run, () => fallBack(run, found, error)));
  }
  const saved = await save(run, fresh, current);
  return finish(run, saved.reason ? 'skipped' : 'refreshed', saved.reason ?? reason, saved.token);
}

/** Reads the token secret and keeps the token in it if it is one of ours; returns the secret as read. */
async function readToken(run: Run): Promise<SecretVersion | undefined> {
  const current = await run.store.read(run.settings.tokenSecretId);
  run.stored = trustedToken(current?.value, run.deps.now());
  run.tokenRead = true;
  return current;
}

/** Reads the credentials secret's current version; refuses an empty one and one that is the token secret. */
async function readCredentials(run: Run, tokenSecret: SecretVersion | undefined): Promise<SecretVersion> {
  const { credentialsSecretId } = run.settings;
  const credentialsSecret = await run.store.read(credentialsSecretId);
  if (!credentialsSecret) {
    throw new CredentialsError(
      `credentials secret "${credentialsSecretId}" has no value yet; put the credentials JSON in it`,
    );
  }
  run.credentialsVersionId = credentialsSecret.versionId;
  // The ids may differ as strings (a name and an ARN) and still name one secret: writing the token would destroy the credentials.
  if (tokenSecret && tokenSecret.arn === credentialsSecret.arn) {
    throw new ConfigurationError(
      'CREDENTIALS_SECRET_ID and TOKEN_SECRET_ID name the same secret; the token needs a secret of its own',
    );
  }
  return credentialsSecret;
}

/** The current credentials, or why they are unusable (thrown only if the run must mint). */
function parseCurrent(run: Run, secret: SecretVersion): { credentials?: Credentials; unusable?: unknown } {
  try {
    const credentials = parse(run.settings, secret);
    if (credentials.type === 'jwt') run.credentialsExpiresAt = credentials.certificateExpiresAt;
    return { credentials };
  } catch (error) {
    return { unusable: error };
  }
}

function parse(settings: RefreshSettings, secret: SecretVersion): Credentials {
  return parseCredentials(secret.value, {
    type: settings.credentialsType,
    allowAnyImsHost: settings.imsBaseUrl !== undefined,
    credentialName: settings.credentialName,
  });
}

/** What `fail` returns, or the failed run's result when it throws. */
async function failed(run: Run, fail: () => Promise<RunResult>): Promise<RunResult> {
  try {
    return await fail();
  } catch (error) {
    return finish(run, 'failed', undefined, run.stored, asRefresherError(error));
  }
}

/**
 * `result`, unless the run failed because its credentials were rejected and a newer version of
 * them was uploaded meanwhile (a rotation, a fix): then the run is `superseded`, not failed, so
 * it does not page. The newer version's own run decides, or else the next scheduled one.
 */
async function unlessSuperseded(run: Run, result: RunResult): Promise<RunResult> {
  const { error, ...rest } = result;
  if (!error || !credentialsRejected(error)) return result;
  const newer = await newerCredentials(run);
  if (!newer) return result;
  return { ...rest, outcome: 'superseded', supersededBy: { credentialsVersionId: newer, errorCode: error.code } };
}

/**
 * The credentials secret's current version if it is no longer the one the run started with: the
 * run's failure is then stale. A failure to tell counts as no change, so the failure is reported.
 */
async function newerCredentials(run: Run): Promise<string | undefined> {
  try {
    const latest = await currentCredentialsVersion(run);
    return latest !== run.credentialsVersionId ? latest : undefined;
  } catch {
    return undefined;
  }
}

/** The `VersionId` of the credentials secret's current version, read now (`undefined`: no value). */
async function currentCredentialsVersion(run: Run): Promise<string | undefined> {
  return (await run.store.read(run.settings.credentialsSecretId))?.versionId;
}

/** Whether an IMS attempt started now would end before the run's deadline. */
function timeForAnAttempt(run: Run): boolean {
  return run.deps.now() + RETRY.attemptTimeoutMs <= run.request.deadline;
}

/**
 * After the current credentials failed with `error`: when the token is needed and they were
 * rejected, mints from the previous version (`AWSPREVIOUS`) and stores that token, still failing
 * the run so that someone fixes the upload. Throws `error` when there is nothing to fall back on.
 */
async function fallBack(run: Run, found: Findings, error: unknown): Promise<RunResult> {
  const { settings, deps } = run;
  // A bad upload must not take the token down: the previous version may still work.
  const needed = !run.stored || isDue(run.stored, deps.now(), settings.refreshThreshold);
  if (!credentialsRejected(error) || !needed || !timeForAnAttempt(run)) throw error;
  const previous = await run.store.read(settings.credentialsSecretId, { versionStage: 'AWSPREVIOUS' });
  if (!previous) throw error;
  let fallback: TokenRecord;
  try {
    fallback = await mint(run, parse(settings, previous), previous);
  } catch (previousError) {
    // The current version is what someone must fix; why the previous one did not help goes to the log.
    const fallbackFailure = { versionId: previous.versionId, errorCode: asRefresherError(previousError).code };
    return finish(run, 'failed', undefined, run.stored, asRefresherError(error), { fallbackFailure });
  }
  const kept = await save(run, fallback, found.current);
  if (kept.reason) throw error; // another run stored a token meanwhile: nothing of ours to report
  const failure = new CredentialsError(
    `credentials version "${found.credentialsSecret.versionId}" (AWSCURRENT) failed: ${(error as Error).message}; ` +
      `the token was minted from version "${previous.versionId}" (AWSPREVIOUS) meanwhile: upload working credentials`,
    { cause: error },
  );
  return finish(run, 'failed', found.reason, kept.token, failure, { fallbackCredentialsVersionId: previous.versionId });
}

/** A token from `credentials`, trying their client secrets in order, transient failures retried. */
async function mint(run: Run, credentials: Credentials, version: SecretVersion): Promise<TokenRecord> {
  const started = run.deps.now();
  // Which client secret to try: a transient failure retries the same one.
  const next = { secret: 0 };
  try {
    const { token, requestedAt } = await withRetries(run.request, run.deps, () =>
      exchangeAnySecret(run, credentials, next),
    );
    // IMS counts the lifetime from its answer; starting the clock at our request errs on the safe side.
    return record(token, requestedAt, credentials, version, next.secret);
  } finally {
    run.imsLatencyMs = (run.imsLatencyMs ?? 0) + run.deps.now() - started;
  }
}

/**
 * One attempt at IMS, from client secret `next.secret` on: a secret IMS refuses is recorded in
 * the run and the next one tried at once, while the deadline allows. Returns the token and when
 * the request that got it started.
 */
async function exchangeAnySecret(
  run: Run,
  credentials: Credentials,
  next: { secret: number },
): Promise<{ token: ImsToken; requestedAt: number }> {
  for (;;) {
    run.imsAttempts += 1;
    const requestedAt = run.deps.now();
    try {
      const token = await exchange(credentials, credentials.clientSecrets[next.secret], {
        fetch: run.deps.fetch,
        now: requestedAt,
        baseUrl: run.settings.imsBaseUrl,
        timeoutMs: RETRY.attemptTimeoutMs,
        signal: run.request.signal,
      });
      return { token, requestedAt };
    } catch (error) {
      if (!clientSecretRefused(error) || next.secret + 1 >= credentials.clientSecrets.length) throw error;
      // A refused secret is not a retry: the next one is tried at once, while the deadline allows.
      if (!timeForAnAttempt(run)) {
        throw new ImsError(
          'IMS_UNAVAILABLE',
          `IMS refused client secret ${next.secret} and the run's deadline left no time to try the next one`,
          { cause: error },
        );
      }
      run.rejectedClientSecrets.push(next.secret);
      next.secret += 1;
    }
  }
}

/** How many times a run tries to make its token current while other runs keep replacing the current version. */
const MAX_PROMOTIONS = 3;

/**
 * Stores `fresh` by compare-and-swap and returns the token in the secret afterwards; `reason`
 * says why `fresh` is not the one. The token is staged as a new version, then made current only
 * if the current version is still `before`, the one the run decided on. When another run moved
 * it meanwhile, the run reads the secret again and keeps whichever token `replaces` prefers.
 */
async function save(
  run: Run,
  fresh: TokenRecord,
  before: SecretVersion | undefined,
): Promise<{ token: TokenRecord | undefined; reason?: 'newer-token-stored' | 'duplicate-delivery' }> {
  const { settings, deps } = run;
  const versionId = requestToken(settings.tokenSecretId, run.request.requestKey, fresh.credentials_version_id);
  const staged = await run.store.stage(settings.tokenSecretId, JSON.stringify(fresh), versionId);
  // A duplicate delivery: an earlier run for the same event and credentials staged its token under this id.
  const candidate = staged.duplicate ? await stagedToken(run, versionId) : fresh;
  const reason = staged.duplicate ? 'duplicate-delivery' : undefined;
  let current = before;
  // The run chose to replace `before` with a token of its own; any other pair is compared.
  let compare = staged.duplicate;
  for (let promotions = 1; ; promotions++) {
    if (current?.versionId === versionId) return { token: candidate, reason };
    const latest = trustedToken(current?.value, deps.now());
    if (compare && latest && !(await replaces(run, candidate, latest))) {
      return { token: latest, reason: 'newer-token-stored' };
    }
    if (await run.store.promote(settings.tokenSecretId, versionId, current?.versionId)) {
      return { token: candidate, reason };
    }
    if (promotions === MAX_PROMOTIONS)
      throw writeFailed(run, `other runs replaced it ${MAX_PROMOTIONS} times meanwhile`);
    const refused = current?.versionId;
    current = await run.store.read(settings.tokenSecretId);
    // Refused although AWSCURRENT had not moved: not a lost race. The next run tries again.
    if (current?.versionId === refused) throw writeFailed(run, 'Secrets Manager refused to move AWSCURRENT');
    compare = true;
  }
}

/** The token a duplicate delivery staged under `versionId`. */
async function stagedToken(run: Run, versionId: string): Promise<TokenRecord> {
  const version = await run.store.read(run.settings.tokenSecretId, { versionId });
  const token = trustedToken(version?.value, run.deps.now());
  if (!token) throw writeFailed(run, `version "${versionId}" holds no token`);
  return token;
}

function writeFailed(run: Run, why: string): SecretStoreError {
  return new SecretStoreError(
    'TOKEN_WRITE_FAILED',
    `could not make the new token current in "${run.settings.tokenSecretId}": ${why}`,
    undefined,
    true,
  );
}

/**
 * Whether `candidate` should replace `latest`, a token another run stored meanwhile. A token
 * minted from the credentials' current version replaces one from any other version, and is never
 * replaced by one; otherwise the one that expires later wins. The credentials secret is read
 * again only when the two come from different versions.
 */
async function replaces(run: Run, candidate: TokenRecord, latest: TokenRecord): Promise<boolean> {
  if (candidate.credentials_version_id !== latest.credentials_version_id) {
    const current = await currentCredentialsVersion(run);
    if (latest.credentials_version_id === current) return false;
    if (candidate.credentials_version_id === current) return true;
  }
  return expiresAtMs(candidate) > expiresAtMs(latest);
}

/** Failures only new credentials fix: unusable credentials, or IMS refusing them (4xx other than 429). */
function credentialsRejected(error: unknown): boolean {
  return error instanceof CredentialsError || (error instanceof ImsError && error.code === 'IMS_REJECTED');
}

/**
 * The token record for an IMS answer to a request made at `issuedAt` with client secret `secret`
 * (its index) of `credentials` from `version`; with its Adobe uuid when the credentials carry uuids.
 */
function record(
  token: ImsToken,
  issuedAt: number,
  credentials: Credentials,
  version: SecretVersion,
  secret: number,
): TokenRecord {
  const uuid = credentials.type === 'oauth' ? credentials.clientSecretUuids?.[secret] : undefined;
  return {
    access_token: token.accessToken,
    token_type: 'bearer', // the only type `exchange` accepts
    issued_at: new Date(issuedAt).toISOString(),
    expires_at: new Date(issuedAt + token.lifetimeMs).toISOString(),
    client_id: credentials.clientId,
    ims_endpoint: credentials.imsEndpoint,
    credentials_version_id: version.versionId,
    credentials_type: credentials.type,
    ...(uuid === undefined ? {} : { client_secret_uuid: uuid }),
  };
}

/**
 * The new version's id (`ClientRequestToken`): Secrets Manager wants 32–64 characters; a hash
 * keeps duplicate deliveries of one event with the same credentials version on one version.
 */
function requestToken(secretId: string, requestKey: string, credentialsVersionId: string): string {
  return createHash('sha256').update(`${secretId}\n${requestKey}\n${credentialsVersionId}`).digest('hex');
}

function asRefresherError(error: unknown): RefresherError {
  if (error instanceof RefresherError) return error;
  const name = error instanceof Error ? error.name : typeof error;
  return new RefresherError('INTERNAL_ERROR', `unexpected ${name} during refresh`, { cause: error });
}
