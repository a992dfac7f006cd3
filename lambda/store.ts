/** A secret's current value, the version that holds it and the secret's full ARN. */
export interface SecretVersion {
  readonly value: string;
  readonly versionId: string;
  /** The full ARN, whichever name or ARN the secret was asked for by. */
  readonly arn: string;
}

/** Per-call options: `signal` aborts the call (the run's deadline). */
export interface StoreCallOptions {
  readonly signal?: AbortSignal;
}

/**
 * The port the core uses to reach Secrets Manager. `read` returns `undefined` when the secret
 * exists but has no current value yet, and throws when it does not exist; `write` is idempotent
 * per `requestToken` (Secrets Manager's `ClientRequestToken`) and reports `duplicate` when that
 * token already wrote another value.
 */
export interface SecretStore {
  read(secretId: string, options?: StoreCallOptions): Promise<SecretVersion | undefined>;
  write(secretId: string, value: string, requestToken: string, options?: StoreCallOptions): Promise<{ readonly duplicate: boolean }>;
}
