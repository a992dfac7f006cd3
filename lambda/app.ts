import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { readConfig } from './config.js';
import { ConfigurationError, ImsError } from './errors.js';
import { runRefresh, type RefreshDeps, type RefreshRequest, type RunResult } from './refresh.js';
import { redact } from './redact.js';
import { SecretsManagerStore, secretsManagerClient } from './secrets-manager-store.js';
import { expiresAtMs } from './token.js';

/** The part of the Lambda context we use. */
export interface InvocationContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/** What the refresher returns to its caller (never a secret); optional fields are left out when unknown. */
export interface RefreshSummary {
  readonly outcome: RunResult['outcome'];
  readonly reason: RunResult['reason'];
  /** The token in the secret after the run. */
  readonly expiresAt: string | undefined;
  readonly issuedAt?: string;
  /** The credentials version that minted the token in the secret. */
  readonly credentialsVersionId?: string;
  /** When the current credentials' certificate expires (AEM service credentials). */
  readonly credentialsExpiresAt?: string;
}

export interface HandlerOverrides extends Partial<RefreshDeps> {
  readonly env?: Record<string, string | undefined>;
  /** @default createLogger() - pass one made by `createLogger` too: it carries the redaction */
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

/** Time kept back from the function timeout for the final write and reporting: no IMS attempt starts later. */
const WRITE_RESERVE_MS = 15_000;
/** Time kept back for reporting alone: every call still under way is aborted this long before the timeout. */
export const REPORT_RESERVE_MS = 3_000;

/**
 * The refresher's logger: Powertools JSON logs in which every string, the message included,
 * passes through `redact` (the redaction boundary), whoever logs it.
 */
export function createLogger(options: ConstructorParameters<typeof Logger>[0] = {}): Logger {
  return new Logger({ ...options, jsonReplacerFn: (_key, value) => (typeof value === 'string' ? redact(value) : value) });
}

/**
 * Wires configuration and real adapters to the core. Configuration is read here, at cold start,
 * so a missing variable fails the function's init with a clear `ConfigurationError`.
 */
export function createHandler(overrides: HandlerOverrides = {}) {
  const settings = readConfig(overrides.env ?? process.env);
  const logger = overrides.logger ?? createLogger();
  const metrics = overrides.metrics ?? new Metrics();
  const deps: RefreshDeps = {
    store: overrides.store ?? new SecretsManagerStore(secretsManagerClient()),
    fetch: overrides.fetch ?? globalThis.fetch,
    now: overrides.now ?? Date.now,
    sleep: overrides.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    random: overrides.random ?? Math.random,
  };

  return async (event: unknown, context: InvocationContext): Promise<RefreshSummary> => {
    const result = await runRefresh(settings, request(event, context, deps.now()), deps);
    report(result, logger, metrics, deps.now());
    if (result.error) throw result.error;
    return {
      outcome: result.outcome,
      reason: result.reason,
      expiresAt: result.token?.expires_at,
      ...(result.token ? { issuedAt: result.token.issued_at, credentialsVersionId: result.token.credentials_version_id } : {}),
      ...(result.credentialsExpiresAt === undefined ? {} : { credentialsExpiresAt: isoDate(result.credentialsExpiresAt) }),
    };
  };
}

/**
 * Scheduler events carry `scheduledTime` (same for duplicate deliveries); `{"force": true}` forces.
 * The deadlines come from the invocation's remaining time: real time, as Lambda measures it.
 */
function request(event: unknown, context: InvocationContext, now: number): RefreshRequest {
  const fields = typeof event === 'object' && event !== null ? (event as Record<string, unknown>) : {};
  if (fields.force !== undefined && typeof fields.force !== 'boolean') {
    throw new ConfigurationError('event field "force" must be true or false');
  }
  const scheduledTime = typeof fields.scheduledTime === 'string' ? fields.scheduledTime : undefined;
  const remaining = context.getRemainingTimeInMillis();
  return {
    force: fields.force === true,
    requestKey: scheduledTime ? `schedule:${scheduledTime}` : `invocation:${context.awsRequestId}`,
    deadline: now + remaining - WRITE_RESERVE_MS,
    signal: AbortSignal.timeout(Math.max(0, remaining - REPORT_RESERVE_MS)),
  };
}

const OUTCOME_METRIC = {
  refreshed: 'Refreshed',
  skipped: 'Skipped',
  failedTransient: 'FailedTransient',
  failedPermanent: 'FailedPermanent',
} as const;

/**
 * What a run reports to metrics: the alarms are defined on these values. Time to expiry is 0
 * when the secret holds no token, and unknown (undefined) when the secret could not be read.
 */
export function runSignals(result: RunResult, now: number) {
  const secondsLeft = (expiresAt: number) => Math.max(0, Math.floor((expiresAt - now) / 1000));
  return {
    outcome:
      result.outcome !== 'failed' ? result.outcome : result.error?.transient ? 'failedTransient' : 'failedPermanent',
    secondsToExpiry: result.token ? secondsLeft(expiresAtMs(result.token)) : result.tokenRead ? 0 : undefined,
    credentialsSecondsToExpiry: result.credentialsExpiresAt === undefined ? undefined : secondsLeft(result.credentialsExpiresAt),
  } as const;
}

const isoDate = (ms: number) => new Date(ms).toISOString();

/** One log line and one metrics blob per run; time to expiry on every run that could read it, failed ones too. */
function report(result: RunResult, logger: Logger, metrics: Metrics, now: number): void {
  const { outcome, secondsToExpiry, credentialsSecondsToExpiry } = runSignals(result, now);
  metrics.addMetric('Runs', MetricUnit.Count, 1);
  metrics.addMetric(OUTCOME_METRIC[outcome], MetricUnit.Count, 1);
  if (secondsToExpiry !== undefined) metrics.addMetric('TokenSecondsToExpiry', MetricUnit.Seconds, secondsToExpiry);
  if (credentialsSecondsToExpiry !== undefined) {
    metrics.addMetric('CredentialsSecondsToExpiry', MetricUnit.Seconds, credentialsSecondsToExpiry);
  }
  metrics.addMetric('ImsAttempts', MetricUnit.Count, result.imsAttempts);
  if (result.imsLatencyMs !== undefined) metrics.addMetric('ImsLatency', MetricUnit.Milliseconds, result.imsLatencyMs);
  metrics.publishStoredMetrics();

  const fields = {
    outcome,
    reason: result.reason,
    expiresAt: result.token?.expires_at,
    secondsToExpiry,
    imsAttempts: result.imsAttempts,
    imsLatencyMs: result.imsLatencyMs,
    credentialsVersionId: result.credentialsVersionId,
    credentialsExpiresAt: result.credentialsExpiresAt === undefined ? undefined : isoDate(result.credentialsExpiresAt),
  };
  if (result.outcome === 'refreshed' && result.rejectedClientSecrets.length > 0) {
    // Indexes only: which entries of the credentials' client secrets to delete, never their values.
    logger.warn('client secret rejected', {
      rejectedClientSecrets: result.rejectedClientSecrets,
      action: 'IMS refused these client secrets (by position in the credentials); a later one worked: delete them from the credentials',
    });
  }
  const error = result.error;
  if (!error) {
    logger.info(result.outcome === 'refreshed' ? 'token refreshed' : 'token kept', fields);
    return;
  }
  // IMS's answer, also when it is the cause of a fallback's credentials error.
  const ims = error instanceof ImsError ? error : error.cause instanceof ImsError ? error.cause : undefined;
  logger.error('refresh failed', {
    ...fields,
    errorCode: error.code,
    errorName: error.name,
    errorMessage: error.message,
    transient: error.transient,
    ...(ims ? { imsStatus: ims.status, imsError: ims.imsError, imsDebugId: ims.debugId } : {}),
    causeName: error.cause instanceof Error ? error.cause.name : undefined,
    ...(result.fallbackCredentialsVersionId === undefined
      ? {}
      : { rejectedCredentialsVersionId: result.credentialsVersionId, fallbackCredentialsVersionId: result.fallbackCredentialsVersionId }),
    // The previous version was tried and could not mint either: a second bad upload, or its own trouble.
    ...(result.fallbackFailure === undefined
      ? {}
      : { fallbackCredentialsVersionId: result.fallbackFailure.versionId, fallbackErrorCode: result.fallbackFailure.errorCode }),
  });
}
