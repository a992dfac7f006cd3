import { parseTokenRecord, type TokenRecord } from '../../common/token.js';
import { registerSecret } from '../sandbox/secret-registry.js';

/** A token secret value in the contract, issued at `issuedAt` for `lifetimeMs`; registers the token with the leak guard. */
export function tokenSecretValue(accessToken: string, issuedAt: number, lifetimeMs = 24 * 3_600_000): string {
  registerSecret(accessToken);
  const record: TokenRecord = {
    access_token: accessToken,
    token_type: 'bearer',
    issued_at: new Date(issuedAt).toISOString(),
    expires_at: new Date(issuedAt + lifetimeMs).toISOString(),
    client_id: 'cm-p123-e456-integration',
    ims_endpoint: 'ims-na1.adobelogin.com',
    credentials_version_id: 'credentials-v1',
    credentials_type: 'jwt',
  };
  return JSON.stringify(record);
}

/**
 * A reader of the token secret, sampled once a minute by the soaks: the minutes it found no
 * token or an expired one, and the least time left it saw.
 */
export class TokenReader {
  missingMinutes = 0;
  expiredMinutes = 0;
  minSecondsLeft = Infinity;

  constructor(
    private readonly store: { current(secretId: string): { readonly value: string } | undefined },
    private readonly secretId: string,
  ) {}

  sample(now: number): void {
    const stored = this.store.current(this.secretId);
    if (!stored) {
      this.missingMinutes += 1;
      return;
    }
    const left = Date.parse(parseTokenRecord(stored.value).expires_at) - now;
    this.minSecondsLeft = Math.min(this.minSecondsLeft, left / 1000);
    if (left <= 0) this.expiredMinutes += 1;
  }
}
