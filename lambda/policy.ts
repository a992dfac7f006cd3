import { expiresAtMs, type TokenRecord } from '../common/token.js';

/** Why a run renews the token; `undefined` means the stored token is fresh and stays. */
export type RefreshReason = 'forced' | 'no-token' | 'credentials-changed' | 'due';

/**
 * The refresh decision, from the stored token's own `issued_at`/`expires_at`: renew when the
 * share of its lifetime left is at or below `threshold` (0.5 = after half its life), when the
 * credentials changed since it was minted, when there is no token in our format, or on demand.
 */
export function refreshReason(input: {
  readonly token: TokenRecord | undefined;
  readonly credentialsVersionId: string;
  readonly now: number;
  readonly threshold: number;
  readonly force: boolean;
}): RefreshReason | undefined {
  const { token } = input;
  if (input.force) return 'forced';
  if (!token) return 'no-token';
  if (token.credentials_version_id !== input.credentialsVersionId) return 'credentials-changed';
  return isDue(token, input.now, input.threshold) ? 'due' : undefined;
}

/** Whether `threshold` or less of the token's own lifetime (`issued_at` → `expires_at`) is left at `now`. */
export function isDue(token: Pick<TokenRecord, 'issued_at' | 'expires_at'>, now: number, threshold: number): boolean {
  const expiresAt = expiresAtMs(token);
  const lifetime = expiresAt - Date.parse(token.issued_at);
  return expiresAt - now <= lifetime * threshold;
}
