import { createPrivateKey, type KeyObject } from 'node:crypto';
import { CredentialsError } from './errors.js';
import { rememberPemLines, rememberSecret } from './redact.js';
import type { CredentialsType } from './token.js';

/** AEM as a Cloud Service service credentials (ims-protocol.md §1): signed-JWT exchange. */
export interface JwtCredentials {
  readonly type: 'jwt';
  readonly clientId: string;
  readonly clientSecret: string;
  readonly org: string;
  readonly technicalAccountId: string;
  /** Bare IMS host, e.g. `ims-na1.adobelogin.com`; used in `aud` and metascope claims. */
  readonly imsEndpoint: string;
  readonly metascopes: readonly string[];
  readonly privateKey: KeyObject;
}

/** Adobe Developer Console OAuth Server-to-Server credentials (ims-protocol.md §2). */
export interface OAuthCredentials {
  readonly type: 'oauth';
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  readonly imsEndpoint: string;
}

export type Credentials = JwtCredentials | OAuthCredentials;

export const DEFAULT_IMS_ENDPOINT = 'ims-na1.adobelogin.com';

const HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i;
const ADOBE_IMS_HOST = /\.adobelogin\.com$/i;

type Json = Record<string, unknown>;

export interface ParseOptions {
  /** Skip shape detection and insist on this kind. */
  readonly type?: CredentialsType;
  /** Allow an `imsEndpoint` outside `*.adobelogin.com` (only when IMS_BASE_URL is set explicitly). */
  readonly allowAnyImsHost?: boolean;
}

/**
 * Parses the credentials secret. Errors name the offending field and never contain a value.
 * Accepts the AEM Developer Console JSON with or without its `{ ok, integration, statusCode }`
 * wrapper, and OAuth Server-to-Server JSON `{ clientId, clientSecret, scopes, imsEndpoint? }`.
 */
export function parseCredentials(text: string, options: ParseOptions = {}): Credentials {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    throw new CredentialsError('credentials secret is not JSON');
  }
  if (!isObject(root)) throw new CredentialsError('credentials secret is not a JSON object');
  if (root.ok === false) throw new CredentialsError('credentials JSON says "ok": false; download them again');

  const type = options.type ?? detectType(root);
  return type === 'jwt' ? parseJwt(root, options) : parseOAuth(root, options);
}

function detectType(root: Json): CredentialsType {
  const jwt = 'integration' in root || 'technicalAccount' in root;
  const oauth = 'clientId' in root || 'clientSecret' in root;
  if (jwt && oauth) {
    throw new CredentialsError(
      'credentials have both "integration"/"technicalAccount" (JWT) and "clientId"/"clientSecret" (OAuth); set CREDENTIALS_TYPE',
    );
  }
  if (jwt) return 'jwt';
  if (oauth) return 'oauth';
  throw new CredentialsError(
    'credentials are neither AEM service credentials (missing "integration") nor OAuth Server-to-Server credentials (missing "clientId" and "clientSecret")',
  );
}

function parseJwt(root: Json, options: ParseOptions): JwtCredentials {
  const wrapped = 'integration' in root;
  const prefix = wrapped ? 'integration.' : '';
  const integration = wrapped ? root.integration : root;
  if (!isObject(integration)) throw new CredentialsError('"integration" is missing or not an object');
  const account = integration.technicalAccount;
  if (!isObject(account)) throw new CredentialsError(`"${prefix}technicalAccount" is missing or not an object`);

  return {
    type: 'jwt',
    clientId: requireString(account, 'clientId', `${prefix}technicalAccount.`),
    clientSecret: secretString(account, 'clientSecret', `${prefix}technicalAccount.`),
    org: requireString(integration, 'org', prefix),
    technicalAccountId: requireString(integration, 'id', prefix),
    imsEndpoint: imsHost(requireString(integration, 'imsEndpoint', prefix), `${prefix}imsEndpoint`, options),
    metascopes: requireList(integration, 'metascopes', prefix),
    privateKey: readRsaKey(requireString(integration, 'privateKey', prefix), `${prefix}privateKey`),
  };
}

function parseOAuth(root: Json, options: ParseOptions): OAuthCredentials {
  const endpoint = root.imsEndpoint === undefined ? DEFAULT_IMS_ENDPOINT : requireString(root, 'imsEndpoint', '');
  return {
    type: 'oauth',
    clientId: requireString(root, 'clientId', ''),
    clientSecret: secretString(root, 'clientSecret', ''),
    scopes: requireList(root, 'scopes', ''),
    imsEndpoint: imsHost(endpoint, 'imsEndpoint', options),
  };
}

function requireString(object: Json, key: string, prefix: string): string {
  const value = object[key];
  if (value === undefined || value === null) throw new CredentialsError(`"${prefix}${key}" is missing`);
  if (typeof value !== 'string') throw new CredentialsError(`"${prefix}${key}" is not a string`);
  if (value.trim() === '') throw new CredentialsError(`"${prefix}${key}" is empty`);
  return value.trim();
}

/** A required string that is a secret: remembered for redaction before anything can quote it. */
function secretString(object: Json, key: string, prefix: string): string {
  if (typeof object[key] === 'string') rememberSecret(object[key], object[key].trim());
  return requireString(object, key, prefix);
}

/** A comma-separated string (Adobe's form) or an array of strings. */
function requireList(object: Json, key: string, prefix: string): string[] {
  const value = object[key];
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (value === undefined || value === null) throw new CredentialsError(`"${prefix}${key}" is missing`);
  if (!items || !items.every((item) => typeof item === 'string')) {
    throw new CredentialsError(`"${prefix}${key}" is not a comma-separated string or an array of strings`);
  }
  const list = items.map((item: string) => item.trim()).filter((item) => item !== '');
  if (list.length === 0) throw new CredentialsError(`"${prefix}${key}" is empty`);
  return list;
}

function imsHost(host: string, field: string, options: ParseOptions): string {
  if (!HOST.test(host)) throw new CredentialsError(`"${field}" is not a bare host name like "${DEFAULT_IMS_ENDPOINT}"`);
  if (!options.allowAnyImsHost && !ADOBE_IMS_HOST.test(host)) {
    throw new CredentialsError(`"${field}" is not an Adobe IMS host (*.adobelogin.com); set IMS_BASE_URL to use another`);
  }
  return host.toLowerCase();
}

/** Reads PKCS#1 or PKCS#8 PEM, with CRLF or literal "\n" line ends. Never echoes the key. */
function readRsaKey(pem: string, field: string): KeyObject {
  rememberPemLines(pem);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem.replace(/\\r/g, '').replace(/\\n/g, '\n'), format: 'pem' });
  } catch {
    throw new CredentialsError(`"${field}" is not a readable PEM private key`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new CredentialsError(`"${field}" is not an RSA key (RS256 needs RSA)`);
  // RS256 with a shorter key is refused by jose (and by IMS); say so before signing.
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new CredentialsError(`"${field}" is an RSA key shorter than 2048 bits`);
  }
  return key;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
