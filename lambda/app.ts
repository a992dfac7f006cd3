import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { readConfig } from './config.js';
import { ConfigurationError, ImsError } from './errors.js';
import { runRefresh, type RefreshDeps, type RefreshRequest, type RunResult } from './refresh.js';
import { redact } from './redact.js';
import { SecretsManagerStore, secretsManagerClient } from './secrets-manager-store.js';
import { expiresAtMs, type TokenRecord } from './token.js';

/** The part of the Lambda context we use. */
export interface InvocationContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/** What the refresher returns to its caller (never a secret). */
export interface RefreshSummary {
  readonly outcome: RunResult['outcome'];
  readonly reason: RunResult['reason'];
  readonly expiresAt: string | undefined;
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
    return { outcome: result.outcome, reason: result.reason, expiresAt: result.token?.expires_at };
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
  const secondsLeft = (token: TokenRecord) => Math.max(0, Math.floor((expiresAtMs(token) - now) / 1000));
  return {
    outcome:
      result.outcome !== 'failed' ? result.outcome : result.error?.transient ? 'failedTransient' : 'failedPermanent',
    secondsToExpiry: result.token ? secondsLeft(result.token) : result.tokenRead ? 0 : undefined,
  } as const;
}

/** One log line and one metrics blob per run; time to expiry on every run that could read it, failed ones too. */
function report(result: RunResult, logger: Logger, metrics: Metrics, now: number): void {
  const { outcome, secondsToExpiry } = runSignals(result, now);
  metrics.addMetric('Runs', MetricUnit.Count, 1);
  metrics.addMetric(OUTCOME_METRIC[outcome], MetricUnit.Count, 1);
  if (secondsToExpiry !== undefined) metrics.addMetric('TokenSecondsToExpiry', MetricUnit.Seconds, secondsToExpiry);
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
  };
  const error = result.error;
  if (!error) {
    logger.info(result.outcome === 'refreshed' ? 'token refreshed' : 'token kept', fields);
    return;
  }
  logger.error('refresh failed', {
    ...fields,
    errorCode: error.code,
    errorName: error.name,
    errorMessage: error.message,
    transient: error.transient,
    ...(error instanceof ImsError
      ? { imsStatus: error.status, imsError: error.imsError, imsDebugId: error.debugId }
      : {}),
    causeName: error.cause instanceof Error ? error.cause.name : undefined,
  });
}
