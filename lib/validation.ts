import { Annotations, Duration, RemovalPolicy, Resource, Stack, Token, TokenComparison } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
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
import type { ImsTokenRefresher, ImsTokenRefresherProps } from './ims-token-refresher.js';
import { CDK_STACK_CHILD_IDS, LIMITS, LongestValues, resourcesOf, SECRET_NAME_CHAR } from './limits.js';
import { validateNetwork } from './network.js';
import { validateRotation } from './rotation.js';

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
 * naming it; warns (through `Annotations`) on props that work but deserve a look. Registers the
 * synth-time check of the AWS limits only the deploy would meet (`validateDeployLimits`).
 */
export function validateProps(scope: Construct, props: ImsTokenRefresherProps): RefresherSettings {
  const period = props.schedule ?? Duration.hours(1);
  const threshold = props.refreshThreshold ?? DEFAULT_REFRESH_THRESHOLD;
  const lifetime = props.expectedTokenLifetime ?? Duration.hours(24);
  validateIds(scope, props);
  validateRefreshChances(scope, period, threshold, lifetime, FUNCTION_TIMEOUT);
  validateWholeNumbers(scope, props);
  validateBaseUrl(scope, 'imsBaseUrl', props.imsBaseUrl);
  validateBaseUrl(scope, 'adobeApiBaseUrl', props.adobeApiBaseUrl);
  validateNetwork(scope, props);
  validateRotation(scope, props);
  // Whole seconds: an alarm threshold and a readable duration.
  const expiryFloor =
    props.expiryAlarmThreshold ??
    Duration.seconds(Math.floor((lifetime.toSeconds({ integral: false }) * threshold) / 2));
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
  scope.node.addValidation({ validate: () => validateDeployLimits(scope, props) });
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

/** The functions' own check of `IMS_BASE_URL` and `ADOBE_API_BASE_URL`, at synth, naming the prop. */
function validateBaseUrl(scope: Construct, prop: 'imsBaseUrl' | 'adobeApiBaseUrl', url: string | undefined): void {
  try {
    parseImsBaseUrl(url, `\`${prop}\``);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    throw new ImsTokenRefresherError(error.message, scope, prop, { cause: error });
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

const SECRET_NAME = new RegExp(`^${SECRET_NAME_CHAR.source}{1,${LIMITS.secretName}}$`);

/** Fails on a construct id that CDK needs in the stack, and on a token secret name Secrets Manager refuses. */
function validateIds(scope: Construct, props: ImsTokenRefresherProps): void {
  const { id, scope: parent } = scope.node;
  if (parent && Stack.isStack(parent) && CDK_STACK_CHILD_IDS.includes(id)) {
    const message = `the id "${id}" is CDK's own in a stack (it would silently replace CDK's): choose another`;
    throw new ImsTokenRefresherError(message, scope, 'id');
  }
  const name = props.tokenSecretName;
  if (name !== undefined && !Token.isUnresolved(name) && !SECRET_NAME.test(name)) {
    const message = `\`tokenSecretName\` must be 1 to ${LIMITS.secretName} of A-Z a-z 0-9 /_+=.@- (Secrets Manager's rule)`;
    throw new ImsTokenRefresherError(message, scope, 'tokenSecretName');
  }
}

/** Fails on durations that AWS takes in whole units only: the schedule's rate in minutes, alarm thresholds in seconds. */
function validateWholeNumbers(scope: Construct, props: ImsTokenRefresherProps): void {
  const whole = [
    ['schedule', props.schedule, 60, 'minutes'],
    ['expiryAlarmThreshold', props.expiryAlarmThreshold, 1, 'seconds'],
    ['credentialsExpiryWarning', props.credentialsExpiryWarning, 1, 'seconds'],
  ] as const;
  for (const [prop, duration, unit, units] of whole) {
    if (duration && !Number.isInteger(duration.toSeconds({ integral: false }) / unit)) {
      throw new ImsTokenRefresherError(`\`${prop}\` must be a whole number of ${units}`, scope, prop);
    }
  }
}

/** The props whose length goes into a function's environment unchanged: the one to shorten when it is too big. */
const LONG_PROPS = ['credentialName', 'imsBaseUrl', 'adobeApiBaseUrl', 'noProxy'] as const;

/**
 * At synth, on the refresher's final resources: fails when a value can exceed an AWS limit that
 * only the deploy would meet (see `LIMITS`), counting every reference at its longest. Throws like
 * the constructor's checks, naming the prop to change.
 */
function validateDeployLimits(refresher: Construct, props: ImsTokenRefresherProps): string[] {
  // `validateProps` is given the refresher itself.
  const stack = Stack.of(refresher);
  const longest = new LongestValues(stack);
  const check = (length: number, limit: number, what: string, prop: string, change: string) => {
    if (length <= limit) return;
    const [count, max] = [length, limit].map((n) => n.toLocaleString('en-US'));
    throw new ImsTokenRefresherError(`${what} can reach ${count}, over AWS's ${max}: ${change}`, refresher, prop);
  };
  for (const alarm of resourcesOf(refresher, cloudwatch.CfnAlarm)) {
    const name = longest.form(alarm.alarmName) as string;
    const shorten = 'shorten the stack name or the construct id';
    check(name.length, LIMITS.alarmName, `the characters of the alarm name "${name}"`, 'id', shorten);
    check(
      longest.length(alarm.alarmDescription),
      LIMITS.alarmDescription,
      `the characters of the description of "${name}" (names and ARNs at their longest)`,
      'credentialsSecret',
      'use a credentials secret with a shorter name',
    );
  }
  for (const fn of resourcesOf(refresher, lambda.CfnFunction)) {
    const { variables = {} } = (longest.form(fn.environment) ?? {}) as { variables?: Record<string, string> };
    const length = (prop: (typeof LONG_PROPS)[number]) => String(props[prop] ?? '').length;
    const [prop] = LONG_PROPS.toSorted((a, b) => length(b) - length(a));
    check(
      Buffer.byteLength(Object.entries(variables).flat().join('')),
      LIMITS.environment,
      "the bytes of the function's environment (keys and values, secret ARNs at their longest)",
      prop,
      `shorten \`${prop}\``,
    );
  }
  const tokenSecret = JSON.stringify(stack.resolve((refresher as ImsTokenRefresher).tokenSecret.secretArn));
  for (const policy of resourcesOf(refresher, secretsmanager.CfnResourcePolicy)) {
    const token = JSON.stringify(stack.resolve(policy.secretId)) === tokenSecret;
    check(
      longest.length(policy.resourcePolicy),
      LIMITS.secretPolicy,
      `the characters of the ${token ? 'token' : 'credentials'} secret's resource policy (ARNs at their longest)`,
      token ? 'tokenReaders' : 'credentialsReaders',
      token ? 'list fewer `tokenReaders`, `crossAccountReaders` or grantees' : 'list fewer `credentialsReaders`',
    );
  }
  return [];
}
