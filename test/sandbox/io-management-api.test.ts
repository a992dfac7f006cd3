import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ImsPeer } from './ims-peer.js';
import { IO_MANAGEMENT_SCOPES, TOO_MANY_SECRETS_ERROR_CODE, type ConsoleFault } from './io-management-api.js';
import { registeredSecrets } from './secret-registry.js';
import { generateOAuthCredentials } from './test-credentials.js';

const T0 = Date.parse('2026-11-22T12:00:00Z');
const HOUR = 3_600_000;

describe('IMS peer: the I/O Management API for client secrets', () => {
  let time: number;
  let peer: ImsPeer;
  const oauth = generateOAuthCredentials({ scopes: IO_MANAGEMENT_SCOPES, clientSecrets: 1 }).integration;
  const [firstSecret] = oauth.clientSecrets;
  const ids = { orgId: '23294', credentialId: 'f00dfeedf00dfeedf00dfeedf00dfeed', uuids: ['uuid-first-secret'] };
  const base = () => `${peer.url}/console/organizations/${ids.orgId}/credentials/${ids.credentialId}/secrets`;

  beforeEach(async () => {
    time = T0;
    peer = await ImsPeer.start({ now: () => time });
    peer.register(oauth, ids);
  });
  afterEach(() => peer.close());

  /** A token from the peer for `oauth` with `scope` (default: every scope the API needs). */
  async function mint(clientSecret = firstSecret, scope = IO_MANAGEMENT_SCOPES.join(',')) {
    const response = await fetch(`${peer.url}/ims/token/v3`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: oauth.clientId,
        client_secret: clientSecret,
        scope,
      }),
    });
    const text = await response.text();
    const body = (response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {}) as {
      access_token?: string;
      error?: string;
    };
    return { status: response.status, token: body.access_token ?? '', error: body.error };
  }

  async function call(
    method: string,
    { token, path = '', apiKey = oauth.clientId }: { token?: string; path?: string; apiKey?: string } = {},
  ) {
    const bearer = token ?? (await mint()).token;
    const response = await fetch(base() + path, {
      method,
      headers: { authorization: `Bearer ${bearer}`, 'x-api-key': apiKey },
    });
    const text = await response.text();
    return {
      status: response.status,
      requestId: response.headers.get('x-request-id'),
      body: text ? JSON.parse(text) : undefined,
    };
  }

  it('lists the secrets: uuid, epoch-ms string dates, secret_usages null until used, never the plaintext', async () => {
    const token = (await mint()).token;
    time += HOUR;
    peer.register({ ...oauth, clientSecrets: [firstSecret] }, ids); // a re-registration keeps the secret's dates

    const listed = await call('GET', { token });

    expect(listed.status).toBe(200);
    expect(listed.requestId).toMatch(/^[\w-]{1,64}$/);
    expect(listed.body).toEqual({
      client_id: oauth.clientId,
      client_secrets: [
        {
          uuid: 'uuid-first-secret',
          created_at: String(T0),
          expires_at: 'PERMANENT',
          secret_usages: [{ last_used_at: String(T0), grant_type: 'client_credentials' }],
        },
      ],
    });
    expect(JSON.stringify(listed.body)).not.toContain(firstSecret);
  });

  it("moves a secret's last_used_at with each mint at the peer's clock, and only that secret's", async () => {
    const created = await call('POST');
    time += 2 * HOUR;

    await mint(created.body.client_secret);
    const listed = await call('GET');

    const usages = Object.fromEntries(
      listed.body.client_secrets.map((s: { uuid: string; secret_usages: unknown }) => [s.uuid, s.secret_usages]),
    );
    expect(usages).toEqual({
      'uuid-first-secret': [{ last_used_at: String(T0 + 2 * HOUR), grant_type: 'client_credentials' }],
      [created.body.uuid]: [{ last_used_at: String(T0 + 2 * HOUR), grant_type: 'client_credentials' }],
    });
    expect(peer.credentials.get(oauth.clientId)?.secrets.map((s) => s.lastUsedAt)).toEqual([
      T0 + 2 * HOUR,
      T0 + 2 * HOUR,
    ]);
  });

  it('creates a second secret (201, plaintext only in that answer, registered with the leak guard) that mints at once', async () => {
    time += HOUR;

    const created = await call('POST');
    const listed = await call('GET');

    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      client_secret: expect.stringMatching(/^p8e-[0-9a-f]{32}$/),
      uuid: expect.any(String),
      created_at: String(T0 + HOUR),
      expires_at: 'PERMANENT',
      secret_usages: null,
    });
    expect(registeredSecrets).toContain(created.body.client_secret);
    expect(listed.body.client_secrets.map((s: { uuid: string }) => s.uuid)).toEqual([
      'uuid-first-secret',
      created.body.uuid,
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.client_secret);
    expect((await mint(created.body.client_secret)).status).toBe(200);
  });

  it('refuses a third secret with 400 and an error_code, creating nothing', async () => {
    await call('POST');

    const third = await call('POST');

    expect(third.status).toBe(400);
    expect(third.body).toEqual({
      error_code: TOO_MANY_SECRETS_ERROR_CODE,
      message: expect.stringContaining('at most 2'),
    });
    expect(third.requestId).toBeTruthy();
    expect(peer.credentials.get(oauth.clientId)?.secrets).toHaveLength(2);
  });

  it('deletes a secret (204): it no longer mints, and is no longer listed; an unknown uuid is a 404', async () => {
    const created = await call('POST');
    const token = (await mint(created.body.client_secret)).token;

    const deleted = await call('DELETE', { token, path: '/uuid-first-secret' });
    const again = await call('DELETE', { token, path: '/uuid-first-secret' });

    expect([deleted.status, deleted.body, deleted.requestId]).toEqual([204, undefined, expect.any(String)]);
    expect(again.status).toBe(404);
    expect(await mint(firstSecret)).toMatchObject({ status: 401, error: 'invalid_client' });
    expect((await call('GET', { token })).body.client_secrets).toEqual([
      expect.objectContaining({ uuid: created.body.uuid }),
    ]);
  });

  it.each([
    [
      'a token without manage_client_secrets',
      async () => ({ token: (await mint(firstSecret, 'openid,AdobeID,adobeio_api')).token }),
      403,
      '403003',
    ],
    ['an x-api-key that is not the credential', async () => ({ apiKey: 'some-other-client' }), 403, '403000'],
    ['no token the peer issued', async () => ({ token: 'not-a-token' }), 401, '401013'],
    [
      'an expired token',
      async () => {
        const { token } = await mint();
        time += 25 * HOUR;
        return { token };
      },
      401,
      '401013',
    ],
  ])('refuses %s with Adobe’s error shape and an x-request-id', async (_case, given, status, code) => {
    const answer = await call('POST', await given());

    expect(answer).toEqual({
      status,
      requestId: expect.any(String),
      body: { error_code: code, message: expect.any(String) },
    });
    expect(peer.credentials.get(oauth.clientId)?.secrets).toHaveLength(1);
  });

  it('refuses a token of another credential, and knows no other credential path', async () => {
    const other = generateOAuthCredentials({ scopes: IO_MANAGEMENT_SCOPES }).integration;
    peer.register(other);
    const token = (await mint(firstSecret)).token;
    const otherToken = await fetch(`${peer.url}/ims/token/v3`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: other.clientId,
        client_secret: other.clientSecrets[0],
        scope: 'openid',
      }),
    }).then(async (r) => ((await r.json()) as { access_token: string }).access_token);

    const foreign = await call('GET', { token: otherToken, apiKey: other.clientId });
    const elsewhere = await fetch(`${peer.url}/console/organizations/1/credentials/none/secrets`, {
      headers: { authorization: `Bearer ${token}`, 'x-api-key': oauth.clientId },
    });

    expect(foreign.status).toBe(403);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.headers.get('x-request-id')).toBeTruthy();
  });

  it.each<[ConsoleFault, number, unknown]>([
    [{ status: 403 }, 403, { error_code: '403000', message: 'injected fault' }],
    [{ status: 503 }, 503, { error_code: '503000', message: 'injected fault' }],
    [{ status: 429, body: { message: 'slow down' }, requestId: 'req-1' }, 429, { message: 'slow down' }],
  ])('answers a queued fault %j once, then normally', async (fault, status, body) => {
    const token = (await mint()).token;
    peer.console.fail(fault);

    const faulted = await call('POST', { token });
    const normal = await call('GET', { token });

    expect([faulted.status, faulted.body]).toEqual([status, body]);
    expect(faulted.requestId).toEqual(
      typeof fault === 'object' && fault.requestId ? fault.requestId : expect.any(String),
    );
    expect(normal.status).toBe(200);
    expect(peer.credentials.get(oauth.clientId)?.secrets).toHaveLength(1);
  });

  it('commits a create, then drops the connection: the secret exists at Adobe and nobody got its plaintext', async () => {
    const token = (await mint()).token;
    peer.console.fail('drop-after-commit');

    await expect(call('POST', { token })).rejects.toBeInstanceOf(TypeError);

    const listed = await call('GET', { token });
    expect(listed.body.client_secrets).toHaveLength(2);
    expect(listed.body.client_secrets[1]).toMatchObject({ secret_usages: null });
  });

  it('answers a create without its uuid when told', async () => {
    const token = (await mint()).token;
    peer.console.fail('create-without-uuid');

    const created = await call('POST', { token });

    expect(created.status).toBe(201);
    expect(created.body).not.toHaveProperty('uuid');
    expect(created.body.client_secret).toMatch(/^p8e-/);
  });

  it('leaves a request hanging until the peer closes', async () => {
    const token = (await mint()).token;
    peer.console.fail('hang');

    const answer = call('GET', { token });
    await vi.waitFor(() => expect(peer.console.calls).toHaveLength(1));
    await peer.close();

    await expect(answer).rejects.toBeInstanceOf(TypeError);
  });

  it("keeps its faults apart from IMS's: a queued IMS fault does not answer an API call", async () => {
    const token = (await mint()).token;
    peer.fail({ status: 503 });

    const listed = await call('GET', { token });

    expect(listed.status).toBe(200);
    expect((await mint()).status).toBe(503);
    expect(peer.console.calls).toEqual([
      { method: 'GET', path: `/console/organizations/${ids.orgId}/credentials/${ids.credentialId}/secrets` },
    ]);
  });
});
