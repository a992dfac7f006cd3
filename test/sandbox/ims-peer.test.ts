import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FORGED_LOG_LINE, HUGE_ANSWER_BYTES, ImsPeer } from './ims-peer.js';
import { registeredSecrets } from './secret-registry.js';
import { generateJwtCredentials, generateOAuthCredentials, type JwtIntegration } from './test-credentials.js';

type Generated = Awaited<ReturnType<typeof generateJwtCredentials>>;

const DAY = 24 * 3_600_000;

/** The claims IMS expects (docs/protocol.md §1), valid for five minutes from `now`. */
function claims(integration: JwtIntegration, now = Date.now()): JWTPayload {
  const host = integration.imsEndpoint;
  return {
    iss: integration.org,
    sub: integration.technicalAccountId,
    aud: `https://${host}/c/${integration.clientId}`,
    exp: Math.floor(now / 1000) + 300,
    [`https://${host}/s/ent_aem_cloud_api`]: true,
  };
}

const sign = (payload: JWTPayload, key: KeyObject) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'RS256' }).sign(key);

describe('IMS test peer', () => {
  let credentials: Generated;
  let key: KeyObject;
  let otherKey: KeyObject;
  let peer: ImsPeer;

  beforeAll(async () => {
    credentials = await generateJwtCredentials({});
    key = createPrivateKey(credentials.privateKeyPem);
    otherKey = createPrivateKey((await generateJwtCredentials({})).privateKeyPem);
  });
  beforeEach(async () => {
    peer = await ImsPeer.start();
    peer.register(credentials.integration);
  });
  afterEach(() => peer.close());

  async function post(path: string, form: Record<string, string>, init: RequestInit = {}) {
    const response = await fetch(peer.url + path, { method: 'POST', body: new URLSearchParams(form), ...init });
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  const form = (jwt: string, clientSecret = credentials.integration.clientSecrets[0]) => ({
    client_id: credentials.integration.clientId,
    client_secret: clientSecret,
    jwt_token: jwt,
  });
  const exchange = async (jwt: string, clientSecret?: string, init?: RequestInit) =>
    post('/ims/exchange/jwt', form(jwt, clientSecret), init);
  const validJwt = () => sign(claims(credentials.integration), key);

  it("exchanges a JWT signed with the certificate's key for a token whose expires_in is in milliseconds", async () => {
    const jwt = await sign(claims(credentials.integration), key);

    const answer = await exchange(jwt);

    const body = JSON.parse(answer.text);
    expect(answer.status).toBe(200);
    expect(body).toEqual({ token_type: 'bearer', access_token: peer.issued[0], expires_in: 86_399_999 });
    expect(answer.headers.get('x-debug-id')).toBeTruthy();
    expect(peer.requests).toEqual([{ path: '/ims/exchange/jwt', form: expect.objectContaining({ jwt_token: jwt }) }]);
    expect(registeredSecrets).toContain(jwt);
    expect(registeredSecrets).toContain(body.access_token);
  });

  it.each([
    [
      'a JWT signed by another key',
      async () => exchange(await sign(claims(credentials.integration), otherKey)),
      400,
      'invalid_signature',
    ],
    [
      'a wrong aud',
      async () =>
        exchange(
          await sign({ ...claims(credentials.integration), aud: 'https://ims-na1.adobelogin.com/c/other' }, key),
        ),
      400,
      'invalid_client',
    ],
    [
      'an expired exp',
      async () => exchange(await sign({ ...claims(credentials.integration), exp: 1_000_000 }, key)),
      400,
      'invalid_token',
    ],
    [
      'a wrong client secret',
      async () => exchange(await sign(claims(credentials.integration), key), 'p8e-wrong-secret-000'),
      401,
      'invalid_client',
    ],
    [
      'an unknown metascope',
      async () =>
        exchange(
          await sign(
            { ...claims(credentials.integration), 'https://ims-na1.adobelogin.com/s/ent_other_sdk': true },
            key,
          ),
        ),
      400,
      'invalid_scope',
    ],
  ])('rejects %s as IMS does', async (_case, act, status, error) => {
    const answer = await act();

    expect(answer.status).toBe(status);
    expect(JSON.parse(answer.text)).toEqual({ error, error_description: expect.any(String) });
    expect(answer.headers.get('x-debug-id')).toBeTruthy();
    expect(peer.issued).toEqual([]);
  });

  it('answers client_credentials with expires_in in seconds, and rejects scopes the client lacks', async () => {
    const oauth = generateOAuthCredentials({}).integration;
    peer.register(oauth);
    const form = { grant_type: 'client_credentials', client_id: oauth.clientId, client_secret: oauth.clientSecrets[0] };

    const granted = await post('/ims/token/v3', { ...form, scope: 'openid,AdobeID' });
    const refused = await post('/ims/token/v3', { ...form, scope: 'openid,admin' });

    expect(JSON.parse(granted.text)).toEqual({
      access_token: peer.issued[0],
      token_type: 'bearer',
      expires_in: 86_399,
    });
    expect([refused.status, JSON.parse(refused.text).error]).toEqual([400, 'invalid_scope']);
  });

  it("accepts any of an integration's client secrets, and only those registered last for its client id", async () => {
    const oauth = generateOAuthCredentials({ clientSecrets: 2 }).integration;
    const [first, second] = oauth.clientSecrets;
    peer.register(oauth);
    const grant = (clientSecret: string) =>
      post('/ims/token/v3', {
        grant_type: 'client_credentials',
        client_id: oauth.clientId,
        client_secret: clientSecret,
        scope: 'openid',
      });

    const before = [await grant(first), await grant(second)];
    peer.register({ ...oauth, clientSecrets: [second] }); // the first secret revoked, as in a rotation
    const after = [await grant(first), await grant(second)];

    expect(before.map((answer) => answer.status)).toEqual([200, 200]);
    expect(after.map((answer) => answer.status)).toEqual([401, 200]);
    expect(JSON.parse(after[0].text).error).toBe('invalid_client');
    expect(peer.issued).toHaveLength(3);
  });

  it.each([
    ['expired', () => credentials.integration.certificateExpiresAt + DAY, 'certificate of the integration has expired'],
    ['not yet valid', () => Date.now() - 3 * DAY, 'certificate of the integration is not yet valid'],
  ])(
    "rejects a JWT exchange with invalid_signature when the certificate is %s at the peer's clock",
    async (_case, at, description) => {
      const now = at();
      const later = await ImsPeer.start({ now: () => now });
      later.register(credentials.integration);
      // Signed with the certificate's key and valid at the peer's clock: only the certificate is wrong.
      const jwt = await sign(claims(credentials.integration, now), key);

      const response = await fetch(`${later.url}/ims/exchange/jwt`, {
        method: 'POST',
        body: new URLSearchParams(form(jwt)),
      });
      const answer = { status: response.status, body: await response.json() };
      await later.close();

      expect(answer).toEqual({ status: 400, body: { error: 'invalid_signature', error_description: description } });
      expect(later.issued).toEqual([]);
    },
  );

  it('answers queued faults in order, then normally', async () => {
    peer.fail({ status: 503 }, { status: 429, retryAfter: '7' }, 'html', 'truncated-json');
    const jwt = await sign(claims(credentials.integration), key);

    const answers = [
      await exchange(jwt),
      await exchange(jwt),
      await exchange(jwt),
      await exchange(jwt),
      await exchange(jwt),
    ];

    expect(answers.map((a) => a.status)).toEqual([503, 429, 200, 200, 200]);
    expect(answers[1].headers.get('retry-after')).toBe('7');
    expect(answers[2].text).toMatch(/^<!DOCTYPE html>/);
    expect(() => JSON.parse(answers[3].text)).toThrow();
    expect(JSON.parse(answers[4].text).access_token).toBe(peer.issued[0]);
    expect(peer.requests).toHaveLength(5);
  });

  it('resets the connection', async () => {
    peer.fail('reset');
    const jwt = await sign(claims(credentials.integration), key);

    const answer = exchange(jwt);

    await expect(answer).rejects.toBeInstanceOf(TypeError);
    expect(peer.requests).toHaveLength(1);
  });

  it('leaves a request hanging until the peer closes', async () => {
    peer.fail('hang');
    const jwt = await sign(claims(credentials.integration), key);
    let answered = false;

    const answer = exchange(jwt).finally(() => (answered = true));
    await vi.waitFor(() => expect(peer.requests).toHaveLength(1));
    const answeredBeforeClose = answered;
    await peer.close();

    await expect(answer).rejects.toBeInstanceOf(TypeError);
    expect(answeredBeforeClose).toBe(false);
  });

  it('holds the next request unanswered until released, then verifies it against the clients registered at release', async () => {
    const hold = peer.hold();
    const jwt = await validJwt();
    let answered = false;

    const answer = exchange(jwt).finally(() => (answered = true));
    await hold.arrived;
    const requestsWhileHeld = peer.requests.length;
    peer.register({ ...credentials.integration, clientSecrets: ['s'.repeat(32)] }); // revoked while held
    const answeredWhileHeld = answered;
    hold.release();

    expect([requestsWhileHeld, answeredWhileHeld]).toEqual([1, false]);
    expect(await answer).toMatchObject({ status: 401, text: expect.stringContaining('invalid_client') });
  });

  it('holds the next requests one per hold, in order; a queued fault applies after the release', async () => {
    const [first, second] = [peer.hold(), peer.hold()];
    peer.fail({ status: 503 });
    const jwt = await validJwt();

    const early = exchange(jwt);
    await first.arrived;
    const late = exchange(jwt);
    await second.arrived;
    second.release();
    const lateStatus = (await late).status;
    first.release();

    expect([lateStatus, (await early).status]).toEqual([503, 200]);
    expect((await exchange(jwt)).status).toBe(200);
  });

  it('drops a held request when the peer closes: no answer, and no token issued even on a release', async () => {
    const oauth = generateOAuthCredentials({}).integration;
    peer.register(oauth);
    const hold = peer.hold();
    const grant = {
      grant_type: 'client_credentials',
      client_id: oauth.clientId,
      client_secret: oauth.clientSecrets[0],
    };

    const answer = post('/ims/token/v3', grant);
    await hold.arrived;
    await peer.close();

    await expect(answer).rejects.toBeInstanceOf(TypeError);
    hold.release();
    await new Promise((resolve) => setImmediate(resolve)); // a released grant would be answered by now (no async step)
    expect(peer.issued).toEqual([]);
  });

  it('echoes the request in a 400: the client secret as error and X-Debug-Id, the form and a forged log line as description', async () => {
    peer.fail('echo');
    const jwt = await validJwt();

    const answer = await exchange(jwt);

    const clientSecret = credentials.integration.clientSecrets[0];
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toEqual({
      error: clientSecret,
      error_description: `${new URLSearchParams(form(jwt))}\r\n${FORGED_LOG_LINE}`,
    });
    expect(answer.headers.get('x-debug-id')).toBe(clientSecret);
  });

  it('answers a token answer with chosen fields, issuing a token only when none is given, and registers the tokens it sends', async () => {
    const planted = `${randomBytes(32).toString('base64url')}\r\nX-Injected: yes`;
    peer.fail({ token: { expires_in: 86_399 } }, { token: { access_token: planted, token_type: 'mac' } });
    const jwt = await validJwt();

    const answers = [await exchange(jwt), await exchange(jwt)];

    expect(answers.map((answer) => JSON.parse(answer.text))).toEqual([
      { token_type: 'bearer', access_token: peer.issued[0], expires_in: 86_399 },
      { token_type: 'mac', access_token: planted, expires_in: 86_399_999 },
    ]);
    expect(peer.issued).toHaveLength(1);
    expect(registeredSecrets).toContain(planted);
    expect(registeredSecrets).toContain(planted.split('\r\n')[0]);
  });

  it('redirects, to /moved on itself unless told where', async () => {
    peer.fail({ redirect: 302 }, { redirect: 308, location: 'https://ims.example/ims/exchange/jwt' });
    const jwt = await validJwt();

    const answers = [
      await exchange(jwt, undefined, { redirect: 'manual' }),
      await exchange(jwt, undefined, { redirect: 'manual' }),
    ];

    expect(answers.map((answer) => [answer.status, answer.headers.get('location')])).toEqual([
      [302, `${peer.url}/moved`],
      [308, 'https://ims.example/ims/exchange/jwt'],
    ]);
    expect(peer.requests).toHaveLength(2);
  });

  it('streams a huge token answer without a content-length', async () => {
    peer.fail('huge');

    const answer = await exchange(await validJwt());

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-length')).toBeNull();
    expect(answer.text.length).toBeGreaterThan(HUGE_ANSWER_BYTES);
    expect(JSON.parse(answer.text)).toMatchObject({
      token_type: 'bearer',
      access_token: peer.issued[0],
      expires_in: 86_399_999,
    });
  });
});
