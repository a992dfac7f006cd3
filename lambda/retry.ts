/**
 * The retry budget for transient IMS failures within one run, and the loop that spends it: full
 * jitter on an exponential backoff, IMS's `Retry-After` honoured up to a limit, never past the
 * run's deadline. A transient failure of the proxy carrying the call (`PROXY_FAILED`: down, slow,
 * 502 while IMS is unreachable, 407 after its password changed) is retried the same way.
 */
import { ImsError, ProxyError } from '../common/errors.js';
import type { RefreshDeps, RefreshRequest } from './refresh.js';

/** Retry budget for transient IMS failures within one run (docs/protocol.md §3). */
export const RETRY = {
  maxAttempts: 4,
  attemptTimeoutMs: 10_000,
  baseDelayMs: 1_000,
  maxDelayMs: 15_000,
  /** `Retry-After` longer than this ends the run; the next scheduled run tries again. */
  maxRetryAfterMs: 30_000,
} as const;

/** Runs `attempt` until it succeeds, fails for good, or the budget or the deadline runs out. */
export async function withRetries<T>(
  request: RefreshRequest,
  deps: RefreshDeps,
  attempt: () => Promise<T>,
): Promise<T> {
  const { deadline, signal } = request;
  for (let n = 1; ; n += 1) {
    try {
      return await attempt();
    } catch (error) {
      const retriable = (error instanceof ImsError || error instanceof ProxyError) && error.transient;
      if (!retriable || n >= RETRY.maxAttempts || signal?.aborted) throw error;
      const seconds = error instanceof ImsError ? error.retryAfterSeconds : undefined;
      const asked = seconds === undefined ? undefined : seconds * 1000;
      if (asked !== undefined && asked > RETRY.maxRetryAfterMs) throw error;
      const backoff = deps.random() * Math.min(RETRY.maxDelayMs, RETRY.baseDelayMs * 2 ** (n - 1));
      const delay = Math.max(asked ?? 0, backoff);
      if (deps.now() + delay + RETRY.attemptTimeoutMs > deadline) throw error;
      await deps.sleep(delay);
    }
  }
}
