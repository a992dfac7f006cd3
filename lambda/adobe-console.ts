/**
 * The client of Adobe's I/O Management API for a credential's client secrets: list, create,
 * delete (docs/protocol.md §7; Adobe Developer Console docs, ServerToServerAuthentication, and the
 * spec in adobe/aio-lib-console `spec/api.json`). Everything Adobe answers is untrusted: bodies
 * are bounded, checked field by field and never quoted; the plaintext of a new secret is
 * remembered for redaction before anything else is done with the answer.
 */
import { AdobeApiError, MAX_DETAIL_LENGTH, RefresherError } from '../common/errors.js';
import { redactOptional, rememberSecret } from '../common/redact.js';
import { ADOBE_ID } from '../common/rules.js';
import { parseJson, readAnswer, type Fetch, MAX_ANSWER_BYTES } from './ims.js';

/** Who calls: a token minted by the credential itself, its client id (`x-api-key`) and where the credential lives. */
export interface AdobeSession {
  readonly accessToken: string;
  readonly clientId: string;
  /** The numeric Developer Console org id (not the `…@AdobeOrg` IMS org id). */
  readonly orgId: string;
  readonly credentialId: string;
}

export interface AdobeConsoleOptions {
  readonly fetch: Fetch;
  /** @default DEFAULT_ADOBE_API_BASE_URL */
  readonly baseUrl?: string;
  /** Each request is aborted after this long. */
  readonly timeoutMs: number;
  /** Aborts every request when the step must end. @default - only `timeoutMs` */
  readonly signal?: AbortSignal;
}

/** One of the credential's client secrets as Adobe lists it (never with its plaintext). */
export interface ListedClientSecret {
  readonly uuid: string;
  /** Epoch ms. */
  readonly createdAt: number;
  /** The latest `secret_usages[].last_used_at` (epoch ms), or `undefined` when it was never used. */
  readonly lastUsedAt: number | undefined;
}

/** Adobe's `x-request-id` of the answer, when it sent a well-formed one. */
interface Answered {
  readonly requestId: string | undefined;
}

/** The I/O Management API calls the rotation makes, for one credential. */
export interface AdobeConsole {
  list(): Promise<Answered & { readonly secrets: readonly ListedClientSecret[] }>;
  /** The plaintext is only in this answer; `uuid` is `undefined` when Adobe left it out (list again). */
  create(): Promise<Answered & { readonly secret: string; readonly uuid: string | undefined }>;
  delete(uuid: string): Promise<Answered>;
}

export const DEFAULT_ADOBE_API_BASE_URL = 'https://api.adobe.io';

/** Each I/O Management API request's own deadline, as an IMS attempt's. */
export const ADOBE_REQUEST_TIMEOUT_MS = 10_000;

/** What a 403 means here, and the fix (README "Rotate client secrets automatically"). */
export const FORBIDDEN_FIX =
  'add the I/O Management API to the Developer Console project and the scopes read_client_secret, manage_client_secrets (see README)';

/** An `x-request-id` as accepted (a uuid is `ADOBE_ID`): they go into URLs and log lines. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Adobe's epoch-millisecond strings (numbers accepted too). */
const EPOCH_MS = /^\d{1,15}$/;
/** Adobe allows two secrets per credential; more than this in a list is not an answer about one credential. */
const MAX_LISTED = 16;
/** Longest client secret accepted (Adobe's are about 40 characters): it is stored in the credentials secret. */
const MAX_SECRET_LENGTH = 512;
const MAX_MESSAGE_LENGTH = 200;

type Operation = 'list' | 'create' | 'delete';

/** The I/O Management API client for `session`'s credential. */
export function adobeConsole(session: AdobeSession, options: AdobeConsoleOptions): AdobeConsole {
  // The bearer token may come from the token secret (the grace check), not from a mint that remembered it.
  rememberSecret(session.accessToken);
  const base = `${(options.baseUrl ?? DEFAULT_ADOBE_API_BASE_URL).replace(/\/+$/, '')}/console/organizations/${encodeURIComponent(session.orgId)}/credentials/${encodeURIComponent(session.credentialId)}/secrets`;
  const call = (operation: Operation, method: string, url: string) => send(session, options, operation, method, url);
  return {
    async list() {
      const { body, requestId } = await call('list', 'GET', base);
      return { secrets: listed(body, session.clientId, requestId), requestId };
    },
    async create() {
      const { body, requestId } = await call('create', 'POST', base);
      return { ...created(body, session.accessToken, requestId), requestId };
    },
    async delete(uuid: string) {
      if (!ADOBE_ID.test(uuid)) throw invalid('delete', 'was asked to delete a uuid that is not one', undefined);
      try {
        const { requestId } = await call('delete', 'DELETE', `${base}/${uuid}`);
        return { requestId };
      } catch (error) {
        // Already gone (a repeated step, the grace check and a rotation overlapping, a lost answer) if
        // the list says so; a 404 for any other reason (a proxy not routing DELETE) is a failure.
        if (!(error instanceof AdobeApiError) || error.status !== 404) throw error;
        const { body } = await call('list', 'GET', base);
        if (listed(body, session.clientId, undefined).some((entry) => entry.uuid === uuid)) throw error;
        return { requestId: error.requestId };
      }
    },
  };
}

/** One request; a 2xx answer's JSON body (`undefined` when empty), or `AdobeApiError`. */
async function send(
  session: AdobeSession,
  options: AdobeConsoleOptions,
  operation: Operation,
  method: string,
  url: string,
): Promise<{ body: unknown; requestId: string | undefined }> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  let response: Response;
  try {
    response = await options.fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${session.accessToken}`,
        'x-api-key': session.clientId,
        accept: 'application/json',
      },
      redirect: 'manual',
      signal,
    });
  } catch (error) {
    // The proxy failed: reported as it is, never blamed on Adobe.
    if (error instanceof RefresherError) throw error;
    throw unanswered(operation, options, 'the connection failed', error);
  }
  const requestId = requestIdOf(response);
  let text: string | undefined;
  try {
    text = await readAnswer(response);
  } catch (error) {
    throw unanswered(operation, options, 'the answer was cut off', error, requestId);
  }
  if (response.status < 200 || response.status >= 300) {
    throw refused(operation, response.status, text === undefined ? undefined : parseJson(text), requestId);
  }
  if (text === undefined) throw invalid(operation, `is larger than ${MAX_ANSWER_BYTES} bytes`, requestId);
  if (text.trim() === '') return { body: undefined, requestId };
  const body = parseJson(text);
  if (body === undefined) throw invalid(operation, 'is not JSON', requestId);
  return { body, requestId };
}

function requestIdOf(response: Response): string | undefined {
  const value = response.headers.get('x-request-id')?.trim();
  return value && REQUEST_ID.test(value) ? value : undefined;
}

function suffix(requestId: string | undefined): string {
  return requestId ? ` (x-request-id ${requestId})` : '';
}

/** No (whole) answer: transient. */
function unanswered(
  operation: Operation,
  options: AdobeConsoleOptions,
  what: string,
  error: unknown,
  requestId?: string,
): AdobeApiError {
  const reason = options.signal?.aborted
    ? "the step's deadline was reached"
    : (error as Error)?.name === 'TimeoutError'
      ? `no answer within ${options.timeoutMs} ms`
      : what;
  return new AdobeApiError(`I/O Management API ${operation}: ${reason}${suffix(requestId)}`, {
    requestId,
    transient: true,
    cause: error,
  });
}

/** A non-2xx answer: transient for 429 and 5xx; a 403 names the fix. Adobe's own `error_code` and `message`, redacted and bounded. */
function refused(operation: Operation, status: number, body: unknown, requestId: string | undefined): AdobeApiError {
  const transient = status === 429 || status >= 500;
  const code = redactOptional(stringField(body, 'error_code'), MAX_DETAIL_LENGTH);
  const message = redactOptional(stringField(body, 'message'), MAX_MESSAGE_LENGTH);
  const detail = [code, message].filter(Boolean).join(': ');
  const hint =
    status === 403
      ? `: ${FORBIDDEN_FIX}`
      : status >= 300 && status < 400
        ? ': redirects are not followed; ADOBE_API_BASE_URL (adobeApiBaseUrl) is wrong'
        : '';
  return new AdobeApiError(
    `I/O Management API ${operation} answered HTTP ${status}${detail ? ` ${detail}` : ''}${suffix(requestId)}${hint}`,
    { status, requestId, transient },
  );
}

/** A 2xx answer that is not what Adobe documents: permanent, the body never quoted. */
function invalid(operation: Operation, what: string, requestId: string | undefined): AdobeApiError {
  return new AdobeApiError(`I/O Management API ${operation} answer ${what}${suffix(requestId)}`, {
    requestId,
    transient: false,
  });
}

/** The list answer: `{ client_id?, client_secrets: [{ uuid, created_at, secret_usages }] }`. */
function listed(body: unknown, clientId: string, requestId: string | undefined): ListedClientSecret[] {
  if (!isObject(body) || !Array.isArray(body.client_secrets)) {
    throw invalid('list', 'has no "client_secrets" list', requestId);
  }
  // The org and credential ids name another credential than the one whose token we sent: touch nothing.
  if (body.client_id !== undefined && body.client_id !== clientId) {
    throw invalid(
      'list',
      'is about another client id: the org id or credential id names another credential',
      requestId,
    );
  }
  if (body.client_secrets.length > MAX_LISTED) {
    throw invalid('list', `holds more than ${MAX_LISTED} client secrets`, requestId);
  }
  return body.client_secrets.map((entry: unknown, i) => {
    const field = `client_secrets[${i}]`;
    if (!isObject(entry)) throw invalid('list', `has a "${field}" that is not an object`, requestId);
    const uuid = entry.uuid;
    if (typeof uuid !== 'string' || !ADOBE_ID.test(uuid)) {
      throw invalid('list', `has a "${field}.uuid" that is not 1-64 letters, digits or hyphens`, requestId);
    }
    const createdAt = epochMs(entry.created_at);
    if (createdAt === undefined)
      throw invalid('list', `has a "${field}.created_at" that is not epoch milliseconds`, requestId);
    const usages = entry.secret_usages ?? [];
    if (!Array.isArray(usages)) throw invalid('list', `has a "${field}.secret_usages" that is not a list`, requestId);
    const used = usages.map((usage: unknown) => (isObject(usage) ? epochMs(usage.last_used_at) : undefined));
    if (used.some((at) => at === undefined)) {
      throw invalid('list', `has a "${field}.secret_usages[].last_used_at" that is not epoch milliseconds`, requestId);
    }
    const lastUsedAt = used.length === 0 ? undefined : Math.max(...(used as number[]));
    return { uuid, createdAt, lastUsedAt };
  });
}

/** The create answer: the plaintext (remembered for redaction first) and, usually, its uuid. */
function created(
  body: unknown,
  accessToken: string,
  requestId: string | undefined,
): { secret: string; uuid: string | undefined } {
  const secret = isObject(body) ? body.client_secret : undefined;
  if (typeof secret === 'string') rememberSecret(secret);
  if (typeof secret !== 'string' || secret === '' || secret.length > MAX_SECRET_LENGTH || /[^!-~]/.test(secret)) {
    throw invalid('create', `has no "client_secret" of 1-${MAX_SECRET_LENGTH} printable ASCII characters`, requestId);
  }
  // A peer echoing our bearer token as the "new secret" would put the token into the credentials.
  if (secret.includes(accessToken) || accessToken.includes(secret)) {
    throw invalid('create', 'has a "client_secret" that contains the access token sent', requestId);
  }
  const uuid = (body as Record<string, unknown>).uuid;
  if (uuid === undefined || uuid === null) return { secret, uuid: undefined };
  if (typeof uuid !== 'string' || !ADOBE_ID.test(uuid)) {
    throw invalid('create', 'has a "uuid" that is not 1-64 letters, digits or hyphens', requestId);
  }
  return { secret, uuid };
}

function epochMs(value: unknown): number | undefined {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  return typeof text === 'string' && EPOCH_MS.test(text) ? Number(text) : undefined;
}

function stringField(body: unknown, name: string): string | undefined {
  const value = isObject(body) ? body[name] : undefined;
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
