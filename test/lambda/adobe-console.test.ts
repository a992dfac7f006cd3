import { describe, expect, it } from 'vitest';
import { adobeConsole, FORBIDDEN_FIX, type AdobeSession } from '../../lambda/adobe-console.js';
import type { Fetch, FetchInit } from '../../lambda/ims.js';
import { AdobeApiError, ProxyError } from '../../common/errors.js';
import { redact } from '../../common/redact.js';
import { registerSecret } from '../support/leak-guard.js';

const session: AdobeSession = {
  accessToken: 'adobe-console-test-access-token-0123456789',
  clientId: 'client-0123',
  orgId: '23294',
  credentialId: 'cred-77',
};
registerSecret(session.accessToken);
const SECRETS_URL = 'https://api.adobe.io/console/organizations/23294/credentials/cred-77/secrets';

/** A fetch answering `answer` for every request, recording method, url and headers. */
function fake(answer: (init: FetchInit) => Response | Promise<Response>) {
  const requests: { url: string; method?: string; headers: Headers; hasBody: boolean }[] = [];
  const fetch: Fetch = async (url, init) => {
    requests.push({ url, method: init.method, headers: new Headers(init.headers), hasBody: init.body !== undefined });
    return answer(init);
  };
  return { fetch, requests };
}

const answer =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  () =>
    new Response(typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-1', ...headers },
    });

/** A peer that never answers: the request ends only when its signal aborts, as fetch's does. */
const hanging: Fetch = (_url, init) =>
  new Promise<Response>((_resolve, reject) => {
    init.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error), { once: true });
  });

const client = (fetch: Fetch, extra: { signal?: AbortSignal; timeoutMs?: number; baseUrl?: string } = {}) =>
  adobeConsole(session, { fetch, timeoutMs: 10_000, ...extra });

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as AdobeApiError,
  );

describe('adobeConsole: the calls Adobe documents', () => {
  it('lists with the bearer token and the client id as x-api-key, reading epoch-ms strings and the latest use', async () => {
    const peer = fake(
      answer(200, {
        client_id: session.clientId,
        client_secrets: [
          { uuid: 'u-1', created_at: '1717000000000', expires_at: 'PERMANENT', secret_usages: null },
          {
            uuid: 'u-2',
            created_at: '1717000000001',
            secret_usages: [
              { last_used_at: '1717100000000', grant_type: 'client_credentials' },
              { last_used_at: '1717200000000', grant_type: 'client_credentials' },
            ],
          },
        ],
      }),
    );
    const listed = await client(peer.fetch).list();
    expect(listed).toEqual({
      requestId: 'req-1',
      secrets: [
        { uuid: 'u-1', createdAt: 1_717_000_000_000, lastUsedAt: undefined },
        { uuid: 'u-2', createdAt: 1_717_000_000_001, lastUsedAt: 1_717_200_000_000 },
      ],
    });
    expect(peer.requests[0]).toMatchObject({ url: SECRETS_URL, method: 'GET', hasBody: false });
    expect(peer.requests[0].headers.get('authorization')).toBe(`Bearer ${session.accessToken}`);
    expect(peer.requests[0].headers.get('x-api-key')).toBe(session.clientId);
  });

  it('creates (any 2xx) and remembers the plaintext for redaction at once', async () => {
    const plaintext = 'p8e-created-secret-abcdefghijklmnop';
    registerSecret(plaintext);
    const peer = fake(answer(201, { client_secret: plaintext, uuid: 'u-3', created_at: '1', secret_usages: null }));
    await expect(client(peer.fetch).create()).resolves.toEqual({ secret: plaintext, uuid: 'u-3', requestId: 'req-1' });
    expect(peer.requests[0]).toMatchObject({ url: SECRETS_URL, method: 'POST', hasBody: false });
    expect(redact(`x ${plaintext} y`)).toBe('x [redacted] y');
  });

  it('creates without a uuid in the answer: the caller lists again', async () => {
    const peer = fake(answer(200, { client_secret: 'p8e-created-secret-without-uuid-0001' }));
    await expect(client(peer.fetch).create()).resolves.toMatchObject({ uuid: undefined });
  });

  it('deletes by uuid (204 or 200), and never sends a uuid that could change the path', async () => {
    const peer = fake(() => new Response(null, { status: 204, headers: { 'x-request-id': 'req-del' } }));
    await expect(client(peer.fetch, { baseUrl: 'http://127.0.0.1:9/' }).delete('u-1')).resolves.toEqual({
      requestId: 'req-del',
    });
    expect(peer.requests[0]).toMatchObject({
      url: 'http://127.0.0.1:9/console/organizations/23294/credentials/cred-77/secrets/u-1',
      method: 'DELETE',
    });
    await expect(client(peer.fetch).delete('../u-1')).rejects.toMatchObject({ code: 'ADOBE_API_FAILED' });
    expect(peer.requests).toHaveLength(1);
  });

  it('takes a 404 on delete as already deleted when the list no longer shows the uuid (a repeat, an overlapping grace check, a lost answer); else it fails', async () => {
    const peer = (listedUuids: string[]) =>
      fake((init) =>
        init.method === 'DELETE'
          ? answer(404, { error_code: '404001' })()
          : answer(200, {
              client_id: session.clientId,
              client_secrets: listedUuids.map((uuid) => ({ uuid, created_at: '1717000000000', secret_usages: null })),
            })(),
      ).fetch;
    await expect(client(peer(['u-2'])).delete('u-1')).resolves.toEqual({ requestId: 'req-1' });
    await expect(client(peer(['u-1', 'u-2'])).delete('u-1')).rejects.toMatchObject({ status: 404 });
    await expect(client(fake(answer(409, {})).fetch).delete('u-1')).rejects.toMatchObject({ status: 409 });
  });
});

describe('adobeConsole: failures are ADOBE_API_FAILED with the x-request-id, never the body', () => {
  it('names the fix on 403 (the API is not in the project, or a scope is missing)', async () => {
    const peer = fake(
      answer(403, { error_code: '403003', message: 'Api Key is invalid' }, { 'x-request-id': 'abc.DEF_1-2' }),
    );
    const error = await failure(client(peer.fetch).list());
    expect(error).toBeInstanceOf(AdobeApiError);
    expect(error).toMatchObject({ code: 'ADOBE_API_FAILED', status: 403, transient: false, requestId: 'abc.DEF_1-2' });
    expect(error?.message).toBe(
      `I/O Management API list answered HTTP 403 403003: Api Key is invalid (x-request-id abc.DEF_1-2): ${FORBIDDEN_FIX}`,
    );
  });

  it.each([
    [429, true],
    [500, true],
    [503, true],
    [400, false],
    [401, false],
    [404, false],
  ])('classes HTTP %i as transient: %s', async (status, transient) => {
    const error = await failure(client(fake(answer(status, {})).fetch).create());
    expect(error).toMatchObject({ code: 'ADOBE_API_FAILED', status, transient });
  });

  it('does not follow a redirect and says the base URL is wrong', async () => {
    const peer = fake(() => new Response(null, { status: 302, headers: { location: 'https://elsewhere.example/' } }));
    const error = await failure(client(peer.fetch).list());
    expect(error?.message).toMatch(
      /HTTP 302.*redirects are not followed; ADOBE_API_BASE_URL \(adobeApiBaseUrl\) is wrong/,
    );
  });

  it('drops an x-request-id that is not a short identifier (it goes into log lines)', async () => {
    for (const id of ['a'.repeat(65), 'id with spaces', 'id;drop']) {
      const error = await failure(client(fake(answer(500, {}, { 'x-request-id': id })).fetch).list());
      expect(error?.requestId).toBeUndefined();
      expect(error?.message).not.toContain(id);
    }
  });

  it('redacts an error body that echoes the bearer token, and bounds it', async () => {
    const echo = {
      error_code: '400001',
      message: `bad request: Authorization: Bearer ${session.accessToken} ${'x'.repeat(5_000)}`,
    };
    // A token the client did not see minted (the grace check's comes from the token secret): it remembers it itself.
    const accessToken = 'opaque-token-from-the-token-secret-0123456789';
    registerSecret(accessToken);
    echo.message = echo.message.replace(session.accessToken, accessToken);
    const error = await failure(
      adobeConsole({ ...session, accessToken }, { fetch: fake(answer(400, echo)).fetch, timeoutMs: 10_000 }).create(),
    );
    expect(error?.message).not.toContain(accessToken);
    expect(error?.message).toContain('[redacted]');
    expect(error!.message.length).toBeLessThan(400);
  });

  it.each([
    ['not JSON', '<html>gateway</html>', /answer is not JSON/],
    ['huge', JSON.stringify({ client_secrets: [], pad: 'x'.repeat(70_000) }), /answer is larger than 65536 bytes/],
    ['without a list', { secrets: [] }, /has no "client_secrets" list/],
    [
      'with a bad uuid',
      { client_secrets: [{ uuid: 'a/../b', created_at: '1' }] },
      /"client_secrets\[0\].uuid" that is not 1-64/,
    ],
    [
      'with a bad date',
      { client_secrets: [{ uuid: 'a', created_at: 'yesterday' }] },
      /created_at" that is not epoch milliseconds/,
    ],
    [
      'with a bad last use',
      { client_secrets: [{ uuid: 'a', created_at: '1', secret_usages: [{ last_used_at: 'x' }] }] },
      /last_used_at" that is not epoch milliseconds/,
    ],
    ['of another client', { client_id: 'other', client_secrets: [] }, /is about another client id/],
    [
      'with too many entries',
      { client_secrets: Array.from({ length: 17 }, (_, i) => ({ uuid: `u${i}`, created_at: '1' })) },
      /more than 16/,
    ],
  ])('refuses a list answer %s without quoting it', async (_name, body, message) => {
    const error = await failure(client(fake(answer(200, body)).fetch).list());
    expect(error).toMatchObject({ code: 'ADOBE_API_FAILED', transient: false, requestId: 'req-1' });
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toMatch(/gateway|yesterday|a\/\.\.\/b/);
  });

  it.each([
    ['no secret', { uuid: 'u' }, /has no "client_secret"/],
    ['a secret with a newline', { client_secret: 'p8e-abc\ninjected-line-0123', uuid: 'u' }, /has no "client_secret"/],
    [
      'the bearer token echoed as the secret',
      { client_secret: session.accessToken, uuid: 'u' },
      /contains the access token sent/,
    ],
    ['a bad uuid', { client_secret: 'p8e-valid-secret-0123456789', uuid: 'u 1' }, /has a "uuid" that is not/],
  ])('refuses a create answer with %s, never quoting the secret', async (_name, body, message) => {
    const error = await failure(client(fake(answer(201, body)).fetch).create());
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toMatch(/p8e-|injected|adobe-console-test-access-token/);
  });
});

describe('adobeConsole: a peer that never answers', () => {
  it('gives up after the request timeout (transient)', async () => {
    const error = await failure(client(hanging, { timeoutMs: 20 }).list());
    expect(error).toMatchObject({
      code: 'ADOBE_API_FAILED',
      transient: true,
      message: 'I/O Management API list: no answer within 20 ms',
    });
  });

  it("gives up when the step's deadline aborts it", async () => {
    const deadline = new AbortController();
    const pending = failure(client(hanging, { signal: deadline.signal }).delete('u-1'));
    deadline.abort();
    await expect(pending).resolves.toMatchObject({
      transient: true,
      message: "I/O Management API delete: the step's deadline was reached",
    });
  });

  it('passes a proxy failure on as PROXY_FAILED, not as Adobe failing', async () => {
    const proxyFailure = new ProxyError('proxy.internal:3128', 'I/O Management API', 'answered CONNECT with HTTP 407', {
      status: 407,
    });
    const error = await failure(client(() => Promise.reject(proxyFailure)).list());
    expect(error).toBe(proxyFailure);
  });
});
