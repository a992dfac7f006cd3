/**
 * Rules and limits that more than one shipped part checks (the construct, the configuration
 * loader, the Lambda's settings, the CLI): one source for each.
 */
import { ConfigurationError } from './errors.js';

/** Default share of the token's life left at which it is renewed: after half its life. */
export const DEFAULT_REFRESH_THRESHOLD = 0.5;

/** The refresh threshold's bounds, both exclusive. */
export const REFRESH_THRESHOLD_BOUNDS = { low: 0, high: 1 } as const;

/** Why `value` cannot be a refresh threshold (strictly between the bounds), or `undefined`. */
export function refreshThresholdProblem(value: number): string | undefined {
  const { low, high } = REFRESH_THRESHOLD_BOUNDS;
  return value > low && value < high ? undefined : `must be a number between ${low} and ${high} (exclusive)`;
}

/**
 * How many days before the AEM certificate expires the warning starts: the default and the range
 * the construct, the configuration file and `ims-token credentials check` share.
 */
export const CREDENTIALS_EXPIRY_WARNING_DAYS = { default: 30, min: 1, max: 365 } as const;

/** Why `days` cannot be a credentials expiry warning, or `undefined`. */
export function credentialsExpiryWarningProblem(days: number): string | undefined {
  const { min, max } = CREDENTIALS_EXPIRY_WARNING_DAYS;
  return days >= min && days <= max ? undefined : `must be between ${min} and ${max} days`;
}

/**
 * How long the old client secret's `last_used_at` must stand still before the rotation's grace
 * check deletes it at Adobe, in hours: the default and the range the construct, the configuration
 * file (`rotateClientSecret.retireAfterHours`) and the rotation function (`RETIRE_AFTER_HOURS`) share.
 */
export const RETIRE_AFTER_HOURS = { default: 24, min: 1, max: 720 } as const;

/** Why `hours` cannot be a retire-after delay, or `undefined`. */
export function retireAfterHoursProblem(hours: number): string | undefined {
  const { min, max } = RETIRE_AFTER_HOURS;
  return Number.isInteger(hours) && hours >= min && hours <= max
    ? undefined
    : `must be a whole number of hours between ${min} and ${max}`;
}

/**
 * The descriptions the construct gives its two secrets, as prefix and suffix around its construct
 * path. Deployed stacks carry them: `ims-token credentials put` tells the secrets apart by them,
 * so they do not change.
 */
const SECRET_DESCRIPTIONS = {
  token: ['Adobe IMS access token kept fresh by ', '; JSON, see the token contract'],
  credentials: ['Adobe IMS credentials JSON for ', ' (put-secret-value after deploy)'],
} as const;

/** The construct's two secrets. */
export type RefresherSecretKind = keyof typeof SECRET_DESCRIPTIONS;

/** The description the construct at `path` gives its `kind` of secret. */
export function secretDescription(kind: RefresherSecretKind, path: string): string {
  const [prefix, suffix] = SECRET_DESCRIPTIONS[kind];
  return `${prefix}${path}${suffix}`;
}

/** Which of the construct's secrets `description` says a secret is, or `undefined` for any other description. */
export function secretKindOf(description: string | undefined): RefresherSecretKind | undefined {
  return (Object.keys(SECRET_DESCRIPTIONS) as RefresherSecretKind[]).find((kind) => {
    const [prefix, suffix] = SECRET_DESCRIPTIONS[kind];
    return (
      description !== undefined &&
      description.length > prefix.length + suffix.length &&
      description.startsWith(prefix) &&
      description.endsWith(suffix)
    );
  });
}

/** An AWS account id: 12 digits. */
export const ACCOUNT_ID = /^\d{12}$/;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Where IMS requests go: https, or plain http to loopback only; no query, fragment or user info
 * (credentials in a URL would sit in the function's environment). `name` is what messages call
 * the value; the CDK app checks the same rule at synth.
 */
export function parseImsBaseUrl(value: string | undefined, name = 'IMS_BASE_URL'): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ConfigurationError(`${name} is not a URL`);
  }
  const plainHttpAllowed = url.protocol === 'http:' && LOOPBACK.has(url.hostname);
  if (url.protocol !== 'https:' && !plainHttpAllowed) {
    throw new ConfigurationError(`${name} must use https (plain http only for 127.0.0.1 or localhost)`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigurationError(`${name} must not carry a query, fragment or user info`);
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * Days between automatic rotations of an OAuth client secret (`rotateClientSecret`): the range the
 * construct and the configuration file share. Secrets Manager takes 1 to 1,000; a year at most
 * keeps a forgotten setting from meaning "never".
 */
export const ROTATION_EVERY_DAYS = { min: 1, max: 365 } as const;

/** Why `days` cannot be a rotation interval (whole days in `ROTATION_EVERY_DAYS`), or `undefined`. */
export function rotationEveryDaysProblem(days: number): string | undefined {
  const { min, max } = ROTATION_EVERY_DAYS;
  return Number.isInteger(days) && days >= min && days <= max
    ? undefined
    : `must be a whole number of days from ${min} to ${max}`;
}

/**
 * The Adobe Developer Console's numeric org id (`project.org.id`, e.g. 23294), which the I/O
 * Management API takes in its paths; not the `…@AdobeOrg` IMS org id.
 */
export const ADOBE_ORG_ID = /^\d{1,20}$/;

/**
 * A Developer Console credential id (`workspace.details.credentials[].id`) or a client secret's
 * `uuid`: each is a path segment of the I/O Management API.
 */
export const ADOBE_ID = /^[A-Za-z0-9-]{1,64}$/;

export const ADOBE_ORG_ID_MESSAGE =
  'must be the numeric Developer Console org id (project.org.id, e.g. "23294"), not the …@AdobeOrg IMS org id';
export const ADOBE_ID_MESSAGE = 'must be 1-64 letters, digits or hyphens';

/** Why `value` cannot be a Developer Console org id, or `undefined`; never repeats the value. */
export function adobeOrgIdProblem(value: unknown): string | undefined {
  return typeof value === 'string' && ADOBE_ORG_ID.test(value) ? undefined : ADOBE_ORG_ID_MESSAGE;
}

/** Why `value` cannot be a Developer Console credential id or a client secret uuid, or `undefined`; never repeats the value. */
export function adobeIdProblem(value: unknown): string | undefined {
  return typeof value === 'string' && ADOBE_ID.test(value) ? undefined : ADOBE_ID_MESSAGE;
}
