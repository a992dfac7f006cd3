import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ImsError, RefresherError } from '../../common/errors.js';
import { MAX_TEXT_LENGTH, REDACTED, redact, rememberPemLines, rememberSecret } from '../../common/redact.js';
import { registerSecret } from '../support/leak-guard.js';
import { generateJwtCredentials } from '../sandbox/test-credentials.js';

/** A fresh secret with characters that change under URL and JSON encoding. */
function secret(): string {
  const value = `p8e-${randomBytes(12).toString('base64')}&"/+ =`;
  registerSecret(value);
  return value;
}

describe('redact', () => {
  it('removes a remembered secret as is, URL-encoded both ways and JSON-escaped', () => {
    const clientSecret = secret();
    rememberSecret(clientSecret);
    const echoes = [
      clientSecret,
      encodeURIComponent(clientSecret),
      new URLSearchParams({ client_secret: clientSecret }).toString(),
      JSON.stringify({ client_secret: clientSecret }),
    ];
    for (const echo of echoes) {
      const clean = redact(`peer said: ${echo}`);
      expect(clean).toContain(REDACTED);
      expect(clean).not.toContain(clientSecret.slice(4, 20));
    }
  });

  it('still finds a secret that an echo split with control characters or escaped in lowercase hex', () => {
    const clientSecret = secret();
    rememberSecret(clientSecret);
    const split = `${clientSecret.slice(0, 10)}\r\n${clientSecret.slice(10)}`;
    const lowerHex = encodeURIComponent(clientSecret).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
    expect(redact(`wrapped ${split} end`)).toBe(`wrapped ${REDACTED} end`);
    expect(redact(`form client_secret=${lowerHex}`)).toBe(`form client_secret=${REDACTED}`);
  });

  it('removes JWT- and PEM-shaped text it was never told about', () => {
    const jwt = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(30).toString('base64url')}.${randomBytes(64).toString('base64url')}`;
    registerSecret(jwt);
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
    expect(redact(`token ${jwt} and ${pem} end`)).toBe(`token ${REDACTED} and ${REDACTED} end`);
    expect(redact('cut -----BEGIN RSA PRIVATE KEY-----\nMIIE')).toBe(`cut ${REDACTED}`);
  });

  it('removes the lines of a remembered private key in any of its line-end forms', async () => {
    const { privateKeyPem } = await generateJwtCredentials({});
    rememberPemLines(privateKeyPem.replace(/\n/g, '\\n')); // as a key pasted through an environment variable arrives
    const bodyLine = privateKeyPem.split('\n')[3];
    expect(bodyLine.length).toBeGreaterThan(40);
    expect(redact(`x ${bodyLine} y`)).toBe(`x ${REDACTED} y`);
  });

  it('turns control characters and Unicode line separators into spaces, so one line stays one line', () => {
    expect(redact('a\r\nb\tc\u0000d\u001be\u0085f\u2028g')).toBe('a  b c d e f g');
  });

  it('bounds the length after redacting, so a cut never leaves part of a secret', () => {
    const clientSecret = secret();
    rememberSecret(clientSecret);
    const text = `${'x'.repeat(MAX_TEXT_LENGTH - 5)}${clientSecret}`;
    const clean = redact(text);
    expect(clean).toHaveLength(MAX_TEXT_LENGTH);
    expect(clean.endsWith('…')).toBe(true);
    expect(clean).not.toContain(clientSecret.slice(0, 8));
    expect(redact('abc', 2)).toBe('a…');
  });

  it('ignores values too short to be secrets, which would match ordinary words', () => {
    rememberSecret('refresh failed', 'ImsError', undefined);
    expect(redact('refresh failed: ImsError')).toBe('refresh failed: ImsError');
  });
});

describe('errors pass the boundary', () => {
  it('redacts the message and the IMS details whoever builds the error', () => {
    const clientSecret = secret();
    rememberSecret(clientSecret);
    const error = new ImsError('IMS_REJECTED', `HTTP 400 ${clientSecret}\r\nforged line`, {
      imsError: clientSecret,
      debugId: `dbg-${clientSecret}`,
    });
    expect(error.message).toBe(`HTTP 400 ${REDACTED}  forged line`);
    expect(error.imsError).toBe(REDACTED);
    expect(error.debugId).toBe(`dbg-${REDACTED}`);
    expect(error.stack).not.toContain(clientSecret);
    expect(new RefresherError('INTERNAL_ERROR', 'y'.repeat(5_000)).message).toHaveLength(MAX_TEXT_LENGTH);
  });
});
