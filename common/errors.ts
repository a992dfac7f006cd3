import { redact, redactOptional } from './redact.js';

/**
 * The one error module. Every error this project raises is a `RefresherError` with a stable
 * `code` and a `transient` flag: transient errors may succeed on retry, permanent ones cannot
 * until someone fixes configuration or credentials. Messages name fields and IMS error codes,
 * never secret values or response bodies; every message and every detail from outside passes
 * through `redact` here, so no call site can forget it.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CREDENTIALS_INVALID'
  | 'IMS_REJECTED'
  | 'IMS_UNAVAILABLE'
  | 'IMS_RESPONSE_INVALID'
  | 'SECRET_READ_FAILED'
  | 'TOKEN_WRITE_FAILED'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'PROXY_FAILED'
  | 'ROTATION_FAILED'
  | 'ADOBE_API_FAILED'
  | 'INTERNAL_ERROR';

export class RefresherError extends Error {
  // Names are spelled out: the bundle is minified, so `new.target.name` would be a mangled one.
  override name = 'RefresherError';
  readonly code: ErrorCode;
  readonly transient: boolean;

  constructor(code: ErrorCode, message: string, options: { transient?: boolean; cause?: unknown } = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.transient = options.transient ?? false;
  }
}

/** Misuse: a missing or malformed environment variable or construct input. Raised at start. */
export class ConfigurationError extends RefresherError {
  override name = 'ConfigurationError';
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** The credentials secret does not hold usable credentials. Names the field, never its value. */
export class CredentialsError extends RefresherError {
  override name = 'CredentialsError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('CREDENTIALS_INVALID', message, options);
  }
}

/** Bound for the IMS `error` code and `X-Debug-Id`: both are short identifiers when IMS sends them. */
export const MAX_DETAIL_LENGTH = 100;

/** Adobe IMS could not be used: rejected (permanent), unavailable (transient) or answered nonsense. */
export class ImsError extends RefresherError {
  override name = 'ImsError';
  /** HTTP status, when IMS answered at all. */
  readonly status: number | undefined;
  /** IMS `error` code, e.g. `invalid_client` (redacted and bounded: it is text from the network). */
  readonly imsError: string | undefined;
  /** IMS `X-Debug-Id` header: what Adobe support asks for (redacted and bounded like `imsError`). */
  readonly debugId: string | undefined;
  /** Seconds IMS asked us to wait (`Retry-After`), when it said so. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: 'IMS_REJECTED' | 'IMS_UNAVAILABLE' | 'IMS_RESPONSE_INVALID',
    message: string,
    details: {
      status?: number;
      imsError?: string;
      debugId?: string;
      retryAfterSeconds?: number;
      cause?: unknown;
    } = {},
  ) {
    super(code, message, { transient: code === 'IMS_UNAVAILABLE', cause: details.cause });
    this.status = details.status;
    this.imsError = redactOptional(details.imsError, MAX_DETAIL_LENGTH);
    this.debugId = redactOptional(details.debugId, MAX_DETAIL_LENGTH);
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

/**
 * Secrets Manager failed after the SDK's own retries; the SDK error is the `cause`. Transient
 * unless Secrets Manager refused the request (access denied, KMS, missing secret): waiting
 * cannot fix that, so it must alarm at once and not mint a new token every run.
 */
export class SecretStoreError extends RefresherError {
  override name = 'SecretStoreError';
  constructor(code: 'SECRET_READ_FAILED' | 'TOKEN_WRITE_FAILED', message: string, cause: unknown, transient = true) {
    super(code, message, { transient, cause });
  }
}

/** Which call a proxied connection was carrying, as `ProxyError` messages name it. */
export type ProxiedCall = 'IMS' | 'Secrets Manager' | 'I/O Management API';

/**
 * The HTTPS proxy (`HTTPS_PROXY`) failed a call before it reached its destination: it refused the
 * connection, did not answer CONNECT in time, or answered it with anything but 2xx (407: it wants
 * other credentials). Transient (a proxy comes back); never blamed on IMS or Secrets Manager.
 * The message names the proxy as `host:port` only and which call it was carrying.
 */
export class ProxyError extends RefresherError {
  override name = 'ProxyError';
  /** The proxy, `host:port`. */
  readonly proxy: string;
  readonly call: ProxiedCall;
  /** The proxy's HTTP status to CONNECT, when it answered one. */
  readonly status: number | undefined;

  constructor(proxy: string, call: ProxiedCall, what: string, details: { status?: number; cause?: unknown } = {}) {
    super('PROXY_FAILED', `proxy ${proxy} ${what} (carrying the ${call} call)`, {
      transient: true,
      cause: details.cause,
    });
    this.proxy = proxy;
    this.call = call;
    this.status = details.status;
  }
}

/** The steps of a Secrets Manager rotation, and the scheduled grace check that retires the old client secret. */
export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret' | 'retireCheck';

/**
 * A rotation step could not complete: the message starts with the step and says why (and what to
 * do, when a person must act). Secrets Manager retries a failed step; `AWSCURRENT` is untouched
 * until `finishSecret`. Transient when waiting may help (a lost race, a write that timed out).
 */
export class RotationError extends RefresherError {
  override name = 'RotationError';
  readonly step: RotationStep;

  constructor(step: RotationStep, message: string, options: { transient?: boolean; cause?: unknown } = {}) {
    super('ROTATION_FAILED', `${step}: ${message}`, options);
    this.step = step;
  }
}

/**
 * Adobe's I/O Management API answered non-2xx, an answer that is not what it documents, or not at
 * all. Transient for 429, 5xx, timeouts and connection failures. Carries Adobe's `x-request-id`
 * (what Adobe support asks for); never the answer's body.
 */
export class AdobeApiError extends RefresherError {
  override name = 'AdobeApiError';
  /** HTTP status, when Adobe answered at all. */
  readonly status: number | undefined;
  /** Adobe's `x-request-id` header, when it sent a well-formed one. */
  readonly requestId: string | undefined;

  constructor(message: string, details: { status?: number; requestId?: string; transient: boolean; cause?: unknown }) {
    super('ADOBE_API_FAILED', message, { transient: details.transient, cause: details.cause });
    this.status = details.status;
    this.requestId = details.requestId;
  }
}

/** The token secret does not hold a token in the documented contract (reader side). */
export class TokenContractError extends RefresherError {
  override name = 'TokenContractError';
  constructor(message: string) {
    super('TOKEN_INVALID', message);
  }
}

/** The token secret holds a token that is expired or about to expire (reader side). */
export class TokenExpiredError extends RefresherError {
  override name = 'TokenExpiredError';
  readonly expiresAt: Date;

  constructor(message: string, expiresAt: Date) {
    super('TOKEN_EXPIRED', message);
    this.expiresAt = expiresAt;
  }
}
