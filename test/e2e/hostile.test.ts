/**
 * End-to-end against hostile peers: the bundle `cdk synth` left in cdk.out, run as Lambda runs it,
 * against an IMS peer that echoes secrets, answers junk tokens, redirects or floods, and a Secrets
 * Manager emulator that hangs, has lost a secret or holds it as binary. Every run must end with
 * its typed error (or recover), report exactly once, write nothing it should not, and leak nothing.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_ANSWER_BYTES } from '../../lambda/ims.js';
import { RETRY } from '../../lambda/retry.js';
import { STORE_TIMEOUTS } from '../../common/secrets-manager-store.js';
import { parseTokenRecord } from '../../common/token.js';
import { logRecords, synthesizedFunction, type SynthesizedFunction } from '../sandbox/bundle.js';
import { FORGED_LOG_LINE, type Fault } from '../sandbox/ims-peer.js';
import { LocalRefresher, SECRET_NAMES, type Run, type RunOptions } from '../sandbox/local-refresher.js';
import type { EmulatorFault } from '../sandbox/secrets-manager-emulator.js';
import { countSecrets } from '../sandbox/secret-registry.js';
import { generateJwtCredentials } from '../sandbox/test-credentials.js';

type Credentials = Awaited<ReturnType<typeof generateJwtCredentials>>;

/** A run that passed the checks every hostile run must pass, with its one outcome log line. */
interface CheckedRun extends Run {
  readonly outcome: Record<string, unknown>;
}

const OUTCOME_MESSAGES = ['refresh failed', 'token refreshed', 'token kept'];

let fn: SynthesizedFunction;
let credentials: Credentials;
let local: LocalRefresher;

beforeAll(async () => {
  fn = synthesizedFunction();
  // One integration for the file (key generation is the slow part); each test gets fresh doubles.
  credentials = await generateJwtCredentials({});
});
beforeEach(async () => {
  local = await LocalRefresher.start(fn, credentials);
});
afterEach(() => local.close());

/** One invocation: no registered secret in its output or its error, and exactly one outcome log line. */
async function run(event: unknown = {}, options: RunOptions = {}): Promise<CheckedRun> {
  const result = await local.invoke(event, options);
  expect(countSecrets(result.logs), 'secrets in the function output').toBe(0);
  expect(countSecrets(JSON.stringify(result.error ?? null)), 'secrets in the error').toBe(0);
  const outcomes = logRecords(result.logs).filter((record) => OUTCOME_MESSAGES.includes(String(record.message)));
  expect(outcomes, 'outcome log lines').toHaveLength(1);
  return { ...result, outcome: outcomes[0] };
}

/**
 * The run failed with this typed error and logged it as its outcome, having called IMS `imsCalls`
 * times: thrown when permanent (Lambda counts an error), returned in the summary when transient.
 */
function expectFailure(
  result: CheckedRun,
  expected: {
    readonly errorType: string;
    readonly code: string;
    readonly transient: boolean;
    readonly imsCalls: number;
  },
): void {
  if (expected.transient) {
    expect(result.error).toBeUndefined();
    expect(result.result).toMatchObject({ outcome: 'failed', errorCode: expected.code });
  } else {
    expect(result.error).toMatchObject({ errorType: expected.errorType, code: expected.code });
  }
  expect(result.outcome).toMatchObject({
    message: 'refresh failed',
    errorName: expected.errorType,
    errorCode: expected.code,
    transient: expected.transient,
  });
  expect(result.imsRequests).toHaveLength(expected.imsCalls);
}

const tokenSecret = () => local.emulator.current(local.tokenSecretId);
const actions = (result: Run) => result.secretsManagerCalls.map((call) => call.action);

/** No write was sent, and the token secret's current version is still `before`. */
function expectNoWrite(result: Run, before: ReturnType<typeof tokenSecret>): void {
  expect(actions(result)).not.toContain('PutSecretValue');
  expect(tokenSecret()).toEqual(before);
}

describe('the synthesized refresher against a hostile IMS', () => {
  it('keeps an answer that echoes the request out of its error and logs: IMS_REJECTED after one call', async () => {
    local.peer.fail('echo');
    const before = tokenSecret();

    const result = await run();

    expectFailure(result, { errorType: 'ImsError', code: 'IMS_REJECTED', transient: false, imsCalls: 1 });
    expect(result.error?.errorMessage).toMatch(/^IMS rejected the request at \/ims\/exchange\/jwt: HTTP 400 /);
    expect(result.error?.errorMessage).not.toMatch(/[\r\n]/);
    expect(JSON.stringify(result.outcome)).not.toMatch(/\\[rn]/);
    expect(result.logs.split('\n')).not.toContain(FORGED_LOG_LINE);
    expectNoWrite(result, before);
  });

  it.each<[string, Record<string, unknown>]>([
    ['an access_token with CR/LF', { access_token: `${randomBytes(48).toString('base64url')}\r\nX-Injected: yes` }],
    ['a whitespace-only access_token', { access_token: ' \t ' }],
    ['expires_in 86399 from the JWT exchange (seconds where it sends milliseconds)', { expires_in: 86_399 }],
    ['token_type "mac"', { token_type: 'mac' }],
  ])('refuses %s with IMS_RESPONSE_INVALID and keeps the token stored before', async (_case, fields) => {
    await run();
    const before = tokenSecret();
    local.peer.fail({ token: fields });

    const result = await run({ force: true });

    expectFailure(result, { errorType: 'ImsError', code: 'IMS_RESPONSE_INVALID', transient: false, imsCalls: 1 });
    expectNoWrite(result, before);
    expect(parseTokenRecord(tokenSecret()!.value).access_token).toBe(local.peer.issued[0]);
  });

  it('does not follow a 302 (as a wrong endpoint answers every time): IMS_REJECTED after exactly one IMS call', async () => {
    local.peer.fail(...Array<Fault>(RETRY.maxAttempts).fill({ redirect: 302 }));
    const before = tokenSecret();

    const result = await run();

    expectFailure(result, { errorType: 'ImsError', code: 'IMS_REJECTED', transient: false, imsCalls: 1 });
    expect(result.error?.errorMessage).toContain('redirect (HTTP 302)');
    expectNoWrite(result, before);
  });

  it('stops reading a ~1 MB answer: IMS_RESPONSE_INVALID, nothing written', async () => {
    local.peer.fail('huge');
    const before = tokenSecret();

    const result = await run();

    expectFailure(result, { errorType: 'ImsError', code: 'IMS_RESPONSE_INVALID', transient: false, imsCalls: 1 });
    expect(result.error?.errorMessage).toContain(`larger than ${MAX_ANSWER_BYTES} bytes`);
    expectNoWrite(result, before);
  });
});

describe('the synthesized refresher against a hanging or faulty Secrets Manager', () => {
  it.each<[string, EmulatorFault]>([
    ['no headers (request timeout)', 'hang'],
    ['headers, then a body that stalls (socket timeout)', 'stall'],
  ])('ends a GetSecretValue hung with %s, retries it and refreshes', { timeout: 25_000 }, async (_case, fault) => {
    local.emulator.fault('GetSecretValue', fault);

    const result = await run({}, { timeoutSeconds: 20 });

    expect(result.result).toMatchObject({ outcome: 'refreshed' });
    expect(result.outcome.message).toBe('token refreshed');
    expect(result.secretsManagerCalls.slice(0, 2)).toEqual([
      { action: 'GetSecretValue', secretId: local.tokenSecretId },
      { action: 'GetSecretValue', secretId: local.tokenSecretId },
    ]);
    expect(result.measured.invokeMs).toBeGreaterThanOrEqual(STORE_TIMEOUTS.requestTimeoutMs);
    expect(parseTokenRecord(tokenSecret()!.value).access_token).toBe(local.peer.issued[0]);
  });

  it(
    'reports a PutSecretValue hung on every attempt as transient TOKEN_WRITE_FAILED before the timeout',
    { timeout: 20_000 },
    async () => {
      const timeoutSeconds = 12;
      local.emulator.fault('PutSecretValue', ...Array<EmulatorFault>(STORE_TIMEOUTS.maxAttempts).fill('hang'));
      const before = tokenSecret();

      const result = await run({}, { timeoutSeconds });

      expectFailure(result, {
        errorType: 'SecretStoreError',
        code: 'TOKEN_WRITE_FAILED',
        transient: true,
        imsCalls: 1,
      });
      expect(logRecords(result.logs)).toContainEqual(
        expect.objectContaining({ _aws: expect.anything(), TokenSecondsToExpiry: expect.any(Number) }),
      );
      expect(result.measured.invokeMs).toBeLessThan(timeoutSeconds * 1000);
      expect(tokenSecret()).toEqual(before);
    },
  );

  it.each([
    ['issued_at after expires_at (a negative lifetime is never due)', 3 * 3_600_000, 3_600_000],
    ['expires_at a year ahead (would block renewal for a year)', -3_600_000, 365 * 24 * 3_600_000],
  ])('does not trust a stored record with %s: it mints a new token over it', async (_case, issuedIn, expiresIn) => {
    await run();
    const record = parseTokenRecord(tokenSecret()!.value);
    const now = Date.now();
    const planted = {
      ...record,
      issued_at: new Date(now + issuedIn).toISOString(),
      expires_at: new Date(now + expiresIn).toISOString(),
    };
    local.emulator.put(local.tokenSecretId, JSON.stringify(planted));

    const result = await run();

    expect(result.result).toMatchObject({ outcome: 'refreshed', reason: 'no-token' });
    expect(parseTokenRecord(tokenSecret()!.value).access_token).toBe(local.peer.issued[1]);
  });

  it('fails with a permanent SECRET_READ_FAILED for a deleted token secret, before any IMS call', async () => {
    local.emulator.delete(local.tokenSecretId);

    const result = await run();

    expectFailure(result, { errorType: 'SecretStoreError', code: 'SECRET_READ_FAILED', transient: false, imsCalls: 0 });
    expect(result.error?.errorMessage).toContain('does not exist');
    expect(actions(result)).toEqual(['GetSecretValue', 'DescribeSecret']);
  });

  it('fails with a permanent SECRET_READ_FAILED naming SecretBinary for binary credentials, before any IMS call', async () => {
    local.emulator.putBinary(local.credentialsSecretId, Buffer.from(credentials.json));
    const before = tokenSecret();

    const result = await run();

    expectFailure(result, { errorType: 'SecretStoreError', code: 'SECRET_READ_FAILED', transient: false, imsCalls: 0 });
    expect(result.error?.errorMessage).toContain('SecretBinary');
    expectNoWrite(result, before);
  });

  it('refuses one secret named by ARN and by name as both secrets: CONFIG_INVALID, credentials untouched', async () => {
    const before = local.emulator.current(local.credentialsSecretId);

    const result = await run(
      {},
      { env: { CREDENTIALS_SECRET_ID: local.credentialsSecretId, TOKEN_SECRET_ID: SECRET_NAMES.credentials } },
    );

    expectFailure(result, { errorType: 'ConfigurationError', code: 'CONFIG_INVALID', transient: false, imsCalls: 0 });
    expect(actions(result)).not.toContain('PutSecretValue');
    expect(local.emulator.current(local.credentialsSecretId)).toEqual(before);
  });
});
