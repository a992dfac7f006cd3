import { SignJWT } from 'jose';
import type { JwtCredentials } from '../common/credentials.js';

/** Lifetime of the signed JWT: Adobe's current docs and adobe/jwt-auth use 5 minutes. */
export const JWT_LIFETIME_SECONDS = 300;

/**
 * Builds and signs the JWT that IMS exchanges for an access token (docs/protocol.md §1).
 * `aud` and metascope claims use the credentials' own IMS host, wherever the request goes.
 */
export function signJwt(credentials: JwtCredentials, nowMs: number): Promise<string> {
  const host = credentials.imsEndpoint;
  const claims: Record<string, unknown> = {
    iss: credentials.org,
    sub: credentials.technicalAccountId,
    aud: `https://${host}/c/${credentials.clientId}`,
    exp: Math.floor(nowMs / 1000) + JWT_LIFETIME_SECONDS,
  };
  for (const metascope of credentials.metascopes) claims[`https://${host}/s/${metascope}`] = true;
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(credentials.privateKey);
}
