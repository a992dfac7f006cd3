/**
 * `credentials check` and `put` read the credentials file here: at most what Secrets Manager can
 * store, text only, parsed as the refresher would.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parseCredentials, type Credentials, type JwtCredentials } from '../common/credentials.js';
import { CredentialsError } from '../common/errors.js';
import { rememberSecret } from '../common/redact.js';
import { CREDENTIALS_EXPIRY_WARNING_DAYS } from '../common/rules.js';

/**
 * Secrets Manager's limit for a secret value, in bytes. Credentials JSON are a few KB: a larger
 * file cannot be uploaded, so neither command reads more than this (plus one byte to tell).
 */
export const MAX_SECRET_VALUE_BYTES = 65_536;

const DAY_MS = 86_400_000;

/** Where a warning goes. */
interface Warnings {
  write(text: string): unknown;
}

/**
 * Reads a credentials file and parses it as the refresher would. Unlike the refresher (which
 * lets IMS decide), refuses an expired certificate; warns on `stderr` when it expires soon.
 * Returns the file's text, unchanged, and a summary without a secret.
 */
export function checkCredentials(file: string, credentialName: string | undefined, now: number, stderr: Warnings) {
  const text = readCredentialsFile(file);
  // The whole text too, so that an AWS error echoing the upload cannot print it.
  rememberSecret(text);
  const parsed = parseCredentials(text, { credentialName });
  if (parsed.type === 'jwt') {
    const { expiresAt, daysLeft } = certificateOf(parsed, now);
    if (parsed.certificateExpiresAt <= now) {
      throw new CredentialsError(
        `the certificate in "publicKey" expired on ${expiresAt}; refresh the credentials in the AEM Developer Console`,
      );
    }
    // The construct's alarm warns at the same default.
    if (daysLeft < CREDENTIALS_EXPIRY_WARNING_DAYS.default) {
      stderr.write(
        `ims-token: WARNING: the certificate in "publicKey" expires on ${expiresAt} (${daysLeft} days left); ` +
          'refresh the credentials in the AEM Developer Console soon\n',
      );
    }
  }
  return { text, summary: summarize(parsed, now) };
}

/**
 * The file as UTF-8 text, refused without reading it whole when it is larger than a secret can
 * be, and refused when it is binary (a NUL byte, or not UTF-8: an archive, a key store, a UTF-16
 * export). A byte order mark is kept, as the refresher would see it.
 */
function readCredentialsFile(file: string): string {
  const bytes = readAtMost(file, MAX_SECRET_VALUE_BYTES + 1);
  if (bytes.length > MAX_SECRET_VALUE_BYTES) {
    throw new CredentialsError(
      `"${file}" is larger than ${MAX_SECRET_VALUE_BYTES} bytes, the most Secrets Manager stores; credentials JSON are a few KB: is it the file Adobe gave you?`,
    );
  }
  const notText = `"${file}" is not UTF-8 text, as credentials JSON are: is it the file Adobe gave you?`;
  if (bytes.includes(0)) throw new CredentialsError(notText);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new CredentialsError(notText);
  }
}

/** The first `limit` bytes of `file` (all of it when shorter), whatever kind of file it is. */
function readAtMost(file: string, limit: number): Uint8Array {
  const buffer = new Uint8Array(limit);
  let length = 0;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    while (length < limit) {
      const read = readSync(fd, buffer, length, limit - length, null);
      if (read === 0) break;
      length += read;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CredentialsError(`cannot read "${file}" (${code === 'ENOENT' ? 'no such file' : code})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return buffer.subarray(0, length);
}

/** What a person checks in credentials, without a secret: the client secrets are counted, the key left out. */
function summarize(credentials: Credentials, now: number) {
  const { shape, type, clientId, imsEndpoint, clientSecrets } = credentials;
  const common = { valid: true, shape, type, clientId, imsEndpoint, clientSecrets: clientSecrets.length };
  if (credentials.type === 'oauth')
    return { ...common, scopes: credentials.scopes, credentialName: credentials.credentialName };
  const { metascopes, org, technicalAccountId } = credentials;
  return { ...common, metascopes, org, technicalAccountId, certificate: certificateOf(credentials, now) };
}

/** When the certificate in AEM service credentials expires, and the whole days left until then. */
function certificateOf({ certificateExpiresAt }: JwtCredentials, now: number) {
  return {
    expiresAt: new Date(certificateExpiresAt).toISOString(),
    daysLeft: Math.floor((certificateExpiresAt - now) / DAY_MS),
  };
}
