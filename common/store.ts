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

/** What a read may ask for besides the call options: the version with this staging label. */
export interface ReadOptions extends StoreCallOptions {
  /** @default 'AWSCURRENT' */
  readonly versionStage?: 'AWSCURRENT' | 'AWSPREVIOUS';
}

/**
 * The port the core uses to reach Secrets Manager. `read` returns `undefined` when the secret
 * exists but has no version with that label (no value yet, or no previous one), and throws when
 * it does not exist; `write` is idempotent
 * per `requestToken` (Secrets Manager's `ClientRequestToken`) and reports `duplicate` when that
 * token already wrote another value.
 */
export interface SecretStore {
  read(secretId: string, options?: ReadOptions): Promise<SecretVersion | undefined>;
  write(
    secretId: string,
    value: string,
    requestToken: string,
    options?: StoreCallOptions,
  ): Promise<{ readonly duplicate: boolean }>;
}
