import type { Credentials } from '../common/credentials.js';
import { ImsError, MAX_DETAIL_LENGTH, RefresherError } from '../common/errors.js';
import { signJwt } from './jwt.js';
import { redactOptional, rememberSecret } from '../common/redact.js';
import { accessTokenProblem, lifetimeProblem } from '../common/token.js';

/** What the exchange gives `fetch`: a form POST, redirects not followed (the I/O Management API: no body). */
export type FetchInit = Pick<RequestInit, 'method' | 'headers' | 'redirect' | 'signal'> & {
  readonly body?: URLSearchParams;
};
/** The part of `fetch` the exchange and the I/O Management API use: the global `fetch`, or `fetchVia` an agent (a proxy). */
export type Fetch = (url: string, init: FetchInit) => Promise<Response>;

/** What IMS gave us, with the lifetime already converted to milliseconds. */
export interface ImsToken {
  readonly accessToken: string;
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
  /** Aborts the request when the run must end (its deadline). @default - only `timeoutMs` */
  readonly signal?: AbortSignal;
}

/** Largest answer read: an IMS answer is about 2 KB; more is a broken peer, and is not buffered. */
export const MAX_ANSWER_BYTES = 64 * 1024;
const MAX_DESCRIPTION_LENGTH = 200;

/**
 * One exchange at IMS with one of the credentials' client secrets: the signed-JWT exchange for
 * service credentials, client_credentials for OAuth Server-to-Server. Throws `ImsError`: IMS_UNAVAILABLE (transient: 429, 5xx, timeout,
 * network), IMS_REJECTED (other 4xx, and 3xx: redirects are not followed), IMS_RESPONSE_INVALID
 * (a 2xx that is not a valid token). Everything IMS says is untrusted: the JWT sent and any access
 * token seen are remembered for redaction before any message can be built.
 */
export async function exchange(
  credentials: Credentials,
  clientSecret: string,
  options: ExchangeOptions,
): Promise<ImsToken> {
  const base = (options.baseUrl ?? `https://${credentials.imsEndpoint}`).replace(/\/+$/, '');
  const { path, form, sent } = await exchangeRequest(credentials, clientSecret, options.now);
  const response = await post(base + path, form, path, options);
  const debugId = response.headers.get('x-debug-id') ?? undefined;
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    throw new ImsError(
      'IMS_REJECTED',
      `IMS answered ${path} with a redirect (HTTP ${response.status}), which is not followed: ` +
        "IMS_BASE_URL or the credentials' imsEndpoint is wrong" +
        debugSuffix(debugId),
      { status: response.status, debugId },
    );
  }
  let text: string | undefined;
  try {
    text = await readAnswer(response);
  } catch (error) {
    throw unavailable(path, options, 'the answer was cut off', error, response.status);
  }
  const body = text === undefined ? undefined : parseJson(text);
  if (!response.ok)
    throw rejection(response, path, body, debugId, options.now, expiredCertificate(credentials, options.now));
  if (text === undefined) throw invalidAnswer(path, debugId, `is larger than ${MAX_ANSWER_BYTES} bytes`);
  // Units differ by flow (docs/protocol.md §1, §2): milliseconds for the JWT exchange, seconds for OAuth.
  return token(body, credentials.type === 'jwt' ? 'milliseconds' : 'seconds', path, debugId, sent);
}

/**
 * The flow's path and form, and the secrets sent in it: a peer could hand one back as a
 * "token", and storing it would give it to every reader. The signed JWT is remembered for
 * redaction here, before any message can be built.
 */
async function exchangeRequest(
  credentials: Credentials,
  clientSecret: string,
  now: number,
): Promise<{ path: string; form: URLSearchParams; sent: readonly string[] }> {
  const form = new URLSearchParams({ client_id: credentials.clientId, client_secret: clientSecret });
  if (credentials.type !== 'jwt') {
    form.set('grant_type', 'client_credentials');
    form.set('scope', credentials.scopes.join(','));
    return { path: '/ims/token/v3', form, sent: [...credentials.clientSecrets] };
  }
  const jwt = await signJwt(credentials, now);
  rememberSecret(jwt);
  form.set('jwt_token', jwt);
  return { path: '/ims/exchange/jwt', form, sent: [...credentials.clientSecrets, jwt] };
}

/** POSTs `form` to `url` within the attempt's timeout and the run's signal; a failed connection is IMS_UNAVAILABLE. */
async function post(url: string, form: URLSearchParams, path: string, options: ExchangeOptions): Promise<Response> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  try {
    return await options.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form,
      redirect: 'manual',
      signal,
    });
  } catch (error) {
    // The proxy failed (or its credentials could not be read): not IMS's failure, reported as it is.
    if (error instanceof RefresherError) throw error;
    throw unavailable(path, options, 'the connection failed', error);
  }
}

/** IMS_UNAVAILABLE for a request that got no (whole) answer: the run's deadline, the attempt's timeout, or `what`. */
function unavailable(path: string, options: ExchangeOptions, what: string, error: unknown, status?: number): ImsError {
  const reason = options.signal?.aborted
    ? "the run's deadline was reached"
    : (error as Error)?.name === 'TimeoutError'
      ? `no answer within ${options.timeoutMs} ms`
      : what;
  return new ImsError('IMS_UNAVAILABLE', `IMS request to ${path}: ${reason}`, { status, cause: error });
}

/** The answer's text, or `undefined` (left unread) when it is larger than `MAX_ANSWER_BYTES`. */
export async function readAnswer(response: Response): Promise<string | undefined> {
  if (Number(response.headers.get('content-length')) > MAX_ANSWER_BYTES) {
    await response.body?.cancel();
    return undefined;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_ANSWER_BYTES) return undefined; // leaving the loop cancels the stream
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `text` as JSON, or `undefined` when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function debugSuffix(debugId: string | undefined): string {
  return debugId ? ` (X-Debug-Id ${debugId})` : '';
}

/** What to add to a rejection when the certificate had expired: the likely reason, and what to do. */
function expiredCertificate(credentials: Credentials, now: number): string {
  if (credentials.type !== 'jwt' || credentials.certificateExpiresAt > now) return '';
  const date = new Date(credentials.certificateExpiresAt).toISOString();
  return `; the credentials' certificate expired on ${date}: refresh them in the AEM Developer Console`;
}

function rejection(
  response: Response,
  path: string,
  body: unknown,
  debugId: string | undefined,
  now: number,
  hint: string,
): ImsError {
  const status = response.status;
  // Bounded here too, so that a long one cannot push the debug id out of the message.
  const imsError = redactOptional(field(body, 'error'), MAX_DETAIL_LENGTH);
  const description = redactOptional(field(body, 'error_description'), MAX_DESCRIPTION_LENGTH);
  const transient = status === 429 || status >= 500;
  const detail = [imsError ?? (transient ? undefined : 'no IMS error code'), description].filter(Boolean).join(': ');
  const message =
    `IMS ${transient ? 'unavailable' : 'rejected the request'} at ${path}: HTTP ${status}` +
    (detail ? ` ${detail}` : '') +
    debugSuffix(debugId) +
    (transient ? '' : hint);
  return new ImsError(transient ? 'IMS_UNAVAILABLE' : 'IMS_REJECTED', message, {
    status,
    imsError,
    debugId,
    retryAfterSeconds: retryAfter(response.headers.get('retry-after'), now),
  });
}

function invalidAnswer(path: string, debugId: string | undefined, what: string): ImsError {
  return new ImsError('IMS_RESPONSE_INVALID', `IMS answer from ${path} ${what}${debugSuffix(debugId)}`, {
    status: 200,
    debugId,
  });
}

/**
 * The token in a 2xx answer, or `IMS_RESPONSE_INVALID`: `access_token` a bearer token (RFC 6750
 * b64token, at most MAX_ACCESS_TOKEN_LENGTH) and not containing a secret we `sent`, `token_type` bearer, `expires_in` a number whose
 * lifetime in this flow's unit is one IMS issues (TOKEN_LIFETIME_MS).
 */
function token(
  body: unknown,
  unit: 'milliseconds' | 'seconds',
  path: string,
  debugId: string | undefined,
  sent: readonly string[],
): ImsToken {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalidAnswer(path, debugId, 'is not a JSON object');
  const answer = body as Record<string, unknown>;
  // Containing, not only equal: a peer can wrap an echoed secret ("<secret>+"), and readers would get it.
  const echoed =
    typeof answer.access_token === 'string' && sent.some((secret) => (answer.access_token as string).includes(secret));
  const tokenProblem = echoed
    ? 'contains a client secret of the credentials or the JWT we sent'
    : accessTokenProblem(answer.access_token);
  if (tokenProblem) throw invalidAnswer(path, debugId, `has an "access_token" that ${tokenProblem}`);
  // Remembered only once it is a token: junk could be any text, even words of our own log lines.
  rememberSecret(answer.access_token as string);
  if (typeof answer.token_type !== 'string' || answer.token_type.toLowerCase() !== 'bearer') {
    throw invalidAnswer(path, debugId, 'has no "token_type" "bearer"');
  }
  const expiresIn = answer.expires_in;
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw invalidAnswer(path, debugId, 'has no positive numeric "expires_in"');
  }
  const lifetimeMs = unit === 'milliseconds' ? expiresIn : expiresIn * 1000;
  const lifetime = lifetimeProblem(lifetimeMs);
  if (lifetime)
    throw invalidAnswer(path, debugId, `has an "expires_in" that, in ${unit} as this flow uses, ${lifetime}`);
  return { accessToken: answer.access_token as string, lifetimeMs };
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

/** IMS refused this client secret (docs/protocol.md §3): another of the credentials' secrets may work. */
export function clientSecretRefused(error: unknown): boolean {
  return error instanceof ImsError && error.status === 401 && error.imsError === 'invalid_client';
}
