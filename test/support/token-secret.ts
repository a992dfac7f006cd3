import type { TokenRecord } from '../../common/token.js';
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
