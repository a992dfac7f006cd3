/**
 * End-to-end: the bundle `cdk synth` left in cdk.out, run in a fresh Node process as Lambda runs
 * it, with the template's environment, against the Secrets Manager emulator and the IMS test
 * peer. Every run's output is scanned for the secrets it handled.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseTokenRecord, type TokenRecord } from '../../common/token.js';
import { synthesizedFunction, type SynthesizedFunction } from '../sandbox/bundle.js';
import { LocalRefresher, type Run } from '../sandbox/local-refresher.js';
import { countSecrets, registeredSecrets } from '../sandbox/secret-registry.js';
import { generateJwtCredentials, generateOAuthCredentials, type KeyFormat } from '../sandbox/test-credentials.js';

let fn: SynthesizedFunction;
let local: LocalRefresher;

beforeAll(() => {
  fn = synthesizedFunction();
});
afterEach(() => local?.close());

async function start(credentials: Parameters<typeof LocalRefresher.start>[1]): Promise<void> {
  local = await LocalRefresher.start(fn, credentials);
}

/** One invocation; its output must not contain any secret registered so far. */
async function run(event: unknown = {}): Promise<Run> {
  const result = await local.invoke(event);
  expect(countSecrets(result.logs), 'secrets in the function output').toBe(0);
  return result;
}

function storedToken(): TokenRecord {
  return parseTokenRecord(local.emulator.current(local.tokenSecretId)!.value);
}

const lifetimeSeconds = (token: TokenRecord) => (Date.parse(token.expires_at) - Date.parse(token.issued_at)) / 1000;
const actions = (result: Run) => result.secretsManagerCalls.map((call) => call.action);

describe('the synthesized refresher, end to end', () => {
  it.each<[KeyFormat, boolean]>([
    ['pkcs1-crlf', true],
    ['pkcs8', true],
    ['escaped-newlines', false],
  ])(
    'mints and stores a token from AEM service credentials with a %s key (wrapped: %s)',
    async (keyFormat, wrapped) => {
      const credentials = await generateJwtCredentials({ keyFormat, wrapped });
      await start(credentials);

      const result = await run();

      const token = storedToken();
      expect(result.result).toEqual({
        outcome: 'refreshed',
        reason: 'no-token',
        expiresAt: token.expires_at,
        issuedAt: token.issued_at,
        credentialsVersionId: token.credentials_version_id,
        credentialsExpiresAt: new Date(credentials.integration.certificateExpiresAt).toISOString(),
      });
      expect(result.imsRequests.map((request) => request.path)).toEqual(['/ims/exchange/jwt']);
      expect(token).toMatchObject({
        access_token: local.peer.issued[0],
        token_type: 'bearer',
        client_id: credentials.integration.clientId,
        ims_endpoint: 'ims-na1.adobelogin.com',
        credentials_version_id: local.emulator.current(local.credentialsSecretId)!.versionId,
        credentials_type: 'jwt',
      });
      expect(lifetimeSeconds(token)).toBe(86_399.999);
    },
  );

  it('mints an OAuth Server-to-Server token, reading expires_in as seconds', async () => {
    await start(generateOAuthCredentials({}));

    const result = await run();

    const token = storedToken();
    expect(result.result).toEqual({
      outcome: 'refreshed',
      reason: 'no-token',
      expiresAt: token.expires_at,
      issuedAt: token.issued_at,
      credentialsVersionId: token.credentials_version_id,
    });
    expect(result.imsRequests.map((request) => request.path)).toEqual(['/ims/token/v3']);
    expect(token).toMatchObject({ access_token: local.peer.issued[0], credentials_type: 'oauth' });
    expect(lifetimeSeconds(token)).toBe(86_399);
  });

  it('keeps a fresh token: two reads, no IMS call, no new version', async () => {
    await start(await generateJwtCredentials({}));
    await run();
    const versions = local.emulator.versionCount(local.tokenSecretId);

    const result = await run();

    expect(result.result).toMatchObject({ outcome: 'skipped', reason: 'fresh' });
    expect(result.imsRequests).toEqual([]);
    expect(actions(result)).toEqual(['GetSecretValue', 'GetSecretValue']);
    expect(local.emulator.versionCount(local.tokenSecretId)).toBe(versions);
  });

  it('renews a fresh token on {"force": true}', async () => {
    await start(await generateJwtCredentials({}));
    await run();

    const result = await run({ force: true });

    expect(result.result).toMatchObject({ outcome: 'refreshed', reason: 'forced' });
    expect(result.imsRequests).toHaveLength(1);
    expect(storedToken().access_token).toBe(local.peer.issued[1]);
  });

  it.each([
    ['an IMS 5xx', { status: 503 }],
    ['a connection reset', 'reset'],
  ] as const)('retries once after %s and stores the token', async (_name, fault) => {
    await start(await generateJwtCredentials({}));
    local.peer.fail(fault);

    const result = await run();

    expect(result.result).toMatchObject({ outcome: 'refreshed' });
    expect(result.imsRequests).toHaveLength(2);
    expect(storedToken().access_token).toBe(local.peer.issued[0]);
  });

  it('fails with IMS_REJECTED on invalid_signature, after one IMS call, and writes nothing', async () => {
    const credentials = await generateJwtCredentials({});
    const otherCertificate = (await generateJwtCredentials({})).integration.certificatePem;
    await start({
      json: credentials.json,
      integration: { ...credentials.integration, certificatePem: otherCertificate },
    });
    const before = local.emulator.current(local.tokenSecretId);

    const result = await run();

    expect(result.error).toMatchObject({ errorType: 'ImsError', code: 'IMS_REJECTED' });
    expect(result.error?.errorMessage).toMatch(/HTTP 400 invalid_signature: .*\(X-Debug-Id [\w-]+\)/);
    expect(result.imsRequests).toHaveLength(1);
    expect(actions(result)).not.toContain('PutSecretValue');
    expect(local.emulator.current(local.tokenSecretId)).toEqual(before);
  });

  it('fails with CREDENTIALS_INVALID on credentials without a client secret, before any IMS call', async () => {
    const credentials = await generateJwtCredentials({});
    const document = JSON.parse(credentials.json);
    delete document.integration.technicalAccount.clientSecret;
    await start({ json: JSON.stringify(document), integration: credentials.integration });
    const before = local.emulator.current(local.tokenSecretId);

    const result = await run();

    expect(result.error).toMatchObject({ errorType: 'CredentialsError', code: 'CREDENTIALS_INVALID' });
    expect(result.error?.errorMessage).toContain('"integration.technicalAccount.clientSecret" is missing');
    expect(result.imsRequests).toEqual([]);
    expect(local.emulator.current(local.tokenSecretId)).toEqual(before);
  });

  it('writes one version for two deliveries of one scheduled occurrence, even when both reach the write', async () => {
    await start(await generateJwtCredentials({}));
    const versions = local.emulator.versionCount(local.tokenSecretId);
    // Forced, so the second delivery does not stop at "fresh" but exchanges and tries to write again.
    const event = { scheduledTime: '2026-11-22T12:00:00Z', force: true };

    const first = await run(event);
    const second = await run(event);

    expect(first.result).toMatchObject({ outcome: 'refreshed' });
    expect(second.result).toMatchObject({ outcome: 'skipped', reason: 'duplicate-delivery' });
    expect(actions(second)).toContain('PutSecretValue');
    expect(local.emulator.versionCount(local.tokenSecretId)).toBe(versions + 1);
    expect(storedToken().access_token).toBe(local.peer.issued[0]);
  });

  it('knows every secret a run handles, so the scans above can see a leak', async () => {
    const credentials = await generateJwtCredentials({});
    await start(credentials);

    const result = await run();

    const handled = [
      credentials.integration.clientSecrets[0],
      result.imsRequests[0].form.jwt_token,
      storedToken().access_token,
    ];
    expect(handled.every((secret) => registeredSecrets.has(secret))).toBe(true);
    expect(countSecrets(credentials.json)).toBeGreaterThan(10); // client secret and the private key's lines
    expect(countSecrets(`${result.logs}\n${storedToken().access_token}`)).toBe(1);
  });
});
