/**
 * End-to-end: the credential lifecycle (certificate expiry, key/certificate match, the shapes
 * Adobe's consoles download, several client secrets, a bad upload) through the bundle `cdk synth`
 * left in cdk.out, run as Lambda runs it against the Secrets Manager emulator and the IMS test
 * peer. Every run's output and error are scanned for the secrets it handled.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseTokenRecord, type TokenRecord } from '../../common/token.js';
import { logRecords, synthesizedFunction, type SynthesizedFunction } from '../sandbox/bundle.js';
import { LocalRefresher, type Run, type RunOptions } from '../sandbox/local-refresher.js';
import { countSecrets } from '../sandbox/secret-registry.js';
import { generateJwtCredentials, generateOAuthCredentials } from '../sandbox/test-credentials.js';

const DAY = 24 * 3_600_000;
const HOUR = 3_600_000;

let fn: SynthesizedFunction;
let local: LocalRefresher;

beforeAll(() => {
  fn = synthesizedFunction();
});
afterEach(() => local?.close());

async function start(credentials: Parameters<typeof LocalRefresher.start>[1]): Promise<void> {
  local = await LocalRefresher.start(fn, credentials);
}

/** One invocation; neither its output nor its error may contain any secret registered so far. */
async function run(event: unknown = {}, options: RunOptions = {}): Promise<Run> {
  const result = await local.invoke(event, options);
  expect(countSecrets(result.logs), 'secrets in the function output').toBe(0);
  expect(countSecrets(JSON.stringify(result.error ?? null)), 'secrets in the error').toBe(0);
  return result;
}

const tokenSecret = () => local.emulator.current(local.tokenSecretId);
const storedToken = (): TokenRecord => parseTokenRecord(tokenSecret()!.value);
const actions = (result: Run) => result.secretsManagerCalls.map((call) => call.action);
/** The run's log line (or EMF blob) with this message (or this metric). */
const logRecord = (result: Run, message: string) =>
  logRecords(result.logs).find((record) => record.message === message);
const metricsBlob = (result: Run, metric: string) =>
  logRecords(result.logs).find((record) => '_aws' in record && metric in record);
const isoDate = (ms: number) => new Date(ms).toISOString();
/** The staging labels of the run's reads of the credentials secret, in order (the default reads AWSCURRENT). */
const credentialsReads = (result: Run) =>
  result.secretsManagerCalls
    .filter((call) => call.action === 'GetSecretValue' && call.secretId === local.credentialsSecretId)
    .map((call) => call.versionStage ?? 'AWSCURRENT');

describe('certificate expiry (AEM service credentials)', () => {
  it("publishes CredentialsSecondsToExpiry in the refresher's namespace and logs credentialsExpiresAt", async () => {
    const credentials = await generateJwtCredentials({ validTo: new Date(Date.now() + 40 * DAY) });
    const expiresAt = credentials.integration.certificateExpiresAt;
    await start(credentials);

    const before = Date.now();
    const result = await run();
    const after = Date.now();

    const blob = metricsBlob(result, 'CredentialsSecondsToExpiry')!;
    expect(blob).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'ImsTokenRefresher',
            Dimensions: [['service']],
            Metrics: expect.arrayContaining([{ Name: 'CredentialsSecondsToExpiry', Unit: 'Seconds' }]),
          },
        ],
      },
      service: expect.any(String),
    });
    expect(blob.CredentialsSecondsToExpiry).toBeGreaterThanOrEqual(Math.floor((expiresAt - after) / 1000));
    expect(blob.CredentialsSecondsToExpiry).toBeLessThanOrEqual((expiresAt - before) / 1000);
    expect(logRecord(result, 'token refreshed')).toMatchObject({ credentialsExpiresAt: isoDate(expiresAt) });
    expect(result.result).toMatchObject({ outcome: 'refreshed', credentialsExpiresAt: isoDate(expiresAt) });
  });

  it('still asks IMS with an expired certificate; the rejection says when it expired, and nothing is written', async () => {
    const credentials = await generateJwtCredentials({
      validFrom: new Date(Date.now() - 400 * DAY),
      validTo: new Date(Date.now() - 2 * DAY),
    });
    await start(credentials);
    const before = tokenSecret();

    const result = await run();

    expect(result.error).toMatchObject({ errorType: 'ImsError', code: 'IMS_REJECTED' });
    expect(result.error?.errorMessage).toMatch(/HTTP 400 invalid_signature/);
    expect(result.error?.errorMessage).toContain(
      `; the credentials' certificate expired on ${isoDate(credentials.integration.certificateExpiresAt)}: refresh them in the AEM Developer Console`,
    );
    expect(result.imsRequests).toHaveLength(1);
    expect(metricsBlob(result, 'CredentialsSecondsToExpiry')).toMatchObject({ CredentialsSecondsToExpiry: 0 });
    expect(actions(result)).not.toContain('PutSecretValue');
    expect(tokenSecret()).toEqual(before);
  });
});

describe('key and certificate', () => {
  it('refuses a private key that does not belong to the certificate before calling IMS, naming both fields', async () => {
    await start(await generateJwtCredentials({ mismatchedKey: true }));
    const before = tokenSecret();

    const result = await run();

    expect(result.error).toMatchObject({ errorType: 'CredentialsError', code: 'CREDENTIALS_INVALID' });
    expect(result.error?.errorMessage).toMatch(/"[\w.]*privateKey".*"[\w.]*publicKey"/);
    expect(result.imsRequests).toEqual([]);
    expect(actions(result)).not.toContain('PutSecretValue');
    expect(tokenSecret()).toEqual(before);
  });
});

describe("what Adobe's consoles download", () => {
  it('mints from the Adobe Developer Console project download through /ims/token/v3', async () => {
    const credentials = generateOAuthCredentials({ shape: 'project' });
    await start(credentials);

    const result = await run();

    expect(result.result).toMatchObject({ outcome: 'refreshed', reason: 'no-token' });
    expect(result.imsRequests.map((request) => [request.path, request.form.client_id])).toEqual([
      ['/ims/token/v3', credentials.integration.clientId],
    ]);
    expect(storedToken()).toMatchObject({
      access_token: local.peer.issued[0],
      client_id: credentials.integration.clientId,
      credentials_type: 'oauth',
    });
  });

  it('needs CREDENTIAL_NAME for a project download with two OAuth credentials, and mints with it', async () => {
    const credentials = generateOAuthCredentials({ shape: 'project', otherCredentials: 1 });
    await start(credentials);

    const unnamed = await run();
    const named = await run({}, { env: { CREDENTIAL_NAME: credentials.integration.name } });

    expect(unnamed.error).toMatchObject({ errorType: 'CredentialsError', code: 'CREDENTIALS_INVALID' });
    expect(unnamed.error?.errorMessage).toContain('credentialName');
    expect(unnamed.error?.errorMessage).toContain(JSON.stringify(credentials.integration.name));
    expect(unnamed.imsRequests).toEqual([]);
    expect(named.result).toMatchObject({ outcome: 'refreshed' });
    expect(named.imsRequests.map((request) => request.form.client_id)).toEqual([credentials.integration.clientId]);
  });

  it('mints from the simple shape with clientSecrets, using the first', async () => {
    const credentials = generateOAuthCredentials({ clientSecrets: 2 });
    expect(JSON.parse(credentials.json)).toHaveProperty('clientSecrets');
    await start(credentials);

    const result = await run();

    expect(result.result).toMatchObject({ outcome: 'refreshed' });
    expect(result.imsRequests.map((request) => request.form.client_secret)).toEqual([
      credentials.integration.clientSecrets[0],
    ]);
  });
});

describe('two client secrets', () => {
  it('moves to the second secret when IMS refuses the first, and names the refused one by index only', async () => {
    const credentials = generateOAuthCredentials({ clientSecrets: 2 });
    const [first, second] = credentials.integration.clientSecrets;
    await start(credentials);
    local.peer.register({ ...credentials.integration, clientSecrets: [second] }); // the first one deleted in the console

    const result = await run();

    expect(result.result).toMatchObject({ outcome: 'refreshed' });
    expect(result.imsRequests.map((request) => request.form.client_secret)).toEqual([first, second]);
    expect(storedToken().access_token).toBe(local.peer.issued[0]);
    expect(logRecord(result, 'client secret rejected')).toMatchObject({ level: 'WARN', rejectedClientSecrets: [0] });
    expect(result.logs).not.toContain(first);
    expect(result.logs).not.toContain(second);
  });
});

describe('a bad upload', () => {
  it.each([
    ['credentials of an integration IMS does not know', () => generateOAuthCredentials().json, 'IMS_REJECTED', 1],
    ['a truncated JSON', () => generateOAuthCredentials().json.slice(0, 40), 'CREDENTIALS_INVALID', 0],
  ] as const)(
    '(%s) keeps the token up from AWSPREVIOUS once it is due, and still fails',
    async (_case, badJson, freshCode, badImsCalls) => {
      const good = generateOAuthCredentials();
      await start(good);
      await run();
      const goodVersion = local.emulator.current(local.credentialsSecretId)!.versionId;
      const badVersion = local.putCredentials(badJson());

      // The token is still fresh: the bad version fails the run at once, and nothing is written.
      const whileFresh = await run();
      expect(whileFresh.error).toMatchObject({ code: freshCode });
      expect(whileFresh.imsRequests).toHaveLength(badImsCalls);
      expect(actions(whileFresh)).not.toContain('PutSecretValue');
      // The second read, before reporting the rejection: was a newer version uploaded meanwhile (superseded)?
      expect(credentialsReads(whileFresh)).toEqual(['AWSCURRENT', 'AWSCURRENT']);

      // The token falls due (issued 20 h ago, 4 h left): the previous version mints, the run still fails.
      const now = Date.now();
      local.emulator.put(
        local.tokenSecretId,
        JSON.stringify({ ...storedToken(), issued_at: isoDate(now - 20 * HOUR), expires_at: isoDate(now + 4 * HOUR) }),
      );
      const due = await run();

      expect(due.error).toMatchObject({ errorType: 'CredentialsError', code: 'CREDENTIALS_INVALID' });
      expect(due.error?.errorMessage).toContain(`"${badVersion}" (AWSCURRENT)`);
      expect(due.error?.errorMessage).toContain(`"${goodVersion}" (AWSPREVIOUS)`);
      expect(logRecord(due, 'refresh failed')).toMatchObject({
        rejectedCredentialsVersionId: badVersion,
        fallbackCredentialsVersionId: goodVersion,
        transient: false,
      });
      expect(due.imsRequests).toHaveLength(badImsCalls + 1);
      expect(due.imsRequests.at(-1)?.form.client_id).toBe(good.integration.clientId);
      expect(credentialsReads(due)).toEqual(['AWSCURRENT', 'AWSPREVIOUS', 'AWSCURRENT']);
      expect(actions(due)).toContain('PutSecretValue');
      expect(storedToken()).toMatchObject({ access_token: local.peer.issued[1], credentials_version_id: goodVersion });

      // The token from the previous version is fresh: the next run fails again but mints nothing.
      const next = await run();
      expect(next.error).toMatchObject({ code: freshCode });
      expect(actions(next)).not.toContain('PutSecretValue');
      expect(local.peer.issued).toHaveLength(2);
    },
  );
});
