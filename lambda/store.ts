/** A secret's current value and the version that holds it. */
export interface SecretVersion {
  readonly value: string;
  readonly versionId: string;
}

/**
 * The port the core uses to reach Secrets Manager. `read` returns `undefined` when the secret
 * has no current value yet; `write` is idempotent per `requestToken` (Secrets Manager's
 * `ClientRequestToken`) and reports `duplicate` when that token already wrote another value.
 */
export interface SecretStore {
  read(secretId: string): Promise<SecretVersion | undefined>;
  write(secretId: string, value: string, requestToken: string): Promise<{ readonly duplicate: boolean }>;
}
