import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  type GetSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ConfigurationError,
  createTokenReader,
  DEFAULT_MIN_VALIDITY_MS,
  getAccessToken,
  RefresherError,
  SecretStoreError,
  TokenContractError,
  TokenExpiredError,
} from '../../reader/index.js';
import { expiresAtMs, MAX_CLOCK_SKEW_MS } from '../../common/token.js';
import { fakeClock } from '../support/fakes.js';
import { tokenSecretValue } from '../support/token-secret.js';

const HOUR = 3_600_000;
const sm = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({ region: 'us-east-1' });
const reads = () => sm.commandCalls(GetSecretValueCommand).length;

/** A reader on secret "token" with a fake clock, the secret holding `value` (a token issued now by default). */
function setup(value?: string) {
  const clock = fakeClock();
  const secret = { SecretString: value ?? tokenSecretValue('reader-token-version-1', clock.time), VersionId: 'v1' };
  sm.on(GetSecretValueCommand).callsFake(() => ({ ...secret }));
  const reader = createTokenReader({ secretId: 'token', client, now: clock.now });
  return { clock, secret, reader };
}

beforeEach(() => sm.reset());

/** Epoch ms `offset` after the fake clock's start, as ISO 8601. */
const at = (offset: number) => new Date(fakeClock().time + offset).toISOString();

/** A token record issued at the fake clock's start, with some fields replaced. */
function withFields(fields: Record<string, string>): string {
  return JSON.stringify({ ...JSON.parse(tokenSecretValue('reader-token-hostile', fakeClock().time)), ...fields });
}

describe('createTokenReader', () => {
  it('reads each token version once over 10,000 calls across 24 h, never handing out a token inside the margin', async () => {
    // Prepare: version 1 issued at the start; the refresher writes version 2 at half-life (12 h).
    const { clock, secret, reader } = setup();
    const start = clock.time;
    const step = (24 * HOUR) / 10_000;
    const handedOut = new Set<string>();
    let leastLeft = Infinity;

    // Act
    for (let call = 0; call < 10_000; call += 1) {
      if (secret.VersionId === 'v1' && clock.time - start >= 12 * HOUR) {
        Object.assign(secret, {
          SecretString: tokenSecretValue('reader-token-version-2', clock.time),
          VersionId: 'v2',
        });
      }
      const record = await reader.get();
      handedOut.add(record.access_token);
      leastLeft = Math.min(leastLeft, expiresAtMs(record) - clock.now());
      clock.advance(step);
    }

    // Assess: v1 until its margin (23 h 55 min), then v2; one GetSecretValue each.
    expect(reads()).toBe(2);
    expect([...handedOut]).toEqual(['reader-token-version-1', 'reader-token-version-2']);
    expect(leastLeft).toBeGreaterThanOrEqual(DEFAULT_MIN_VALIDITY_MS);
  });

  it('reads again once the token is due by the monotonic clock, even when the wall clock stepped back', async () => {
    const monotonic = vi.spyOn(performance, 'now').mockReturnValue(1_000);
    try {
      const { clock, reader } = setup();
      await reader.get();
      clock.advance(-2 * HOUR); // the host's wall clock steps back: by it alone the cache would last 2 h longer
      monotonic.mockReturnValue(1_000 + 24 * HOUR - DEFAULT_MIN_VALIDITY_MS); // the usable time has passed
      await reader.get().catch(() => undefined);
      expect(reads()).toBe(2);
    } finally {
      monotonic.mockRestore();
    }
  });

  it('shares one read among concurrent callers', async () => {
    const { reader } = setup();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => reader.getAccessToken()));
    expect(reads()).toBe(1);
    expect(new Set(tokens)).toEqual(new Set(['reader-token-version-1']));
  });

  it('re-reads once after invalidate and caches the new token', async () => {
    const { clock, secret, reader } = setup();
    await reader.get();
    secret.SecretString = tokenSecretValue('reader-token-after-401', clock.time);

    reader.invalidate();
    const first = await reader.getAccessToken();
    const second = await reader.getAccessToken();

    expect(reads()).toBe(2);
    expect([first, second]).toEqual(['reader-token-after-401', 'reader-token-after-401']);
  });

  it('refuses a token inside the margin when the secret still holds it, blaming the refresher', async () => {
    const { clock, reader } = setup();
    await reader.get();
    clock.advance(24 * HOUR - 2 * 60_000);

    const error = await reader.get().catch((e: unknown) => e);

    expect(error).toMatchObject({
      name: 'TokenExpiredError',
      code: 'TOKEN_EXPIRED',
      expiresAt: new Date('2026-11-23T12:00:00.000Z'),
    });
    expect((error as Error).message).toBe(
      'the token in secret "token" expires at 2026-11-23T12:00:00.000Z (reader margin 300 s); ' +
        'the refresher is likely failing: check its alarms and logs',
    );
    expect(reads()).toBe(2);
  });

  it('fails after invalidate when the secret holds an expired token, and never caches that', async () => {
    const { clock, reader } = setup();
    await reader.get();
    clock.advance(25 * HOUR);

    reader.invalidate();
    const error = (await reader.getAccessToken().catch((e: unknown) => e)) as Error;
    await reader.getAccessToken().catch(() => undefined);

    expect(error).toMatchObject({ code: 'TOKEN_EXPIRED', expiresAt: new Date('2026-11-23T12:00:00.000Z') });
    expect(error.message).toContain('expired at 2026-11-23T12:00:00.000Z');
    expect(error.message).not.toContain('reader-token-version-1');
    expect(reads()).toBe(3);
  });

  it.each([
    [
      'the placeholder',
      'Xq9#random-placeholder-value',
      'token secret is not JSON: no token yet, the refresher has not written one',
    ],
    [
      'a record without expires_at',
      JSON.stringify({ ...JSON.parse(tokenSecretValue('reader-token-no-expiry', 0)), expires_at: undefined }),
      'token secret field "expires_at" is missing or not a string',
    ],
    // Hardening: a record a consumer must never be handed.
    [
      'an access token with CR/LF (header injection)',
      withFields({ access_token: 'abc\r\nX-Injected: 1' }),
      'token secret field "access_token" has characters a bearer token cannot have (RFC 6750 b64token)',
    ],
    [
      'a blank access token',
      withFields({ access_token: '   ' }),
      'token secret field "access_token" is missing or blank',
    ],
    [
      'a token type other than bearer',
      withFields({ token_type: 'mac' }),
      'token secret field "token_type" is not "bearer"',
    ],
    [
      'issued_at after expires_at',
      withFields({ issued_at: at(2 * HOUR), expires_at: at(HOUR) }),
      'token secret field "issued_at" is not before "expires_at"',
    ],
    [
      'a lifetime IMS never issues (a year)',
      withFields({ expires_at: at(365 * 24 * HOUR) }),
      'token secret lifetime ("issued_at" to "expires_at") is longer than a week',
    ],
    [
      'a date that is not the ISO form the refresher writes (a legacy date with a comment)',
      withFields({ expires_at: 'Mon, 23 Nov 2026 11:00:00 GMT (forged\r\nline)' }),
      'token secret field "expires_at" is not an ISO 8601 UTC date like 2026-11-22T12:00:00.000Z',
    ],
    [
      'issued_at a day in the future',
      withFields({ issued_at: at(24 * HOUR), expires_at: at(48 * HOUR) }),
      'token secret field "issued_at" is in the future',
    ],
    [
      'expires_at further ahead than IMS issues',
      withFields({ issued_at: at(4 * 60_000), expires_at: at(4 * 60_000 + 7 * 24 * HOUR) }),
      'token secret field "expires_at" is further ahead than IMS issues tokens for',
    ],
  ])('rejects %s with TokenContractError', async (_name, value, message) => {
    const { reader } = setup(value);
    await expect(reader.get()).rejects.toMatchObject({ name: 'TokenContractError', code: 'TOKEN_INVALID', message });
  });

  it('takes a record issued up to an hour ahead of its own clock (a host behind, the offset not measured), not beyond', async () => {
    const ahead = (ms: number) => withFields({ issued_at: at(ms), expires_at: at(ms + 24 * HOUR) });
    await expect(setup(ahead(MAX_CLOCK_SKEW_MS)).reader.get()).resolves.toMatchObject({ issued_at: at(HOUR) });
    await expect(setup(ahead(MAX_CLOCK_SKEW_MS + 1)).reader.get()).rejects.toMatchObject({
      message: 'token secret field "issued_at" is in the future',
    });
  });

  it('reports a secret without a value as no token yet', async () => {
    const { reader } = setup();
    sm.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'no AWSCURRENT', $metadata: {} }));
    await expect(reader.get()).rejects.toMatchObject({
      code: 'TOKEN_INVALID',
      message: 'no token yet: secret "token" has no value yet',
    });
  });

  it('wraps a failed read once, keeping the cause, and does not cache the failure', async () => {
    const { secret, reader } = setup();
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    sm.on(GetSecretValueCommand).rejectsOnce(denied).resolves(secret);

    const error = await reader.get().catch((e: unknown) => e);
    const token = await reader.getAccessToken();

    expect(error).toMatchObject({
      code: 'SECRET_READ_FAILED',
      message: 'could not read secret "token": User is not authorized',
      cause: denied,
    });
    expect(token).toBe('reader-token-version-1');
    expect(reads()).toBe(2);
  });

  it('rejects with the error classes it exports, so callers can branch with instanceof', async () => {
    const expired = setup(withFields({ issued_at: at(-48 * HOUR), expires_at: at(-24 * HOUR) })).reader;
    await expect(expired.get()).rejects.toBeInstanceOf(TokenExpiredError);
    const invalid = setup('{}').reader;
    await expect(invalid.get()).rejects.toBeInstanceOf(TokenContractError);
    const failing = setup().reader;
    sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const failure = await failing.get().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SecretStoreError);
    expect(failure).toBeInstanceOf(RefresherError);
    expect(() => createTokenReader({ secretId: '', client })).toThrow(ConfigurationError);
  });

  it('rejects misuse at creation', () => {
    expect(() => createTokenReader({ secretId: '', client })).toThrow('"secretId" is required');
    expect(() => createTokenReader({ secretId: 't', client, minValidityMs: -1 })).toThrow('"minValidityMs" must be');
  });
});

describe('getAccessToken', () => {
  it('keeps one cached reader per secret id and re-reads on forceFetch', async () => {
    const clock = fakeClock();
    const output = (token: string): Partial<GetSecretValueCommandOutput> => ({
      SecretString: tokenSecretValue(token, clock.time),
      VersionId: token,
    });
    sm.on(GetSecretValueCommand)
      .resolvesOnce(output('shared-reader-token-1'))
      .resolves(output('shared-reader-token-2'));

    const first = await getAccessToken({ secretId: 'shared', client, now: clock.now });
    const cached = await getAccessToken({ secretId: 'shared', client, now: clock.now });
    const forced = await getAccessToken({ secretId: 'shared', client, now: clock.now, forceFetch: true });

    expect([first, cached, forced]).toEqual([
      'shared-reader-token-1',
      'shared-reader-token-1',
      'shared-reader-token-2',
    ]);
    expect(reads()).toBe(2);
  });
});
