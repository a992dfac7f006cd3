import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { CredentialsError } from './errors.js';
import { rememberPemLines, rememberSecret } from './redact.js';
import { ADOBE_ID, ADOBE_ORG_ID } from './rules.js';
import type { CredentialsType } from './token.js';

/** Where credentials JSON comes from, detected by its shape (README "Store the credentials"). */
export type CredentialsShape = 'aem-service-credentials' | 'developer-console-project' | 'oauth-simple';

/** AEM as a Cloud Service service credentials (docs/protocol.md §1): signed-JWT exchange. */
export interface JwtCredentials {
  readonly type: 'jwt';
  readonly shape: 'aem-service-credentials';
  readonly clientId: string;
  /** Tried in order: a 401 `invalid_client` for one moves to the next. Never empty. */
  readonly clientSecrets: readonly string[];
  readonly org: string;
  readonly technicalAccountId: string;
  /** Bare IMS host, e.g. `ims-na1.adobelogin.com`; used in `aud` and metascope claims. */
  readonly imsEndpoint: string;
  readonly metascopes: readonly string[];
  readonly privateKey: KeyObject;
  /** When the certificate in `publicKey` expires (its notAfter), epoch ms. */
  readonly certificateExpiresAt: number;
}

/** Adobe Developer Console OAuth Server-to-Server credentials (docs/protocol.md §2). */
export interface OAuthCredentials {
  readonly type: 'oauth';
  readonly shape: 'developer-console-project' | 'oauth-simple';
  readonly clientId: string;
  /** Tried in order: a 401 `invalid_client` for one moves to the next. Never empty. */
  readonly clientSecrets: readonly string[];
  readonly scopes: readonly string[];
  readonly imsEndpoint: string;
  /** The chosen credential's `name` in a Developer Console project download. */
  readonly credentialName?: string;
  /**
   * Adobe's `uuid` of each client secret, parallel to `clientSecrets` (written by a rotation; not
   * secret). Absent until the first rotation, or when the credentials were uploaded without them.
   */
  readonly clientSecretUuids?: readonly string[];
  /** The numeric Developer Console org id (`project.org.id`), for the I/O Management API. */
  readonly orgId?: string;
  /** The credential's `id` in the Developer Console project, for the I/O Management API. */
  readonly credentialId?: string;
}

export type Credentials = JwtCredentials | OAuthCredentials;

export const DEFAULT_IMS_ENDPOINT = 'ims-na1.adobelogin.com';

const HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i;
const ADOBE_IMS_HOST = /\.adobelogin\.com$/i;
const OAUTH_S2S = 'oauth_server_to_server';
/** Longest credential name quoted in an error: names are not secret, but they are text from outside. */
const MAX_NAME_LENGTH = 64;

type Json = Record<string, unknown>;

export interface ParseOptions {
  /** Skip shape detection and insist on this kind. */
  readonly type?: CredentialsType;
  /** Allow an `imsEndpoint` outside `*.adobelogin.com` (only when IMS_BASE_URL is set explicitly). */
  readonly allowAnyImsHost?: boolean;
  /** Picks one of several OAuth Server-to-Server credentials in a project download, by `name` or `id`. */
  readonly credentialName?: string;
}

/**
 * Parses the credentials secret, detected by shape: the AEM Developer Console service credentials
 * (with or without their `{ ok, integration, statusCode }` wrapper), the Adobe Developer Console
 * project download (`project.workspace.details.credentials[]`), or the simple OAuth shape
 * `{ clientId, clientSecret | clientSecrets, scopes, imsEndpoint? }`. Errors name the offending
 * field and never contain a value. An expired certificate is not an error here: IMS decides.
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

  const shape = detectShape(root, options.type);
  if (shape === 'aem-service-credentials') return parseJwt(root, options);
  if (shape === 'developer-console-project') return parseProject(root, options);
  return parseOAuth(root, options);
}

/** The top-level keys that tell the shapes apart; a token record has none of them. */
const SHAPE_KEYS = {
  'aem-service-credentials': ['integration', 'technicalAccount'],
  'developer-console-project': ['project'],
  'oauth-simple': ['clientId', 'clientSecret', 'clientSecrets'],
} as const satisfies Record<CredentialsShape, readonly string[]>;

/** The keys of `value` that mark one of the credentials shapes: names only, from a fixed list. */
export function credentialsKeysIn(value: object): string[] {
  return Object.values(SHAPE_KEYS)
    .flat()
    .filter((key) => key in value);
}

function detectShape(root: Json, type: CredentialsType | undefined): CredentialsShape {
  const has = (shape: CredentialsShape) => SHAPE_KEYS[shape].some((key) => key in root);
  const jwt = has('aem-service-credentials');
  const project = has('developer-console-project');
  const simple = has('oauth-simple');
  if (type === 'jwt') return 'aem-service-credentials';
  if (type === 'oauth') return project && !simple ? 'developer-console-project' : 'oauth-simple';
  if ([jwt, project, simple].filter(Boolean).length > 1) {
    throw new CredentialsError(
      'credentials mix shapes: "integration" (AEM service credentials), "project" (Developer Console download) and "clientId" (OAuth); keep one, or set CREDENTIALS_TYPE',
    );
  }
  if (jwt) return 'aem-service-credentials';
  if (project) return 'developer-console-project';
  if (simple) return 'oauth-simple';
  throw new CredentialsError(
    'credentials are not AEM service credentials ("integration"), an Adobe Developer Console project download ("project") or OAuth Server-to-Server credentials ("clientId")',
  );
}

function parseJwt(root: Json, options: ParseOptions): JwtCredentials {
  const wrapped = 'integration' in root;
  const prefix = wrapped ? 'integration.' : '';
  const integration = wrapped ? root.integration : root;
  if (!isObject(integration)) throw new CredentialsError('"integration" is missing or not an object');
  const account = integration.technicalAccount;
  if (!isObject(account)) throw new CredentialsError(`"${prefix}technicalAccount" is missing or not an object`);

  const clientSecret = secretString(account, 'clientSecret', `${prefix}technicalAccount.`);
  const privateKey = readRsaKey(requireString(integration, 'privateKey', prefix), `${prefix}privateKey`);
  const certificate = readCertificate(requireString(integration, 'publicKey', prefix), `${prefix}publicKey`);
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new CredentialsError(
      `"${prefix}privateKey" does not belong to the certificate in "${prefix}publicKey"; download both from the same credentials`,
    );
  }
  return {
    type: 'jwt',
    shape: 'aem-service-credentials',
    clientId: requireString(account, 'clientId', `${prefix}technicalAccount.`),
    clientSecrets: [clientSecret],
    org: requireString(integration, 'org', prefix),
    technicalAccountId: requireString(integration, 'id', prefix),
    imsEndpoint: imsHost(requireString(integration, 'imsEndpoint', prefix), `${prefix}imsEndpoint`, options),
    metascopes: requireList(integration, 'metascopes', prefix),
    privateKey,
    certificateExpiresAt: Date.parse(certificate.validTo),
  };
}

function parseOAuth(root: Json, options: ParseOptions): OAuthCredentials {
  const endpoint = root.imsEndpoint === undefined ? DEFAULT_IMS_ENDPOINT : requireString(root, 'imsEndpoint', '');
  if ('clientSecret' in root && 'clientSecrets' in root) {
    throw new CredentialsError('credentials have both "clientSecret" and "clientSecrets"; keep one');
  }
  const clientId = requireString(root, 'clientId', '');
  const clientSecrets =
    'clientSecrets' in root ? secretList(root, 'clientSecrets', '') : [secretString(root, 'clientSecret', '')];
  return {
    type: 'oauth',
    shape: 'oauth-simple',
    clientId,
    clientSecrets,
    scopes: requireList(root, 'scopes', ''),
    imsEndpoint: imsHost(endpoint, 'imsEndpoint', options),
    ...uuidsFor(clientSecrets, root, 'clientSecretUuids', ''),
  };
}

/** The Adobe Developer Console project download: one OAuth Server-to-Server credential of the workspace. */
function parseProject(root: Json, options: ParseOptions): OAuthCredentials {
  const { entry, index, s2s } = chosenCredential(root, options);
  const field = PROJECT_CREDENTIALS;
  const prefix = `${field}[${index}].${OAUTH_S2S}.`;
  const clientSecrets = secretList(s2s, 'client_secrets', prefix);
  const orgId = path(root, ['project', 'org', 'id']);
  return {
    type: 'oauth',
    shape: 'developer-console-project',
    clientId: requireString(s2s, 'client_id', prefix),
    clientSecrets,
    scopes: requireList(s2s, 'scopes', prefix),
    imsEndpoint: imsHost(DEFAULT_IMS_ENDPOINT, 'imsEndpoint', options),
    ...(typeof entry.name === 'string' ? { credentialName: entry.name } : {}),
    ...uuidsFor(clientSecrets, s2s, 'client_secret_uuids', prefix),
    ...(orgId === undefined ? {} : { orgId: numericOrgId(orgId) }),
    ...(entry.id === undefined ? {} : { credentialId: adobeId(entry.id, `${field}[${index}].id`) }),
  };
}

const PROJECT_CREDENTIALS = 'project.workspace.details.credentials';

/** The one OAuth Server-to-Server credential of a project download that `options.credentialName` picks. */
function chosenCredential(root: Json, options: ParseOptions): { entry: Json; index: number; s2s: Json } {
  const field = PROJECT_CREDENTIALS;
  const list = path(root, ['project', 'workspace', 'details', 'credentials']);
  if (!Array.isArray(list)) throw new CredentialsError(`"${field}" is missing or not a list`);
  // Every secret in the download, not only the chosen credential's: none may be quoted by a later message.
  rememberSecretsIn(root);
  const candidates = list.filter((entry): entry is Json => isObject(entry) && entry.integration_type === OAUTH_S2S);
  if (candidates.length === 0) {
    throw new CredentialsError(
      `"${field}" holds no credential with "integration_type": "${OAUTH_S2S}"; add OAuth Server-to-Server to the project`,
    );
  }
  // A label only: a name that is not a string prints as String() does, never as its contents.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  const label = (entry: Json) => JSON.stringify(String(entry.name ?? entry.id ?? '?').slice(0, MAX_NAME_LENGTH));
  const wanted = options.credentialName;
  const chosen =
    wanted === undefined ? candidates : candidates.filter((entry) => entry.name === wanted || entry.id === wanted);
  if (chosen.length !== 1) {
    const names = candidates.map(label).join(', ');
    throw new CredentialsError(
      wanted === undefined
        ? `"${field}" holds ${candidates.length} OAuth Server-to-Server credentials (${names}); set credentialName (CLI: --credential) to one of them`
        : `"${field}" holds no OAuth Server-to-Server credential named by credentialName (it holds ${names})`,
    );
  }
  const entry = chosen[0];
  const index = list.indexOf(entry);
  const s2s = entry[OAUTH_S2S];
  if (!isObject(s2s)) throw new CredentialsError(`"${field}[${index}].${OAUTH_S2S}" is missing or not an object`);
  return { entry, index, s2s };
}

/** A client secret and its Adobe `uuid`, as a rotation writes them into the credentials. */
export interface ClientSecretEntry {
  readonly secret: string;
  readonly uuid: string;
}

/**
 * The credentials JSON `text` (OAuth Server-to-Server, either shape) with its client secrets
 * replaced by `entries` (the rotation's new secret first, then the working one) and their uuids
 * beside them: `clientSecrets` and `clientSecretUuids` in the simple shape (a single
 * `clientSecret` becomes `clientSecrets` in its place), `client_secrets` and
 * `client_secret_uuids` in the project download's chosen credential. Every other key is kept as
 * it was. Pure: the caller stores the result.
 */
export function withClientSecrets(
  text: string,
  entries: readonly ClientSecretEntry[],
  options: ParseOptions = {},
): string {
  if (entries.length === 0 || entries.length > 2) {
    throw new CredentialsError(`a credential holds one or two client secrets, not ${entries.length}`);
  }
  const credentials = parseCredentials(text, options);
  if (credentials.type !== 'oauth') {
    throw new CredentialsError('only OAuth Server-to-Server credentials hold rotatable client secrets');
  }
  const secrets = entries.map((entry) => entry.secret);
  rememberSecret(...secrets);
  const uuids = entries.map((entry, i) => adobeId(entry.uuid, `uuid of client secret ${i}`));
  const root = JSON.parse(text) as Json;
  if (credentials.shape === 'developer-console-project') {
    const { s2s } = chosenCredential(root, options);
    s2s.client_secrets = secrets;
    s2s.client_secret_uuids = uuids;
    return JSON.stringify(root);
  }
  const rewritten: Json = {};
  for (const [key, value] of Object.entries(root)) {
    if (key === 'clientSecret' || key === 'clientSecrets') rewritten.clientSecrets = secrets;
    else if (key !== 'clientSecretUuids') rewritten[key] = value;
  }
  rewritten.clientSecretUuids = uuids;
  return JSON.stringify(rewritten);
}

/** The optional list of Adobe uuids under `key`, parallel to `clientSecrets`. */
function uuidsFor(
  clientSecrets: readonly string[],
  object: Json,
  key: string,
  prefix: string,
): { clientSecretUuids?: string[] } {
  const value = object[key];
  if (value === undefined) return {};
  if (!Array.isArray(value)) throw new CredentialsError(`"${prefix}${key}" is not a list`);
  const uuids = value.map((item, i) => adobeId(item, `${prefix}${key}[${i}]`));
  const repeated = uuids.find((uuid, i) => uuids.indexOf(uuid) !== i);
  if (repeated !== undefined) throw new CredentialsError(`"${prefix}${key}" holds the uuid "${repeated}" twice`);
  if (uuids.length !== clientSecrets.length) {
    throw new CredentialsError(
      `"${prefix}${key}" holds ${uuids.length} uuids for ${clientSecrets.length} client secrets; they are parallel lists`,
    );
  }
  return { clientSecretUuids: uuids };
}

/** A client secret uuid or credential id: 1-64 letters, digits and hyphens (it goes into a URL path). */
function adobeId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ADOBE_ID.test(value)) {
    throw new CredentialsError(`"${field}" is not 1-64 letters, digits or hyphens`);
  }
  return value;
}

/** `project.org.id`: a number or a numeric string. */
function numericOrgId(value: unknown): string {
  const text = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  if (typeof text !== 'string' || !ADOBE_ORG_ID.test(text)) {
    throw new CredentialsError('"project.org.id" is not a numeric Developer Console org id');
  }
  return text;
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

/** Keys whose values are secrets in Adobe's downloads: client secrets, App Builder's `auth`, keys, passwords, tokens. */
const SECRET_KEY = /^(client_?secrets?|auth|private_?key|password|(access|refresh)_?token)$/i;

/** Remembers every string (or list of strings) under a secret-looking key, at any depth. */
function rememberSecretsIn(value: unknown, secret = false): void {
  if (typeof value === 'string') {
    if (secret) rememberSecret(value, value.trim());
  } else if (Array.isArray(value)) {
    for (const item of value) rememberSecretsIn(item, secret);
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) rememberSecretsIn(item, secret || SECRET_KEY.test(key));
  }
}

/** A non-empty list of secret strings, each remembered for redaction first. */
function secretList(object: Json, key: string, prefix: string): string[] {
  const value = object[key];
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'string') rememberSecret(item, item.trim());
  }
  if (value === undefined || value === null) throw new CredentialsError(`"${prefix}${key}" is missing`);
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item.trim() !== '')) {
    throw new CredentialsError(`"${prefix}${key}" is not a list of non-empty strings`);
  }
  if (value.length === 0) throw new CredentialsError(`"${prefix}${key}" is empty`);
  return value.map((item: string) => item.trim());
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
    throw new CredentialsError(
      `"${field}" is not an Adobe IMS host (*.adobelogin.com); set IMS_BASE_URL to use another`,
    );
  }
  return host.toLowerCase();
}

/** Reads PKCS#1 or PKCS#8 PEM, with CRLF or literal "\n" line ends. Never echoes the key. */
function readRsaKey(pem: string, field: string): KeyObject {
  rememberPemLines(pem);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: unescapeNewlines(pem), format: 'pem' });
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

/** The certificate in `publicKey` (public: it is not remembered as a secret). */
function readCertificate(pem: string, field: string): X509Certificate {
  try {
    return new X509Certificate(unescapeNewlines(pem));
  } catch {
    throw new CredentialsError(`"${field}" is not a readable PEM certificate`);
  }
}

/** Keys and certificates pasted through consoles often carry literal "\n" instead of newlines. */
function unescapeNewlines(pem: string): string {
  return pem.replace(/\\r/g, '').replace(/\\n/g, '\n');
}

function path(root: Json, keys: readonly string[]): unknown {
  return keys.reduce<unknown>((value, key) => (isObject(value) ? value[key] : undefined), root);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
