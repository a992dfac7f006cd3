import type { Credentials } from './credentials.js';
import { ImsError } from './errors.js';
import { signJwt } from './jwt.js';

export type Fetch = typeof globalThis.fetch;

/** What IMS gave us, with the lifetime already converted to milliseconds. */
export interface ImsToken {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly lifetimeMs: number;
}

export interface ExchangeOptions {
  readonly fetch: Fetch;
  /** Current time in ms since the epoch; the JWT's `exp` and `Retry-After` dates use it. */
  readonly now: number;
  /** Where requests go. @default `https://{imsEndpoint}` of the credentials */
  readonly baseUrl?: string;
  /** The request is aborted after this long. */
  readonly timeoutMs: number;
}

/** Longest lifetime we believe: a week. Larger means a unit mix-up (ms read as s) or a broken peer. */
const MAX_LIFETIME_MS = 7 * 24 * 3600 * 1000;
const MAX_DESCRIPTION_LENGTH = 200;

/**
 * One exchange at IMS: the signed-JWT exchange for service credentials, client_credentials for
 * OAuth Server-to-Server. Throws `ImsError`: IMS_UNAVAILABLE (transient: 429, 5xx, timeout,
 * network), IMS_REJECTED (other 4xx), IMS_RESPONSE_INVALID (a 2xx that is not a token).
 */
export async function exchange(credentials: Credentials, options: ExchangeOptions): Promise<ImsToken> {
  const base = (options.baseUrl ?? `https://${credentials.imsEndpoint}`).replace(/\/+$/, '');
  const form = new URLSearchParams({ client_id: credentials.clientId, client_secret: credentials.clientSecret });
  let path: string;
  if (credentials.type === 'jwt') {
    path = '/ims/exchange/jwt';
    form.set('jwt_token', await signJwt(credentials, options.now));
  } else {
    path = '/ims/token/v3';
    form.set('grant_type', 'client_credentials');
    form.set('scope', credentials.scopes.join(','));
  }

  let response: Response;
  try {
    response = await options.fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form,
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    const what = timedOut ? `no answer within ${options.timeoutMs} ms` : 'the connection failed';
    throw new ImsError('IMS_UNAVAILABLE', `IMS request to ${path}: ${what}`, { cause: error });
  }

  const debugId = response.headers.get('x-debug-id') ?? undefined;
  const text = await readBody(response, path, debugId);
  const body = parseJson(text);
  if (!response.ok) throw rejection(response, path, body, debugId, options.now);
  // Units differ by flow (ims-protocol.md §1, §2): milliseconds for the JWT exchange, seconds for OAuth.
  return token(body, credentials.type === 'jwt' ? 1 : 1000, path, debugId);
}

async function readBody(response: Response, path: string, debugId: string | undefined): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw new ImsError('IMS_UNAVAILABLE', `IMS answer from ${path} was cut off`, {
      status: response.status,
      debugId,
      cause: error,
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function rejection(response: Response, path: string, body: unknown, debugId: string | undefined, now: number): ImsError {
  const status = response.status;
  const imsError = field(body, 'error');
  const description = field(body, 'error_description')?.replace(/[^\x20-\x7e]/g, ' ').slice(0, MAX_DESCRIPTION_LENGTH);
  const transient = status === 429 || status >= 500;
  const detail = [imsError ?? (transient ? undefined : 'no IMS error code'), description].filter(Boolean).join(': ');
  const message =
    `IMS ${transient ? 'unavailable' : 'rejected the request'} at ${path}: HTTP ${status}` +
    (detail ? ` ${detail}` : '') +
    (debugId ? ` (X-Debug-Id ${debugId})` : '');
  return new ImsError(transient ? 'IMS_UNAVAILABLE' : 'IMS_REJECTED', message, {
    status,
    imsError,
    debugId,
    retryAfterSeconds: retryAfter(response.headers.get('retry-after'), now),
  });
}

function token(body: unknown, unitMs: number, path: string, debugId: string | undefined): ImsToken {
  const invalid = (what: string) =>
    new ImsError('IMS_RESPONSE_INVALID', `IMS answer from ${path} ${what}` + (debugId ? ` (X-Debug-Id ${debugId})` : ''), {
      status: 200,
      debugId,
    });
  if (typeof body !== 'object' || body === null) throw invalid('is not a JSON object');
  const accessToken = field(body, 'access_token');
  if (!accessToken) throw invalid('has no "access_token"');
  const expiresIn = (body as Record<string, unknown>).expires_in;
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw invalid('has no positive numeric "expires_in"');
  }
  const lifetimeMs = expiresIn * unitMs;
  if (lifetimeMs > MAX_LIFETIME_MS) throw invalid('has an "expires_in" longer than a week');
  return { accessToken, tokenType: field(body, 'token_type') ?? 'bearer', lifetimeMs };
}

function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `Retry-After` as seconds: either delta-seconds or an HTTP date. */
function retryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
