import { credentialsKeysIn } from './credentials.js';
import { TokenContractError } from './errors.js';

/**
 * The token secret's value: the public contract between the refresher and every consumer.
 * Field names are snake_case like IMS's own answer. New fields may be added; none is removed
 * or changes meaning without a major version.
 */
export interface TokenRecord {
  /** The IMS access token. Send as `Authorization: Bearer <access_token>`. */
  readonly access_token: string;
  /** As IMS returned it, normally `bearer`. */
  readonly token_type: string;
  /** When the refresher received the token (ISO 8601, UTC). */
  readonly issued_at: string;
  /** When IMS says the token stops working (ISO 8601, UTC). */
  readonly expires_at: string;
  /** The integration's client id (not secret). */
  readonly client_id: string;
  /** The IMS host the credentials belong to, e.g. `ims-na1.adobelogin.com`. */
  readonly ims_endpoint: string;
  /** `VersionId` of the credentials secret version that produced this token. */
  readonly credentials_version_id: string;
  /** Which exchange produced the token: `jwt` (service account) or `oauth` (server-to-server). */
  readonly credentials_type: CredentialsType;
  /**
   * Adobe's `uuid` of the client secret that minted the token, when the credentials carry uuids
   * (OAuth, after a rotation). Not secret. The rotation's grace check reads it; other readers ignore it.
   */
  readonly client_secret_uuid?: string;
}

/** The kinds of credentials, by the exchange that mints their tokens. */
export type CredentialsType = 'jwt' | 'oauth';

/** Every `CredentialsType`, for the checks at run time. */
export const CREDENTIALS_TYPES: readonly CredentialsType[] = ['jwt', 'oauth'];

/** Whether `value` names a kind of credentials. */
export function isCredentialsType(value: unknown): value is CredentialsType {
  return (CREDENTIALS_TYPES as readonly unknown[]).includes(value);
}

const STRING_FIELDS = [
  'access_token',
  'token_type',
  'issued_at',
  'expires_at',
  'client_id',
  'ims_endpoint',
  'credentials_version_id',
] as const;

/**
 * The lifetimes IMS issues: about 24 h for both flows (docs/protocol.md §1, §2). A lifetime
 * outside these bounds is a unit mix-up (milliseconds read as seconds or the reverse is a factor
 * of 1000) or a broken peer, never a token: the exchange refuses it, and a stored record with such
 * dates is not ours.
 */
export const TOKEN_LIFETIME_MS = { min: 3_600_000, max: 7 * 24 * 3_600_000 } as const;

/**
 * Longest access token accepted: IMS tokens are about 1-2 KB, and 8 KiB is what common HTTP
 * servers allow for a request header line; it keeps the token secret far under Secrets Manager's
 * 64 KB limit.
 */
export const MAX_ACCESS_TOKEN_LENGTH = 8_192;

/**
 * How far in the future `issued_at` may lie (1 hour): the clock skew tolerated between the
 * refresher that wrote a record and whoever checks it. Generous, because an unsynchronized host
 * (a VM after a suspend, a container on a drifting node) is minutes to tens of minutes off, and
 * refusing its every fresh token helps nobody; while a record issued a day ahead (a unit mix-up,
 * a forged date) is still refused. For the refresher, which renews 12 hours before `expires_at`,
 * a record written by a host up to this far ahead is at worst renewed 11 hours before its real expiry.
 */
export const MAX_CLOCK_SKEW_MS = 3_600_000;

/** RFC 6750 `b64token`: what may follow `Bearer ` in an Authorization header, and nothing else. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Why `value` cannot be a bearer token, or `undefined` when it can. Never quotes the value. */
export function accessTokenProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return 'is missing or blank';
  if (value.length > MAX_ACCESS_TOKEN_LENGTH) return `is longer than ${MAX_ACCESS_TOKEN_LENGTH} characters`;
  if (!B64TOKEN.test(value)) return 'has characters a bearer token cannot have (RFC 6750 b64token)';
  return undefined;
}

/** Why a lifetime in milliseconds is not one IMS issues, or `undefined` when it is. */
export function lifetimeProblem(lifetimeMs: number): string | undefined {
  if (lifetimeMs < TOKEN_LIFETIME_MS.min) return 'is shorter than an hour';
  if (lifetimeMs > TOKEN_LIFETIME_MS.max) return 'is longer than a week';
  return undefined;
}

/**
 * Parses a token secret value; throws `TokenContractError` naming the first bad field. A record
 * whose token could not go into an Authorization header, or whose dates IMS could not have
 * issued, is refused like a malformed one (see also `checkTokenClock`). Credentials read by mistake
 * (the credentials secret named instead of the token secret) are called so, by their key names.
 */
export function parseTokenRecord(text: string): TokenRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TokenContractError('token secret is not JSON: no token yet, the refresher has not written one');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TokenContractError('token secret is not a JSON object');
  }
  const record = value as Record<string, unknown>;
  const credentialsKeys = 'access_token' in record ? [] : credentialsKeysIn(record);
  if (credentialsKeys.length > 0) {
    throw new TokenContractError(
      `the secret holds credentials (it has ${credentialsKeys.map((key) => `"${key}"`).join(', ')}), not a token: ` +
        'name the token secret (stack output …TokenSecretArn), not the credentials secret',
    );
  }
  for (const field of STRING_FIELDS) {
    if (typeof record[field] !== 'string' || record[field] === '') {
      throw new TokenContractError(`token secret field "${field}" is missing or not a string`);
    }
  }
  const tokenProblem = accessTokenProblem(record.access_token);
  if (tokenProblem) throw new TokenContractError(`token secret field "access_token" ${tokenProblem}`);
  if ((record.token_type as string).toLowerCase() !== 'bearer') {
    throw new TokenContractError('token secret field "token_type" is not "bearer"');
  }
  for (const field of ['issued_at', 'expires_at'] as const) {
    // Exactly what the refresher writes (Date#toISOString): no local-time, legacy or commented forms.
    const ms = Date.parse(record[field] as string);
    if (Number.isNaN(ms) || new Date(ms).toISOString() !== record[field]) {
      throw new TokenContractError(
        `token secret field "${field}" is not an ISO 8601 UTC date like 2026-11-22T12:00:00.000Z`,
      );
    }
  }
  const lifetime = Date.parse(record.expires_at as string) - Date.parse(record.issued_at as string);
  if (lifetime <= 0) throw new TokenContractError('token secret field "issued_at" is not before "expires_at"');
  const problem = lifetimeProblem(lifetime);
  if (problem) throw new TokenContractError(`token secret lifetime ("issued_at" to "expires_at") ${problem}`);
  if (!isCredentialsType(record.credentials_type)) {
    throw new TokenContractError('token secret field "credentials_type" is not "jwt" or "oauth"');
  }
  return record as unknown as TokenRecord;
}

/**
 * Throws `TokenContractError` when a parsed record's dates cannot be true at `now`: issued more
 * than `MAX_CLOCK_SKEW_MS` in the future, or expiring further ahead than IMS issues tokens for.
 * Such a record would never be renewed (or would be handed out long after its real expiry), so it
 * is not trusted.
 */
export function checkTokenClock(record: TokenRecord, now: number): TokenRecord {
  if (Date.parse(record.issued_at) > now + MAX_CLOCK_SKEW_MS) {
    throw new TokenContractError('token secret field "issued_at" is in the future');
  }
  if (expiresAtMs(record) - now > TOKEN_LIFETIME_MS.max) {
    throw new TokenContractError('token secret field "expires_at" is further ahead than IMS issues tokens for');
  }
  return record;
}

/** Milliseconds since the epoch at which the token expires. */
export function expiresAtMs(record: Pick<TokenRecord, 'expires_at'>): number {
  return Date.parse(record.expires_at);
}

/**
 * The token in a token secret's `value` if it is one of ours with dates IMS could have issued
 * (judged at `now`); a placeholder, junk or a record with impossible dates counts as none.
 */
export function trustedToken(value: string | undefined, now: number): TokenRecord | undefined {
  if (value === undefined) return undefined;
  try {
    return checkTokenClock(parseTokenRecord(value), now);
  } catch {
    return undefined;
  }
}
