/**
 * The credential lifecycle in the core: the certificate's expiry, several client secrets, the
 * shapes Adobe's consoles download, and the fallback to the previous credentials version when an
 * upload is bad.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RefreshSettings } from '../../lambda/config.js';
import { parseCredentials } from '../../common/credentials.js';
import { redact } from '../../common/redact.js';
import { runRefresh, type RefreshRequest } from '../../lambda/refresh.js';
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
  type Answer,
} from '../support/fakes.js';
import { tokenSecretValue } from '../support/token-secret.js';
import { generateJwtCredentials, generateOAuthCredentials } from '../sandbox/test-credentials.js';

const HOUR = 3_600_000;
const settings: RefreshSettings = { credentialsSecretId: 'creds', tokenSecretId: 'token', refreshThreshold: 0.5 };
const invalidClient = json(401, { error: 'invalid_client', error_description: 'invalid client_secret parameter' });

function request(clock: { now(): number }, overrides: Partial<RefreshRequest> = {}): RefreshRequest {
  return { force: false, requestKey: `schedule:${clock.now()}`, deadline: clock.now() + 75_000, ...overrides };
}

/** A store holding `versions` of the credentials, oldest first (the last is AWSCURRENT, the one before AWSPREVIOUS). */
function setup(...versions: string[]) {
  const store = new MemoryStore();
  const ids = versions.map((value) => store.put(settings.credentialsSecretId, value));
  return { store, clock: fakeClock(), ids };
}

let jwt: Awaited<ReturnType<typeof generateJwtCredentials>>;
beforeAll(async () => {
  jwt = await generateJwtCredentials({ keyFormat: 'pkcs8' });
});

describe('the certificate in AEM service credentials', () => {
  it('reports when it expires on every run, including runs that keep a fresh token', async () => {
    const { store, clock } = setup(jwt.json);
    const deps = fakeDeps(store, scriptedFetch(jwtTokenAnswer()), clock);
    const first = await runRefresh(settings, request(clock), deps);
    clock.advance(HOUR);
    const second = await runRefresh(settings, request(clock), deps);

    expect(first).toMatchObject({ outcome: 'refreshed', credentialsExpiresAt: jwt.integration.certificateExpiresAt });
    expect(second).toMatchObject({ outcome: 'skipped', credentialsExpiresAt: jwt.integration.certificateExpiresAt });
  });

  it('does not stop an attempt when it has expired, and a rejection then says so with the date', async () => {
    const expired = await generateJwtCredentials({
      validFrom: new Date('2025-01-01T00:00:00Z'),
      validTo: new Date('2026-01-01T00:00:00Z'),
    });
    const { store, clock } = setup(expired.json);
    const fetch = scriptedFetch(json(400, { error: 'invalid_signature' }));
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));

    expect(fetch.requests).toHaveLength(1);
    expect(result.error?.code).toBe('IMS_REJECTED');
    expect(result.error?.message).toMatch(
      /HTTP 400 invalid_signature; the credentials' certificate expired on 2026-01-01T00:00:00.000Z: refresh them in the AEM Developer Console$/,
    );
  });

  it('adds nothing about the certificate to a rejection while it is valid', async () => {
    const { store, clock } = setup(jwt.json);
    const result = await runRefresh(
      settings,
      request(clock),
      fakeDeps(store, scriptedFetch(json(400, { error: 'invalid_scope' })), clock),
    );
    expect(result.error?.message).not.toMatch(/certificate/);
  });

  it('refuses a private key that does not belong to the certificate, before calling IMS', async () => {
    const mismatched = await generateJwtCredentials({ mismatchedKey: true });
    const { store, clock } = setup(mismatched.json);
    const fetch = scriptedFetch(jwtTokenAnswer());
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));

    expect(result.error).toMatchObject({ name: 'CredentialsError', code: 'CREDENTIALS_INVALID' });
    expect(result.error?.message).toMatch(
      /"integration.privateKey" does not belong to the certificate in "integration.publicKey"/,
    );
    expect(fetch.requests).toHaveLength(0);
    expect(store.count('write')).toBe(0);
  });
});

describe('the shapes Adobe downloads', () => {
  it('reads the Developer Console project download, picking a named credential among several', () => {
    const project = generateOAuthCredentials({ shape: 'project', clientSecrets: 2, otherCredentials: 1 });
    const document = JSON.parse(project.json);
    const other = document.project.workspace.details.credentials[1];

    expect(parseCredentials(project.json, { credentialName: project.integration.name })).toEqual({
      type: 'oauth',
      shape: 'developer-console-project',
      clientId: project.integration.clientId,
      clientSecrets: project.integration.clientSecrets,
      scopes: project.integration.scopes,
      imsEndpoint: 'ims-na1.adobelogin.com',
      credentialName: project.integration.name,
      orgId: document.project.org.id,
      credentialId: document.project.workspace.details.credentials[0].id,
    });
    // By id as well as by name.
    expect(parseCredentials(project.json, { credentialName: other.id }).clientId).toBe(
      other.oauth_server_to_server.client_id,
    );
  });

  it("remembers every credential's client secrets in a project download for redaction, not only the chosen one's", () => {
    const project = generateOAuthCredentials({ shape: 'project', otherCredentials: 1 });
    const other = JSON.parse(project.json).project.workspace.details.credentials[1].oauth_server_to_server
      .client_secrets[0];
    parseCredentials(project.json, { credentialName: project.integration.name });
    expect(redact(`IMS said ${other}`)).toBe('IMS said [redacted]');
  });

  it("remembers every secret-looking value of a project download, such as App Builder's runtime auth", () => {
    const project = generateOAuthCredentials({ shape: 'project' });
    const document = JSON.parse(project.json);
    const auth = `${'a1b2c3d4'.repeat(3)}:${'e5f6'.repeat(8)}`;
    document.project.workspace.details.runtime = { namespaces: [{ name: '12345-app-stage', auth }] };
    parseCredentials(JSON.stringify(document));
    expect(redact(`echo ${auth}`)).toBe('echo [redacted]');
    expect(redact(project.integration.clientId)).toBe(project.integration.clientId); // ids stay readable
  });

  it('skips credentials of other integration types in a project download', () => {
    const project = generateOAuthCredentials({ shape: 'project', otherCredentials: 1 });
    const document = JSON.parse(project.json);
    document.project.workspace.details.credentials[1].integration_type = 'service_account_jwt';
    expect(parseCredentials(JSON.stringify(document)).clientId).toBe(project.integration.clientId);
  });

  it('reads the simple shape with a list of client secrets', () => {
    const simple = generateOAuthCredentials({ clientSecrets: 2 });
    expect(JSON.parse(simple.json)).toHaveProperty('clientSecrets');
    expect(parseCredentials(simple.json)).toMatchObject({
      shape: 'oauth-simple',
      clientSecrets: simple.integration.clientSecrets,
    });
  });

  it('mints from a project download with client_credentials', async () => {
    const project = generateOAuthCredentials({ shape: 'project' });
    const { store, clock } = setup(project.json);
    const fetch = scriptedFetch(oauthTokenAnswer());
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));

    expect(result.outcome).toBe('refreshed');
    expect(fetch.requests[0].url).toBe('https://ims-na1.adobelogin.com/ims/token/v3');
    expect(Object.fromEntries(fetch.requests[0].form)).toMatchObject({
      grant_type: 'client_credentials',
      client_id: project.integration.clientId,
      client_secret: project.integration.clientSecrets[0],
      scope: project.integration.scopes.join(','),
    });
  });
});

describe('several client secrets', () => {
  const twoSecrets = () => generateOAuthCredentials({ clientSecrets: 2 });

  it('moves to the next secret when IMS refuses one with 401 invalid_client, and reports the refused index', async () => {
    const oauth = twoSecrets();
    const { store, clock } = setup(oauth.json);
    const fetch = scriptedFetch(invalidClient, oauthTokenAnswer());
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));

    expect(result).toMatchObject({ outcome: 'refreshed', imsAttempts: 2, rejectedClientSecrets: [0] });
    expect(fetch.requests.map((sent) => sent.form.get('client_secret'))).toEqual(oauth.integration.clientSecrets);
    expect(clock.sleeps).toEqual([]); // a refused secret is not a retry: no backoff
  });

  it('does not move on for other rejections: a 400 invalid_client is the client id, not the secret', async () => {
    const { store, clock } = setup(twoSecrets().json);
    const fetch = scriptedFetch(json(400, { error: 'invalid_client' }), oauthTokenAnswer());
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));

    expect(result).toMatchObject({ outcome: 'failed', imsAttempts: 1, rejectedClientSecrets: [] });
  });

  it('fails permanently when IMS refuses every secret, one attempt each', async () => {
    const { store, clock } = setup(twoSecrets().json);
    const fetch = scriptedFetch(invalidClient);
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));

    expect(result).toMatchObject({ outcome: 'failed', imsAttempts: 2, rejectedClientSecrets: [0] });
    expect(result.error).toMatchObject({ code: 'IMS_REJECTED', transient: false });
  });

  it('retries a transient failure with the secret in use, within the one retry budget of the run', async () => {
    const oauth = twoSecrets();
    const { store, clock } = setup(oauth.json);
    const fetch = scriptedFetch(invalidClient, json(503, {}), oauthTokenAnswer());
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));

    expect(result).toMatchObject({ outcome: 'refreshed', imsAttempts: 3 });
    expect(fetch.requests.map((sent) => sent.form.get('client_secret'))).toEqual([
      ...oauth.integration.clientSecrets,
      oauth.integration.clientSecrets[1],
    ]);
  });

  it('ends transiently, without falling back, when the deadline leaves no time for the next secret', async () => {
    // A previous version exists and the token is due: a refused secret with others untried must not look like bad credentials.
    const { store, clock } = setup(jwt.json, twoSecrets().json);
    store.put(settings.tokenSecretId, tokenSecretValue('old-token', clock.now() - 20 * HOUR));
    const fetch = scriptedFetch(invalidClient, oauthTokenAnswer());
    const result = await runRefresh(
      settings,
      request(clock, { deadline: clock.now() + 5_000 }),
      fakeDeps(store, fetch, clock),
    );

    expect(result).toMatchObject({ outcome: 'failed', imsAttempts: 1 });
    expect(result.error).toMatchObject({ code: 'IMS_UNAVAILABLE', transient: true });
    expect(result.error?.message).toBe(
      "IMS refused client secret 0 and the run's deadline left no time to try the next one",
    );
    expect(store.calls.filter((call) => call.versionStage === 'AWSPREVIOUS')).toEqual([]);
  });

  it('refuses a "token" that is another of the credentials\' client secrets', async () => {
    const oauth = twoSecrets();
    const { store, clock } = setup(oauth.json);
    const fetch = scriptedFetch(
      invalidClient,
      json(200, { access_token: oauth.integration.clientSecrets[0], token_type: 'bearer', expires_in: 86_399 }),
    );
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));

    expect(result.error).toMatchObject({ code: 'IMS_RESPONSE_INVALID' });
    expect(store.count('write')).toBe(0);
  });
});

describe('a bad upload does not take the token down', () => {
  const due = (clock: { now(): number }) => tokenSecretValue('old-token', clock.now() - 20 * HOUR);

  it.each<[string, () => string, Answer[]]>([
    ['malformed JSON', () => '{"integration": {"org": "oops"}}', [jwtTokenAnswer('from-previous')]],
    [
      'credentials IMS rejects',
      () => generateOAuthCredentials().json,
      [json(401, { error: 'invalid_client' }), jwtTokenAnswer('from-previous')],
    ],
  ])(
    'mints from AWSPREVIOUS when the current version (%s) fails and the token is due, and still fails',
    async (_name, bad, answers) => {
      const { store, clock, ids } = setup(jwt.json, bad());
      store.put(settings.tokenSecretId, due(clock));
      const fetch = scriptedFetch(...answers);
      const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));

      const stored = parseTokenRecord(store.current(settings.tokenSecretId)!.value);
      expect(stored).toMatchObject({ access_token: 'from-previous', credentials_version_id: ids[0] });
      expect(result).toMatchObject({
        outcome: 'failed',
        token: stored,
        fallbackCredentialsVersionId: ids[0],
        credentialsVersionId: ids[1],
      });
      expect(result.error).toMatchObject({ code: 'CREDENTIALS_INVALID', transient: false });
      expect(result.error?.message).toContain(`credentials version "${ids[1]}" (AWSCURRENT) failed: `);
      expect(result.error?.message).toContain(
        `the token was minted from version "${ids[0]}" (AWSPREVIOUS) meanwhile: upload working credentials`,
      );
    },
  );

  it('keeps the token from the previous version on the next runs instead of minting every hour, until the upload is fixed', async () => {
    const { store, clock } = setup(jwt.json, '{"integration": {"org": "oops"}}');
    store.put(settings.tokenSecretId, due(clock));
    const fetch = scriptedFetch(jwtTokenAnswer('from-previous'));
    const deps = fakeDeps(store, fetch, clock);
    await runRefresh(settings, request(clock), deps);

    const later: unknown[] = [];
    for (let hour = 1; hour <= 3; hour += 1) {
      clock.advance(HOUR);
      later.push(await runRefresh(settings, request(clock), deps));
    }
    expect(later).toEqual(
      Array(3).fill(
        expect.objectContaining({ outcome: 'failed', error: expect.objectContaining({ code: 'CREDENTIALS_INVALID' }) }),
      ),
    );
    expect(later).toEqual(
      Array(3).fill(expect.not.objectContaining({ fallbackCredentialsVersionId: expect.anything() })),
    );
    expect(fetch.requests).toHaveLength(1);
    expect(store.versionCount(settings.tokenSecretId)).toBe(2);

    // Fixed: new working credentials are used at once.
    const fixed = store.put(settings.credentialsSecretId, jwt.json);
    const result = await runRefresh(settings, request(clock), deps);
    expect(result).toMatchObject({ outcome: 'refreshed', reason: 'credentials-changed' });
    expect(parseTokenRecord(store.current(settings.tokenSecretId)!.value).credentials_version_id).toBe(fixed);
  });

  it('calls IMS once a run for current credentials it refuses, and mints nothing more while the fallback token is fresh', async () => {
    const refused = generateOAuthCredentials();
    const { store, clock } = setup(jwt.json, refused.json);
    store.put(settings.tokenSecretId, due(clock));
    const fetch = scriptedFetch((sent) =>
      (sent.form.get('client_id') === refused.integration.clientId
        ? json(400, { error: 'invalid_client' })
        : jwtTokenAnswer())(sent),
    );
    const deps = fakeDeps(store, fetch, clock);
    await runRefresh(settings, request(clock), deps);
    const afterFallback = fetch.requests.length;

    for (let hour = 1; hour <= 3; hour += 1) {
      clock.advance(HOUR);
      expect(await runRefresh(settings, request(clock), deps)).toMatchObject({
        outcome: 'failed',
        error: { code: 'IMS_REJECTED' },
      });
    }
    expect(afterFallback).toBe(2);
    expect(fetch.requests.slice(afterFallback).map((sent) => sent.form.get('client_id'))).toEqual(
      Array(3).fill(refused.integration.clientId),
    );
    expect(store.versionCount(settings.tokenSecretId)).toBe(2);
  });

  it("reports the previous version's failure too when it cannot mint either", async () => {
    const { store, clock, ids } = setup(generateOAuthCredentials().json, generateOAuthCredentials().json);
    store.put(settings.tokenSecretId, due(clock));
    const result = await runRefresh(
      settings,
      request(clock),
      fakeDeps(store, scriptedFetch(json(400, { error: 'invalid_client' })), clock),
    );

    expect(result).toMatchObject({
      outcome: 'failed',
      error: { code: 'IMS_REJECTED' },
      fallbackFailure: { versionId: ids[0], errorCode: 'IMS_REJECTED' },
    });
    expect(result).not.toHaveProperty('fallbackCredentialsVersionId');
    expect(store.versionCount(settings.tokenSecretId)).toBe(1);
  });

  it('claims no fallback when another run stored a newer token meanwhile (the re-check before writing)', async () => {
    const { store, clock } = setup(jwt.json, generateOAuthCredentials().json);
    store.put(settings.tokenSecretId, due(clock));
    const concurrentRun: Answer = (sent) => {
      store.put(settings.tokenSecretId, tokenSecretValue('newer-token', clock.now(), 30 * HOUR));
      return jwtTokenAnswer('from-previous')(sent);
    };
    const fetch = scriptedFetch(json(401, { error: 'invalid_client' }), concurrentRun);
    const result = await runRefresh(settings, request(clock), fakeDeps(store, fetch, clock));

    expect(result).toMatchObject({ outcome: 'failed', error: { code: 'IMS_REJECTED' } });
    expect(result).not.toHaveProperty('fallbackCredentialsVersionId');
    expect(parseTokenRecord(store.current(settings.tokenSecretId)!.value).access_token).toBe('newer-token');
  });

  it('does not fall back when no attempt fits before the deadline', async () => {
    const { store, clock } = setup(jwt.json, generateOAuthCredentials().json);
    store.put(settings.tokenSecretId, due(clock));
    const fetch = scriptedFetch(json(401, { error: 'invalid_client' }), jwtTokenAnswer());
    const result = await runRefresh(
      settings,
      request(clock, { deadline: clock.now() + 5_000 }),
      fakeDeps(store, fetch, clock),
    );

    expect(result.error?.code).toBe('IMS_REJECTED');
    expect(fetch.requests).toHaveLength(1);
    expect(store.calls.filter((call) => call.versionStage === 'AWSPREVIOUS')).toEqual([]);
  });

  it('does not touch AWSPREVIOUS while the stored token is fresh', async () => {
    const { store, clock } = setup(jwt.json);
    const deps = fakeDeps(store, scriptedFetch(jwtTokenAnswer()), clock);
    await runRefresh(settings, request(clock), deps);
    store.put(settings.credentialsSecretId, 'not json');
    const result = await runRefresh(settings, request(clock), deps);

    expect(result).toMatchObject({ outcome: 'failed', error: { code: 'CREDENTIALS_INVALID' } });
    expect(store.calls.filter((call) => call.versionStage === 'AWSPREVIOUS')).toEqual([]);
    expect(store.versionCount(settings.tokenSecretId)).toBe(1);
  });

  it.each<[string, Answer]>([
    ['a transient IMS failure', json(503, {})],
    ['a connection failure', networkError()],
  ])('does not fall back on %s: waiting can fix it', async (_name, answer) => {
    const { store, clock } = setup(jwt.json, generateOAuthCredentials().json);
    const result = await runRefresh(settings, request(clock), fakeDeps(store, scriptedFetch(answer), clock));

    expect(result.error?.code).toBe('IMS_UNAVAILABLE');
    expect(store.calls.filter((call) => call.versionStage === 'AWSPREVIOUS')).toEqual([]);
  });

  it("reports the current version's error when there is no previous version or it fails too, and writes nothing", async () => {
    const alone = setup('not json');
    const first = await runRefresh(
      settings,
      request(alone.clock),
      fakeDeps(alone.store, scriptedFetch(jwtTokenAnswer()), alone.clock),
    );
    expect(first.error?.message).toBe('credentials secret is not JSON');

    const both = setup('{"also": "bad"}', 'not json');
    const fetch = scriptedFetch(jwtTokenAnswer());
    const second = await runRefresh(settings, request(both.clock), fakeDeps(both.store, fetch, both.clock));
    expect(second.error?.message).toBe('credentials secret is not JSON');
    expect(fetch.requests).toHaveLength(0);
    expect(both.store.count('write')).toBe(0);
  });
});
