/** A secret's current value, the version that holds it and the secret's full ARN. */
export interface SecretVersion {
  readonly value: string;
  readonly versionId: string;
  /** The full ARN, whichever name or ARN the secret was asked for by. */
  readonly arn: string;
  /** The version's staging labels (`VersionStages`), when the store reports them. */
  readonly stages?: readonly string[];
}

/** Per-call options: `signal` aborts the call (the run's deadline). */
export interface StoreCallOptions {
  readonly signal?: AbortSignal;
}

/** What a read may ask for besides the call options: the version with this id, or with this staging label. */
export interface ReadOptions extends StoreCallOptions {
  /**
   * With `versionId`: that version only if it holds this label (Secrets Manager's rule).
   * @default 'AWSCURRENT' (unless `versionId` is given)
   */
  readonly versionStage?: 'AWSCURRENT' | 'AWSPREVIOUS' | typeof ROTATION_PENDING_STAGE;
  /** Read this version, whatever its labels (unless `versionStage` is given too). */
  readonly versionId?: string;
}

/** Secrets Manager's label for the version a rotation is creating (docs/protocol.md §8). */
export const ROTATION_PENDING_STAGE = 'AWSPENDING';

/** What `stage` may label a new version with: a token on its way to AWSCURRENT, or a rotation's new credentials. */
export interface StageOptions extends StoreCallOptions {
  /** @default PENDING_STAGE */
  readonly label?: typeof PENDING_STAGE | typeof ROTATION_PENDING_STAGE;
}

/**
 * The staging label a new token version is written under before it becomes `AWSCURRENT`
 * (see `SecretStore.stage`). A label is on one version at a time, so it keeps the newest staged
 * version from counting as deprecated.
 */
export const PENDING_STAGE = 'IMSREFRESHER_PENDING';

/**
 * The port the core uses to reach Secrets Manager. `read` returns `undefined` when the secret
 * exists but has no version with that label (no value yet, or no previous one), and throws when
 * it does not exist. A token is written in two steps, so that it replaces only the version the run
 * decided on (compare-and-swap): `stage` adds it as a new version, and `promote` makes that
 * version current.
 */
export interface SecretStore {
  read(secretId: string, options?: ReadOptions): Promise<SecretVersion | undefined>;
  /**
   * Adds `value` as a new version with the id `versionId`, labelled `options.label` only (Secrets
   * Manager makes the first version of a secret `AWSCURRENT` as well). Idempotent per `versionId`
   * (Secrets Manager's `ClientRequestToken`); `duplicate` when that id already holds another value.
   */
  stage(
    secretId: string,
    value: string,
    versionId: string,
    options?: StageOptions,
  ): Promise<{ readonly duplicate: boolean }>;
  /**
   * Moves `AWSCURRENT` to `versionId` if it is still on `expectedCurrent` (`undefined`: on no
   * other version); returns `false`, changing nothing, when it has moved. The version it leaves
   * becomes `AWSPREVIOUS`.
   */
  promote(
    secretId: string,
    versionId: string,
    expectedCurrent: string | undefined,
    options?: StoreCallOptions,
  ): Promise<boolean>;
}
