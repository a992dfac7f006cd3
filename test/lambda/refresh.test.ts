import { createPublicKey } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RefreshSettings } from '../../lambda/config.js';
import { runRefresh, type RefreshRequest } from '../../lambda/refresh.js';
import { RETRY } from '../../lambda/retry.js';
import { ProxyError, SecretStoreError } from '../../common/errors.js';
import { parseTokenRecord } from '../../common/token.js';
import {
  MemoryStore,
  fakeClock,
  fakeDeps,
  json,
  jwtTokenAnswer,
  networkError,
  oauthTokenAnswer,
  scriptedFetch,
} from '../support/fakes.js';
import { generateJwtCredentials, generateOAuthCredentials } from '../sandbox/test-credentials.js';
import { tokenSecretValue } from '../support/token-secret.js';

const HOUR = 3_600_000;
const settings: RefreshSettings = {
  credentialsSecretId: 'adobe/credentials',
  tokenSecretId: 'adobe/token',
  refreshThreshold: 0.5,
};

function request(clock: { now(): number }, overrides: Partial<RefreshRequest> = {}): RefreshRequest {
  return { force: false, requestKey: `schedule:${clock.now()}`, deadline: clock.now() + 75_000, ...overrides };
}

let jwt: Awaited<ReturnType<typeof generateJwtCredentials>>;
beforeAll(async () => {
  jwt = await generateJwtCredentials({ keyFormat: 'pkcs1-crlf', wrapped: true });
});

function setup(credentialsJson = jwt.json) {
  const store = new MemoryStore();
  const credentialsVersion = store.put(settings.credentialsSecretId, credentialsJson);
  const clock = fakeClock();
  return { store, clock, credentialsVersion };
}

describe('runRefresh: the JWT flow', () => {
  it('exchanges a correctly signed JWT and writes the token contract, converting expires_in from milliseconds', async () => {
    // Prepare
    const { store, clock, credentialsVersion } = setup();
    const fetch = scriptedFetch(jwtTokenAnswer('ims-token-1', 86_399_999));
    // Act
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));
    // Assess
    expect(result).toMatchObject({ outcome: 'refreshed', reason: 'no-token', imsAttempts: 1 });
    expect(fetch.requests).toHaveLength(1);
    const [sent] = fetch.requests;
    expect(sent.url).toBe('https://ims-na1.adobelogin.com/ims/exchange/jwt');
    expect(sent.form.get('client_id')).toBe(jwt.integration.clientId);
    expect(sent.form.get('client_secret')).toBe(jwt.integration.clientSecrets[0]);
    expect(sent.signal).toBeInstanceOf(AbortSignal);

    const token = sent.form.get('jwt_token')!;
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', typ: 'JWT' });
    const { payload } = await jwtVerify(token, createPublicKey(jwt.integration.certificatePem), {
      currentDate: new Date(clock.now()),
    });
    const host = jwt.integration.imsEndpoint;
    expect(payload).toEqual({
      iss: jwt.integration.org,
      sub: jwt.integration.technicalAccountId,
      aud: `https://${host}/c/${jwt.integration.clientId}`,
      exp: clock.now() / 1000 + 300,
      ...Object.fromEntries(jwt.integration.metascopes.map((m: string) => [`https://${host}/s/${m}`, true])),
    });

    const stored = parseTokenRecord(store.current(settings.tokenSecretId)!.value);
    expect(stored).toEqual({
      access_token: 'ims-token-1',
      token_type: 'bearer',
      issued_at: '2026-11-22T12:00:00.000Z',
      expires_at: new Date(clock.now() + 86_399_999).toISOString(),
      client_id: jwt.integration.clientId,
      ims_endpoint: host,
      credentials_version_id: credentialsVersion,
      credentials_type: 'jwt',
    });
  });

  it.each(['pkcs1-crlf', 'pkcs8', 'escaped-newlines'] as const)('signs with a %s private key', async (keyFormat) => {
    const credentials = await generateJwtCredentials({ keyFormat, wrapped: keyFormat !== 'pkcs8' });
    const { store, clock } = setup(credentials.json);
    const fetch = scriptedFetch(jwtTokenAnswer());
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));
    expect(result.outcome).toBe('refreshed');
    const token = fetch.requests[0].form.get('jwt_token')!;
    await expect(
      jwtVerify(token, createPublicKey(credentials.integration.certificatePem), { currentDate: new Date(clock.now()) }),
    ).resolves.toBeTruthy();
  });

  it('sends requests to IMS_BASE_URL but keeps aud and metascopes on the credentials host', async () => {
    const { store, clock } = setup();
    const fetch = scriptedFetch(jwtTokenAnswer());
    await runRefresh(
      { ...settings, imsBaseUrl: 'http://127.0.0.1:9999/' },
      request(clock),
      fakeDeps(store, fetch, clock),
    );
    expect(fetch.requests[0].url).toBe('http://127.0.0.1:9999/ims/exchange/jwt');
    const claims = decodeJwt(fetch.requests[0].form.get('jwt_token')!);
    expect(claims.aud).toBe(`https://ims-na1.adobelogin.com/c/${jwt.integration.clientId}`);
  });
});

describe('runRefresh: OAuth Server-to-Server', () => {
  it('uses client_credentials and reads expires_in as seconds', async () => {
    const oauth = generateOAuthCredentials({ scopes: ['openid', 'AdobeID', 'read_organizations'] });
    const { store, clock } = setup(oauth.json);
    const fetch = scriptedFetch(oauthTokenAnswer('oauth-1', 86_399));
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));
    expect(result.outcome).toBe('refreshed');
    const sent = fetch.requests[0];
    expect(sent.url).toBe('https://ims-na1.adobelogin.com/ims/token/v3');
    expect(Object.fromEntries(sent.form)).toEqual({
      grant_type: 'client_credentials',
      client_id: oauth.integration.clientId,
      client_secret: oauth.integration.clientSecrets[0],
      scope: 'openid,AdobeID,read_organizations',
    });
    const stored = parseTokenRecord(store.current(settings.tokenSecretId)!.value);
    expect(Date.parse(stored.expires_at) - Date.parse(stored.issued_at)).toBe(86_399_000);
    expect(stored.credentials_type).toBe('oauth');
    expect(stored).not.toHaveProperty('client_secret_uuid');
  });

  it('records the uuid of the client secret that minted the token, when the credentials carry uuids', async () => {
    // Prepare: the first secret is refused, the second (uuid "uuid-second") mints
    const oauth = generateOAuthCredentials({ clientSecrets: 2 });
    const document = { ...JSON.parse(oauth.json), clientSecretUuids: ['uuid-first', 'uuid-second'] };
    const { store, clock } = setup(JSON.stringify(document));
    const fetch = scriptedFetch(json(401, { error: 'invalid_client' }), oauthTokenAnswer('oauth-2', 86_399));
    // Act
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));
    // Assess
    expect(result).toMatchObject({ outcome: 'refreshed', rejectedClientSecrets: [0] });
    const stored = parseTokenRecord(store.current(settings.tokenSecretId)!.value);
    expect(stored.client_secret_uuid).toBe('uuid-second');
  });
});

describe('runRefresh: when to refresh', () => {
  async function withStoredToken() {
    const env = setup();
    await runRefresh(
      settings,
      request(env.clock),
      fakeDeps(env.store, scriptedFetch(jwtTokenAnswer('first')), env.clock),
    );
    return env;
  }

  it('skips a fresh token: no IMS call, no write, two reads', async () => {
    const { store, clock } = await withStoredToken();
    clock.advance(11 * HOUR);
    const reads = store.count('read');
    const fetch = scriptedFetch(jwtTokenAnswer('second'));
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));
    expect(result).toMatchObject({ outcome: 'skipped', reason: 'fresh', imsAttempts: 0 });
    expect(fetch.requests).toHaveLength(0);
    expect(store.count('read') - reads).toBe(2);
    expect(store.versionCount(settings.tokenSecretId)).toBe(1);
  });

  it('renews once half the lifetime has passed', async () => {
    const { store, clock } = await withStoredToken();
    clock.advance(12 * HOUR);
    const result = await runRefresh(
      settings,
      request(clock),
      fakeDeps(store, scriptedFetch(jwtTokenAnswer('second')), clock),
    );
    expect(result).toMatchObject({ outcome: 'refreshed', reason: 'due' });
    expect(parseTokenRecord(store.current(settings.tokenSecretId)!.value).access_token).toBe('second');
  });

  it('renews a fresh token on {"force": true}', async () => {
    const { store, clock } = await withStoredToken();
    const result = await runRefresh(
      settings,
      request(clock, { force: true, requestKey: 'invocation:x' }),
      fakeDeps(store, scriptedFetch(jwtTokenAnswer('forced')), clock),
    );
    expect(result).toMatchObject({ outcome: 'refreshed', reason: 'forced' });
  });

  it('renews when the credentials secret has a new version', async () => {
    const { store, clock } = await withStoredToken();
    const rotated = await generateJwtCredentials({ keyFormat: 'pkcs8', wrapped: true });
    const newVersion = store.put(settings.credentialsSecretId, rotated.json);
    const result = await runRefresh(
      settings,
      request(clock, { requestKey: 'rotation' }),
      fakeDeps(store, scriptedFetch(jwtTokenAnswer('rotated')), clock),
    );
    expect(result).toMatchObject({ outcome: 'refreshed', reason: 'credentials-changed' });
    expect(parseTokenRecord(store.current(settings.tokenSecretId)!.value).credentials_version_id).toBe(newVersion);
  });

  it('treats a placeholder value in the token secret as no token', async () => {
    const { store, clock } = setup();
    store.put(settings.tokenSecretId, 'x8#Lq-generated-placeholder');
    const result = await runRefresh(settings, request(clock), fakeDeps(store, scriptedFetch(jwtTokenAnswer()), clock));
    expect(result).toMatchObject({ outcome: 'refreshed', reason: 'no-token' });
  });

  it('keeps a newer token that another run stored meanwhile', async () => {
    const { store, clock } = await withStoredToken();
    clock.advance(13 * HOUR);
    const newer = JSON.stringify({
      ...parseTokenRecord(store.current(settings.tokenSecretId)!.value),
      access_token: 'newer',
      expires_at: new Date(clock.now() + 48 * HOUR).toISOString(),
    });
    const fetch = scriptedFetch(async () => {
      store.put(settings.tokenSecretId, newer); // a concurrent writer lands while we talk to IMS
      return jwtTokenAnswer('ours')({} as never);
    });
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));
    expect(result).toMatchObject({ outcome: 'skipped', reason: 'newer-token-stored' });
    expect(parseTokenRecord(store.current(settings.tokenSecretId)!.value).access_token).toBe('newer');
  });

  it('writes once for duplicate deliveries of one scheduled event', async () => {
    const { store, clock } = setup();
    const deps = fakeDeps(store, scriptedFetch(jwtTokenAnswer('one'), jwtTokenAnswer('two')), clock);
    const first = await runRefresh(settings, request(clock, { force: true, requestKey: 'schedule:T' }), deps);
    const again = await runRefresh(settings, request(clock, { force: true, requestKey: 'schedule:T' }), deps);
    expect(first.outcome).toBe('refreshed');
    expect(again).toMatchObject({ outcome: 'skipped', reason: 'duplicate-delivery' });
    expect(store.versionCount(settings.tokenSecretId)).toBe(1);
  });
});

describe('runRefresh: transient failures', () => {
  it('retries 5xx and network errors with backoff, then succeeds', async () => {
    const { store, clock } = setup();
    const fetch = scriptedFetch(json(503, { error: 'server_error' }), networkError(), jwtTokenAnswer('after-retry'));
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));
    expect(result).toMatchObject({ outcome: 'refreshed', imsAttempts: 3 });
    expect(clock.sleeps).toEqual([1_000, 2_000]); // full jitter with random() = 1: the cap of each step
  });

  it("retries the proxy's transient failures like IMS's, and reports the last as PROXY_FAILED", async () => {
    const { store, clock } = setup();
    const proxyDown = () => {
      throw new ProxyError('proxy.corp.example.com:3128', 'IMS', 'answered CONNECT with HTTP 502', { status: 502 });
    };
    const recovered = await runRefresh(
      settings,
      request(clock),
      fakeDeps(store, scriptedFetch(proxyDown, jwtTokenAnswer('via-proxy')), clock),
    );
    expect(recovered).toMatchObject({ outcome: 'refreshed', imsAttempts: 2 });

    const down = await runRefresh(
      settings,
      request(clock, { force: true }),
      fakeDeps(store, scriptedFetch(proxyDown), clock),
    );
    expect(down).toMatchObject({ outcome: 'failed', imsAttempts: RETRY.maxAttempts });
    expect(down.error).toMatchObject({ code: 'PROXY_FAILED', transient: true, call: 'IMS' });
  });

  it('draws each backoff at random below its exponential cap (full jitter)', async () => {
    const { store, clock } = setup();
    const fetch = scriptedFetch(json(503, {}), json(503, {}), json(503, {}), jwtTokenAnswer());
    const deps = { ...fakeDeps(store, fetch, clock), random: () => 0.25 };
    const result = await runRefresh(settings, request(clock), deps);
    expect(result).toMatchObject({ outcome: 'refreshed', imsAttempts: 4 });
    expect(clock.sleeps).toEqual([250, 500, 1_000]); // a quarter of 1 s, 2 s, 4 s
  });

  it.each([
    ['seconds', () => '7', 7_000],
    ['an HTTP date', (now: number) => new Date(now + 12_000).toUTCString(), 12_000],
  ])('honours Retry-After on 429 given as %s', async (_form, header, waitMs) => {
    const { store, clock } = setup();
    const fetch = scriptedFetch(json(429, {}, { 'retry-after': header(clock.now()) }), jwtTokenAnswer());
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));
    expect(result.outcome).toBe('refreshed');
    expect(clock.sleeps).toEqual([waitMs]);
  });

  it('gives up at once when Retry-After is longer than the cap, and writes nothing', async () => {
    const { store, clock } = setup();
    const fetch = scriptedFetch(json(429, {}, { 'retry-after': '600' }), jwtTokenAnswer());
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));
    expect(result).toMatchObject({ outcome: 'failed', imsAttempts: 1 });
    expect(result.error).toMatchObject({ code: 'IMS_UNAVAILABLE', transient: true, status: 429 });
    expect(store.count('write')).toBe(0);
  });

  it('stops after the attempt budget and fails transient without writing', async () => {
    const { store, clock } = setup();
    const fetch = scriptedFetch(json(502, { error: 'bad_gateway' }));
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));
    expect(result).toMatchObject({ outcome: 'failed', imsAttempts: 4 });
    expect(result.error).toMatchObject({ code: 'IMS_UNAVAILABLE', transient: true });
    expect(store.count('write')).toBe(0);
  });

  it('does not start an attempt that could end past the deadline', async () => {
    const { store, clock } = setup();
    // An attempt that times out costs the whole per-attempt timeout.
    const timeout = networkError('TimeoutError', 'aborted');
    const fetch = scriptedFetch((sent) => {
      clock.advance(RETRY.attemptTimeoutMs);
      return timeout(sent);
    });
    const result = await runRefresh(
      settings,
      request(clock, { deadline: clock.now() + 20_000 }),
      fakeDeps(store, fetch, clock),
    );
    expect(result).toMatchObject({ outcome: 'failed', imsAttempts: 1 });
    expect(result.error?.message).toMatch(/no answer within 10000 ms/);
  });

  it('reports a failed write as transient and loses nothing', async () => {
    const { store, clock } = setup();
    const sdkError = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    store.failNextWrite = new SecretStoreError(
      'TOKEN_WRITE_FAILED',
      'could not write token secret "adobe/token"',
      sdkError,
    );
    const result = await runRefresh(settings, request(clock), fakeDeps(store, scriptedFetch(jwtTokenAnswer()), clock));
    expect(result.error).toMatchObject({ code: 'TOKEN_WRITE_FAILED', transient: true });
    expect(store.versionCount(settings.tokenSecretId)).toBe(0);
  });
});

describe('runRefresh: permanent failures', () => {
  it('makes exactly one IMS call on invalid_client and surfaces the IMS error and debug id', async () => {
    const { store, clock } = setup();
    const fetch = scriptedFetch(
      json(401, { error: 'invalid_client', error_description: 'invalid client secret' }, { 'x-debug-id': 'dbg-42' }),
    );
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));
    expect(fetch.requests).toHaveLength(1);
    expect(result.error).toMatchObject({
      code: 'IMS_REJECTED',
      transient: false,
      imsError: 'invalid_client',
      debugId: 'dbg-42',
    });
    expect(result.error?.message).toBe(
      'IMS rejected the request at /ims/exchange/jwt: HTTP 401 invalid_client: invalid client secret (X-Debug-Id dbg-42)',
    );
    expect(store.count('write')).toBe(0);
  });

  it('never calls IMS when the credentials secret is missing', async () => {
    const store = new MemoryStore();
    const clock = fakeClock();
    const fetch = scriptedFetch(jwtTokenAnswer());
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));
    expect(result.error).toMatchObject({ code: 'CREDENTIALS_INVALID' });
    expect(result.error?.message).toMatch(/credentials secret "adobe\/credentials" has no value yet/);
    expect(fetch.requests).toHaveLength(0);
  });

  it('keeps the stored token for time-to-expiry reporting when a run fails', async () => {
    const { store, clock } = setup();
    await runRefresh(settings, request(clock), fakeDeps(store, scriptedFetch(jwtTokenAnswer('kept')), clock));
    clock.advance(13 * HOUR);
    const result = await runRefresh(
      settings,
      request(clock),
      fakeDeps(store, scriptedFetch(json(400, { error: 'invalid_scope' })), clock),
    );
    expect(result.outcome).toBe('failed');
    expect(result.token?.access_token).toBe('kept');
    expect(store.versionCount(settings.tokenSecretId)).toBe(1);
  });
});

describe('runRefresh: a stored token is not trusted blindly', () => {
  const stored = (issuedAt: number, expiresAt: number) =>
    JSON.stringify({
      ...parseTokenRecord(tokenSecretValue('stored-token-value', 0)),
      issued_at: new Date(issuedAt).toISOString(),
      expires_at: new Date(expiresAt).toISOString(),
    });

  it.each([
    [
      'issued_at after expires_at (a negative lifetime would never be due)',
      (now: number) => stored(now + HOUR, now + 2 * HOUR - 3 * HOUR),
    ],
    [
      'expires_at a year ahead (would block renewal until then)',
      (now: number) => stored(now - HOUR, now + 365 * 24 * HOUR),
    ],
    ['issued_at a day in the future', (now: number) => stored(now + 24 * HOUR, now + 48 * HOUR)],
  ])('renews a record with %s', async (_name, value) => {
    const { store, clock } = setup();
    store.put(settings.tokenSecretId, value(clock.now()));
    const result = await runRefresh(
      settings,
      request(clock),
      fakeDeps(store, scriptedFetch(jwtTokenAnswer('renewed')), clock),
    );
    expect(result).toMatchObject({ outcome: 'refreshed', reason: 'no-token' });
    expect(parseTokenRecord(store.current(settings.tokenSecretId)!.value).access_token).toBe('renewed');
  });
});

describe('runRefresh: the two secrets must differ', () => {
  it('refuses the same secret named once by name and once by ARN, before IMS and without writing', async () => {
    const { store, clock } = setup();
    store.put(settings.credentialsSecretId, jwt.json);
    const sameByArn = { ...settings, tokenSecretId: store.arn(settings.credentialsSecretId) };
    const fetch = scriptedFetch(jwtTokenAnswer());
    const result = await runRefresh(sameByArn, request(clock), fakeDeps(store, fetch, clock));
    expect(result.error).toMatchObject({ code: 'CONFIG_INVALID', transient: false });
    expect(result.error?.message).toBe(
      'CREDENTIALS_SECRET_ID and TOKEN_SECRET_ID name the same secret; the token needs a secret of its own',
    );
    expect(fetch.requests).toHaveLength(0);
    expect(store.count('write')).toBe(0);
  });
});

describe('runRefresh: the run signal ends every call', () => {
  /** A store whose chosen call never answers and ignores the signal (the worst adapter); reaching it aborts the run. */
  function hangingStore(op: 'read' | 'stage' | 'promote', controller: AbortController) {
    const { store } = setup();
    const hang = () => {
      controller.abort();
      return new Promise<never>(() => {});
    };
    return Object.assign(store, { [op]: hang });
  }

  it.each([
    ['read', 'SECRET_READ_FAILED', 0],
    ['stage', 'TOKEN_WRITE_FAILED', 1],
    ['promote', 'TOKEN_WRITE_FAILED', 1],
  ] as const)(
    'fails a hung %s with %s when the signal aborts, even if the store ignores it',
    async (op, code, imsCalls) => {
      const controller = new AbortController();
      const store = hangingStore(op, controller);
      const clock = fakeClock();
      const fetch = scriptedFetch(jwtTokenAnswer());
      const result = await runRefresh(
        settings,
        request(clock, { signal: controller.signal }),
        fakeDeps(store, fetch, clock),
      );
      expect(result.error).toMatchObject({ code, transient: true });
      expect(result.error?.message).toMatch(
        /did not answer for "adobe\/(token|credentials)" before the run's deadline$/,
      );
      expect(fetch.requests).toHaveLength(imsCalls);
    },
  );

  it('aborts a hung IMS request with the run and does not retry it', async () => {
    const { store, clock } = setup();
    const controller = new AbortController();
    const fetch = scriptedFetch(
      (sent) =>
        new Promise<Response>((_resolve, reject) => {
          sent.signal!.addEventListener('abort', () =>
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
          );
          controller.abort();
        }),
    );
    const result = await runRefresh(
      settings,
      request(clock, { signal: controller.signal }),
      fakeDeps(store, fetch, clock),
    );
    expect(result).toMatchObject({ outcome: 'failed', imsAttempts: 1 });
    expect(result.error).toMatchObject({ code: 'IMS_UNAVAILABLE' });
    expect(result.error?.message).toBe("IMS request to /ims/exchange/jwt: the run's deadline was reached");
  });
});
