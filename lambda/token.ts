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
}

export type CredentialsType = 'jwt' | 'oauth';

const STRING_FIELDS = [
  'access_token',
  'token_type',
  'issued_at',
  'expires_at',
  'client_id',
  'ims_endpoint',
  'credentials_version_id',
] as const;

/** Parses a token secret value; throws `TokenContractError` naming the first bad field. */
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
  for (const field of STRING_FIELDS) {
    if (typeof record[field] !== 'string' || record[field] === '') {
      throw new TokenContractError(`token secret field "${field}" is missing or not a string`);
    }
  }
  for (const field of ['issued_at', 'expires_at'] as const) {
    if (Number.isNaN(Date.parse(record[field] as string))) {
      throw new TokenContractError(`token secret field "${field}" is not an ISO 8601 date`);
    }
  }
  if (record.credentials_type !== 'jwt' && record.credentials_type !== 'oauth') {
    throw new TokenContractError('token secret field "credentials_type" is not "jwt" or "oauth"');
  }
  return record as unknown as TokenRecord;
}

/** Milliseconds since the epoch at which the token expires. */
export function expiresAtMs(record: TokenRecord): number {
  return Date.parse(record.expires_at);
}
