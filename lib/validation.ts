import { Annotations, Duration, RemovalPolicy, Resource, Stack, Token, TokenComparison } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ConfigurationError } from '../common/errors.js';
import {
  CREDENTIALS_EXPIRY_WARNING_DAYS,
  DEFAULT_REFRESH_THRESHOLD,
  credentialsExpiryWarningProblem,
  parseImsBaseUrl,
  refreshThresholdProblem,
} from '../common/rules.js';
import { isCredentialsType } from '../common/token.js';
import { ImsTokenRefresherError } from './errors.js';
import type { ImsTokenRefresherProps } from './ims-token-refresher.js';

/** The function's timeout; the refresher's retries end well inside it. */
export const FUNCTION_TIMEOUT = Duration.seconds(90);

/** The props with their defaults applied, once every check passed. */
export interface RefresherSettings {
  /** How often the function runs. */
  readonly period: Duration;
  readonly threshold: number;
  readonly lifetime: Duration;
  /** The token time left below which `expiringAlarm` fires. */
  readonly expiryFloor: Duration;
  /**
   * The certificate time left below which `credentialsExpiringAlarm` fires; `undefined` for
   * OAuth credentials, which have no certificate (and so no such alarm).
   */
  readonly credentialsWarning: Duration | undefined;
  /** Whether the credentials secret gets a resource policy that denies reads to others. */
  readonly restrictCredentials: boolean;
  /** What becomes of the created credentials secret and the log group on removal: RETAIN or DESTROY. */
  readonly removalPolicy: RemovalPolicy;
}

/** The removal policies `removalPolicy` accepts: CloudFormation's Snapshot does not apply to secrets or log groups. */
const REMOVAL_POLICIES: readonly RemovalPolicy[] = [RemovalPolicy.RETAIN, RemovalPolicy.DESTROY];

/**
 * Applies the defaults and fails on any prop that cannot work, with an `ImsTokenRefresherError`
 * naming it; warns (through `Annotations`) on props that work but deserve a look.
 */
export function validateProps(scope: Construct, props: ImsTokenRefresherProps): RefresherSettings {
  const period = props.schedule ?? Duration.hours(1);
  const threshold = props.refreshThreshold ?? DEFAULT_REFRESH_THRESHOLD;
  const lifetime = props.expectedTokenLifetime ?? Duration.hours(24);
  validateRefreshChances(scope, period, threshold, lifetime, FUNCTION_TIMEOUT);
  validateImsBaseUrl(scope, props.imsBaseUrl);
  const expiryFloor = props.expiryAlarmThreshold ?? Duration.seconds((lifetime.toSeconds() * threshold) / 2);
  if (expiryFloor.toSeconds() >= lifetime.toSeconds() * threshold) {
    throw new ImsTokenRefresherError(
      '`expiryAlarmThreshold` must be shorter than the refresh window (`expectedTokenLifetime` × `refreshThreshold`)',
      scope,
      'expiryAlarmThreshold',
    );
  }
  const credentialsWarning = props.credentialsExpiryWarning ?? Duration.days(CREDENTIALS_EXPIRY_WARNING_DAYS.default);
  const warningProblem = credentialsExpiryWarningProblem(credentialsWarning.toDays({ integral: false }));
  if (warningProblem) {
    const message = `\`credentialsExpiryWarning\` ${warningProblem}, got ${credentialsWarning.toHumanString()}`;
    throw new ImsTokenRefresherError(message, scope, 'credentialsExpiryWarning');
  }
  if (props.credentialName?.trim() === '') {
    throw new ImsTokenRefresherError('`credentialName` must not be empty', scope, 'credentialName');
  }
  // Checked at runtime too, for callers without types.
  if (props.credentialsType !== undefined && !isCredentialsType(props.credentialsType)) {
    throw new ImsTokenRefresherError('`credentialsType` must be "jwt" or "oauth"', scope, 'credentialsType');
  }
  const oauth = props.credentialsType === 'oauth';
  if (oauth && props.credentialsExpiryWarning !== undefined) {
    const message = '`credentialsExpiryWarning` is for AEM service credentials: OAuth credentials have no certificate';
    throw new ImsTokenRefresherError(message, scope, 'credentialsExpiryWarning');
  }
  validateSharing(scope, props);
  const restrictCredentials = props.restrictCredentialsReaders ?? !props.credentialsSecret;
  validateReaders(scope, props, restrictCredentials);
  const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
  if (!REMOVAL_POLICIES.includes(removalPolicy)) {
    const message = `\`removalPolicy\` must be RemovalPolicy.RETAIN or RemovalPolicy.DESTROY, got ${String(removalPolicy)}`;
    throw new ImsTokenRefresherError(message, scope, 'removalPolicy');
  }
  return {
    period,
    threshold,
    lifetime,
    expiryFloor,
    credentialsWarning: oauth ? undefined : credentialsWarning,
    restrictCredentials,
    removalPolicy,
  };
}

/** The function's own check of `IMS_BASE_URL`, at synth, naming the prop. */
function validateImsBaseUrl(scope: Construct, imsBaseUrl: string | undefined): void {
  try {
    parseImsBaseUrl(imsBaseUrl, '`imsBaseUrl`');
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    throw new ImsTokenRefresherError(error.message, scope, 'imsBaseUrl', { cause: error });
  }
}

/** Fails synth when the settings leave fewer than two refresh chances before the token expires. */
function validateRefreshChances(
  scope: Construct,
  period: Duration,
  threshold: number,
  lifetime: Duration,
  timeout: Duration,
): void {
  const thresholdProblem = refreshThresholdProblem(threshold);
  if (thresholdProblem) {
    const message = `\`refreshThreshold\` ${thresholdProblem}, got ${threshold}`;
    throw new ImsTokenRefresherError(message, scope, 'refreshThreshold');
  }
  const seconds = period.toSeconds();
  if (seconds < 60) throw new ImsTokenRefresherError('`schedule` must be at least 1 minute', scope, 'schedule');
  // A chance is a run that can use its whole retry budget (up to the function timeout) before expiry.
  const window = lifetime.toSeconds() * threshold - timeout.toSeconds();
  const chances = Math.floor(window / seconds);
  if (chances < 2) {
    throw new ImsTokenRefresherError(
      `\`schedule\` (${period.toHumanString()}) leaves fewer than two full refresh chances, each with its ` +
        `${timeout.toHumanString()} retry budget, in the last \`refreshThreshold\` (${threshold}) of a ` +
        `${lifetime.toHumanString()} token; shorten \`schedule\` or raise \`refreshThreshold\``,
      scope,
      'schedule',
    );
  }
  if (chances < 4) {
    Annotations.of(scope).addWarningV2(
      'ims-token-refresher:fewRefreshChances',
      `only ${chances} refresh chances before expiry; an IMS outage longer than that expires the token`,
    );
  }
}

/** Fails synth on reader settings that would do nothing, naming the props. */
function validateReaders(scope: Construct, props: ImsTokenRefresherProps, restrictCredentials: boolean): void {
  if (props.credentialsReaders?.length && !restrictCredentials) {
    throw new ImsTokenRefresherError(
      '`credentialsReaders` needs `restrictCredentialsReaders`: a given credentials secret gets no resource policy without it',
      scope,
      'credentialsReaders',
    );
  }
  if (props.tokenReaders?.length && !props.restrictTokenReaders) {
    throw new ImsTokenRefresherError(
      '`tokenReaders` needs `restrictTokenReaders`: without it, IAM policies alone decide who reads the token',
      scope,
      'tokenReaders',
    );
  }
  const secretAccount = props.credentialsSecret?.env.account;
  const stackAccount = Stack.of(scope).account;
  const elsewhere = secretAccount && Token.compareStrings(secretAccount, stackAccount) === TokenComparison.DIFFERENT;
  if (restrictCredentials && elsewhere) {
    throw new ImsTokenRefresherError(
      '`restrictCredentialsReaders` needs a credentials secret of this account: only its owner can set its resource policy',
      scope,
      'restrictCredentialsReaders',
    );
  }
}

/** Fails synth on sharing settings that cannot work, naming the props; warns on those that half work. */
function validateSharing(scope: Construct, props: ImsTokenRefresherProps): void {
  if (props.crossAccountReaders?.length && !props.encryptionKey) {
    throw new ImsTokenRefresherError(
      '`crossAccountReaders` needs `encryptionKey`: other accounts cannot decrypt a secret encrypted with the AWS managed key',
      scope,
      'crossAccountReaders',
    );
  }
  const regions = (props.replicaRegions ?? []).map((replica) => replica.region);
  const twice = regions.find((region, index) => regions.indexOf(region) !== index);
  if (twice) throw new ImsTokenRefresherError(`\`replicaRegions\` lists ${twice} twice`, scope, 'replicaRegions');
  if (!props.crossAccountReaders?.length) return;
  if (regions.length > 0) {
    Annotations.of(scope).addWarningV2(
      'ims-token-refresher:crossAccountPrimaryOnly',
      `\`crossAccountReaders\` can read the token secret in this region only, not its replicas in ${regions.join(', ')}`,
    );
  }
  if (props.encryptionKey && !Resource.isOwnedResource(props.encryptionKey)) {
    Annotations.of(scope).addWarningV2(
      'ims-token-refresher:importedKeyPolicy',
      '`encryptionKey` is imported, so its key policy cannot be changed here: its owner must allow ' +
        '`crossAccountReaders` kms:Decrypt with the condition kms:ViaService = secretsmanager.<region>.amazonaws.com',
    );
  }
}
