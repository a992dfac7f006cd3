import type { Logger } from '@aws-lambda-powertools/logger';
import { adobeConsole, ADOBE_REQUEST_TIMEOUT_MS } from './adobe-console.js';
import { createLogger, errorFields, networkAdapters, REPORT_RESERVE_MS, type InvocationContext } from './app.js';
import { bounded } from './bounded-store.js';
import { readRotationConfig } from './config.js';
import { exchange, type Fetch } from './ims.js';
import { RETRY } from './retry.js';
import { parseRotationEvent, runRotation, type RotationDeps, type StepReport } from './rotation.js';

export interface RotationHandlerOverrides extends Partial<RotationDeps> {
  readonly env?: Record<string, string | undefined>;
  /** Both IMS and the I/O Management API. @default the network's (through HTTPS_PROXY when set) */
  readonly fetch?: Fetch;
  /** @default createLogger() */
  readonly logger?: Logger;
}

/**
 * Wires the rotation core (lambda/rotation.ts) to the refresher's building blocks: configuration
 * read at cold start, the network adapters, the store bounded by the invocation's deadline, the
 * redacting logger. One log line per step; a failed step throws, so Secrets Manager retries it.
 */
export function createRotationHandler(overrides: RotationHandlerOverrides = {}) {
  const settings = readRotationConfig(overrides.env ?? process.env);
  const logger = overrides.logger ?? createLogger();
  const network = networkAdapters(settings);
  const now = overrides.now ?? Date.now;
  const imsFetch = overrides.fetch ?? network.fetchFor('IMS');
  const adobeFetch = overrides.fetch ?? network.fetchFor('I/O Management API');

  return async (event: unknown, context: InvocationContext): Promise<StepReport> => {
    const parsed = parseRotationEvent(event);
    // Every call still under way is aborted when only the reporting reserve is left.
    const signal = AbortSignal.timeout(Math.max(0, context.getRemainingTimeInMillis() - REPORT_RESERVE_MS));
    const deps: RotationDeps = {
      store: bounded(overrides.store ?? network.store, signal),
      now,
      mint:
        overrides.mint ??
        (async (credentials, clientSecret) => {
          const options = {
            fetch: imsFetch,
            now: now(),
            baseUrl: settings.imsBaseUrl,
            timeoutMs: RETRY.attemptTimeoutMs,
            signal,
          };
          return (await exchange(credentials, clientSecret, options)).accessToken;
        }),
      adobe:
        overrides.adobe ??
        ((session) =>
          adobeConsole(session, {
            fetch: adobeFetch,
            baseUrl: settings.adobeApiBaseUrl,
            timeoutMs: ADOBE_REQUEST_TIMEOUT_MS,
            signal,
          })),
    };
    const { report, error } = await runRotation(settings, parsed, deps);
    if (!error) {
      logger.info(`rotation ${report.step}`, { ...report });
      return report;
    }
    logger.error(`rotation ${report.step} failed`, { ...report, ...errorFields(error) });
    throw error;
  };
}
