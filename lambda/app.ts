import { Logger } from '@aws-lambda-powertools/logger';
import { readConfig, type RefreshSettings } from './config.js';
import { ConfigurationError, ImsError, type ProxiedCall, type RefresherError } from '../common/errors.js';
import { fetchVia } from './fetch-via.js';
import type { Fetch } from './ims.js';
import { proxyCredentials } from './proxy-credentials.js';
import { ProxyAgent } from '../common/proxy.js';
import type { SecretStore } from '../common/store.js';
import { runRefresh, type RefreshDeps, type RefreshRequest, type RunResult } from './refresh.js';
import { emfLine } from './metrics.js';
import { redact } from '../common/redact.js';
import { SecretsManagerStore, secretsManagerClient } from '../common/secrets-manager-store.js';
import { expiresAtMs } from '../common/token.js';

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
  /** A failed run that did not throw (a transient failure: the next scheduled run retries): its error code and message. */
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

export interface HandlerOverrides extends Partial<RefreshDeps> {
  readonly env?: Record<string, string | undefined>;
  /** @default createLogger() - pass one made by `createLogger` too: it carries the redaction */
  readonly logger?: Logger;
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
  return new Logger({
    ...options,
    jsonReplacerFn: (_key, value) => (typeof value === 'string' ? redact(value) : value),
  });
}

/**
 * Wires configuration and real adapters to the core. Configuration is read here, at cold start,
 * so a missing variable fails the function's init with a clear `ConfigurationError`.
 */
export function createHandler(overrides: HandlerOverrides = {}) {
  const env = overrides.env ?? process.env;
  const settings = readConfig(env);
  const logger = overrides.logger ?? createLogger();
  // Set by the construct: the EMF line's namespace and `service` dimension (metrics.ts). The names are
  // Powertools' because its Logger reads POWERTOOLS_SERVICE_NAME for the log lines' `service` too.
  const metricsTarget = {
    namespace: env.POWERTOOLS_METRICS_NAMESPACE || 'ImsTokenRefresher',
    service: env.POWERTOOLS_SERVICE_NAME || 'service_undefined',
  };
  const network = networkAdapters(settings);
  const deps: RefreshDeps = {
    store: overrides.store ?? network.store,
    fetch: overrides.fetch ?? network.fetchFor('IMS'),
    now: overrides.now ?? Date.now,
    sleep: overrides.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    random: overrides.random ?? Math.random,
  };

  return async (event: unknown, context: InvocationContext): Promise<RefreshSummary> => {
    const result = await runRefresh(settings, request(event, context, deps.now()), deps);
    const signals = runSignals(result, deps.now());
    if (Object.keys(signals.metrics).length > 0)
      process.stdout.write(`${emfLine(metricsTarget, deps.now(), signals.metrics)}\n`);
    report(result, signals, logger);
    // Lambda's own Errors metric (free) is the permanent-failure alarm: only what a person must fix throws.
    if (signals.throws && result.error) throw result.error;
    return {
      outcome: result.outcome,
      reason: result.reason,
      expiresAt: result.token?.expires_at,
      ...(result.token
        ? { issuedAt: result.token.issued_at, credentialsVersionId: result.token.credentials_version_id }
        : {}),
      ...(result.credentialsExpiresAt === undefined
        ? {}
        : { credentialsExpiresAt: isoDate(result.credentialsExpiresAt) }),
      ...(result.error ? { errorCode: result.error.code, errorMessage: redact(result.error.message) } : {}),
    };
  };
}

/**
 * The Secrets Manager store and the `fetch` for each kind of HTTPS call (IMS, the I/O Management
 * API), shared by the refresher and the rotation function. With `HTTPS_PROXY` their connections go
 * through the proxy (hosts in `NO_PROXY` directly), its credentials read from their secret when a
 * connection first needs them; the AWS SDK gets the agent explicitly: its own ignores the proxy
 * variables. Without it: the SDK's own agent and the global `fetch`.
 */
export function networkAdapters(settings: Pick<RefreshSettings, 'proxy' | 'proxyCredentialsSecretId'>): {
  store: SecretStore;
  fetchFor: (call: Exclude<ProxiedCall, 'Secrets Manager'>) => Fetch;
} {
  const { proxy, proxyCredentialsSecretId } = settings;
  if (!proxy) return { store: new SecretsManagerStore(secretsManagerClient()), fetchFor: () => globalThis.fetch };
  const credentials = proxyCredentialsSecretId ? proxyCredentials(proxy, proxyCredentialsSecretId) : undefined;
  const agent = (call: ProxiedCall) =>
    new ProxyAgent(proxy, {
      call,
      credentials,
      credentialsRefused: credentials?.forget,
      agentOptions: { keepAlive: true },
    });
  return {
    store: new SecretsManagerStore(secretsManagerClient({}, agent('Secrets Manager'))),
    fetchFor: (call) => fetchVia(agent(call)),
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

/**
 * What a run reports to CloudWatch; the construct's alarms are defined on exactly this. Custom
 * metrics are billed for each hour in which they are sent, so a run sends only what an alarm reads:
 * - `TokenSecondsToExpiry` (0 when the secret holds no token, absent when it could not be read) and
 *   `CredentialsSecondsToExpiry` (AEM service credentials only), on runs that refreshed or failed:
 *   about two hours a day. A skipped run found the token fresh, with more than the refresh window
 *   left, which is above the expiry alarm's floor: it has nothing to tell that alarm.
 * - `throws`: the run ends in an error only when a person must act (bad credentials, IMS 4xx), so
 *   Lambda's free `Errors` metric counts permanent failures; its `Invocations` show it runs.
 * Everything else (outcome, IMS attempts and latency) is a field of the run's log line.
 */
export function runSignals(result: RunResult, now: number) {
  const secondsLeft = (expiresAt: number) => Math.max(0, Math.floor((expiresAt - now) / 1000));
  const metrics: { TokenSecondsToExpiry?: number; CredentialsSecondsToExpiry?: number } = {};
  if (result.outcome !== 'skipped') {
    if (result.token) metrics.TokenSecondsToExpiry = secondsLeft(expiresAtMs(result.token));
    else if (result.tokenRead) metrics.TokenSecondsToExpiry = 0;
    if (result.credentialsExpiresAt !== undefined)
      metrics.CredentialsSecondsToExpiry = secondsLeft(result.credentialsExpiresAt);
  }
  return {
    outcome:
      result.outcome !== 'failed' ? result.outcome : result.error?.transient ? 'failedTransient' : 'failedPermanent',
    /** Seconds the token in the secret has left, logged on every run that read it. */
    secondsToExpiry: result.token ? secondsLeft(expiresAtMs(result.token)) : result.tokenRead ? 0 : undefined,
    metrics,
    throws: result.error !== undefined && !result.error.transient,
  } as const;
}

const isoDate = (ms: number) => new Date(ms).toISOString();

/** One log line per run. */
function report(result: RunResult, signals: ReturnType<typeof runSignals>, logger: Logger): void {
  const { outcome, secondsToExpiry } = signals;

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
      action:
        'IMS refused these client secrets (by position in the credentials); a later one worked: delete them from the credentials',
    });
  }
  if (result.supersededBy) {
    // Not a failure: the run of the newer upload reports on it.
    logger.info('run superseded', {
      ...fields,
      supersededByCredentialsVersionId: result.supersededBy.credentialsVersionId,
      rejectedWith: result.supersededBy.errorCode,
    });
    return;
  }
  const error = result.error;
  if (!error) {
    logger.info(result.outcome === 'refreshed' ? 'token refreshed' : 'token kept', fields);
    return;
  }
  logger.error('refresh failed', {
    ...fields,
    ...errorFields(error),
    causeName: error.cause instanceof Error ? error.cause.name : undefined,
    ...(result.fallbackCredentialsVersionId === undefined
      ? {}
      : {
          rejectedCredentialsVersionId: result.credentialsVersionId,
          fallbackCredentialsVersionId: result.fallbackCredentialsVersionId,
        }),
    // The previous version was tried and could not mint either: a second bad upload, or its own trouble.
    ...(result.fallbackFailure === undefined
      ? {}
      : {
          fallbackCredentialsVersionId: result.fallbackFailure.versionId,
          fallbackErrorCode: result.fallbackFailure.errorCode,
        }),
  });
}

/**
 * A failure's fields in a log line: its code, name, message and transience, and IMS's answer, also
 * when it is the cause (a fallback's credentials error, a rotation step's).
 */
export function errorFields(error: RefresherError): Record<string, unknown> {
  const ims = error instanceof ImsError ? error : error.cause instanceof ImsError ? error.cause : undefined;
  return {
    errorCode: error.code,
    errorName: error.name,
    errorMessage: error.message,
    transient: error.transient,
    ...(ims ? { imsStatus: ims.status, imsError: ims.imsError, imsDebugId: ims.debugId } : {}),
  };
}
