import { SecretStoreError } from '../common/errors.js';
import type { SecretStore } from '../common/store.js';

/**
 * The store with every call bounded by the run's `signal`: when the deadline passes, a call still
 * waiting for Secrets Manager fails with a typed error instead of outliving the run.
 */
export function bounded(store: SecretStore, signal: AbortSignal | undefined): SecretStore {
  if (!signal) return store;
  const race = <T>(code: 'SECRET_READ_FAILED' | 'TOKEN_WRITE_FAILED', secretId: string, call: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      const abort = () =>
        reject(
          new SecretStoreError(
            code,
            `Secrets Manager did not answer for "${secretId}" before the run's deadline`,
            signal.reason,
          ),
        );
      if (signal.aborted) return abort();
      signal.addEventListener('abort', abort, { once: true });
      call()
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', abort));
    });
  return {
    read: (secretId, options) =>
      race('SECRET_READ_FAILED', secretId, () => store.read(secretId, { ...options, signal })),
    stage: (secretId, value, versionId, options) =>
      race('TOKEN_WRITE_FAILED', secretId, () => store.stage(secretId, value, versionId, { ...options, signal })),
    promote: (secretId, versionId, expectedCurrent) =>
      race('TOKEN_WRITE_FAILED', secretId, () => store.promote(secretId, versionId, expectedCurrent, { signal })),
  };
}
