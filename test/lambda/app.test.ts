import { beforeAll, describe, expect, it } from 'vitest';
import { createHandler, createLogger, REPORT_RESERVE_MS, type InvocationContext } from '../../lambda/app.js';
import { rememberSecret } from '../../common/redact.js';
import { SecretStoreError } from '../../common/errors.js';
import type { SecretStore } from '../../common/store.js';
import {
  MemoryStore,
  fakeClock,
  json,
  jwtTokenAnswer,
  networkError,
  oauthTokenAnswer,
  scriptedFetch,
  type Answer,
} from '../support/fakes.js';

type FakeClock = ReturnType<typeof fakeClock>;
import { capturedOutput, registerSecret } from '../support/leak-guard.js';
import { generateJwtCredentials, generateOAuthCredentials } from '../sandbox/test-credentials.js';

const env = {
  CREDENTIALS_SECRET_ID: 'creds',
  TOKEN_SECRET_ID: 'token',
  POWERTOOLS_METRICS_NAMESPACE: 'ImsTokenRefresher',
  POWERTOOLS_SERVICE_NAME: 'aem-prod',
};
const context: InvocationContext = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 90_000 };

let credentials: Awaited<ReturnType<typeof generateJwtCredentials>>;
beforeAll(async () => {
  credentials = await generateJwtCredentials({ keyFormat: 'pkcs8', wrapped: true });
});

/** Parses the JSON lines a run wrote to stdout (Powertools logs and EMF metrics). */
function linesSince(mark: number): Record<string, any>[] {
  return capturedOutput()
    .slice(mark)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

function setup(
  answer: Answer | Answer[] = jwtTokenAnswer('app-test-access-token-1'),
  options: { store?: SecretStore; clock?: FakeClock } = {},
) {
  const memory = new MemoryStore();
  memory.put('creds', credentials.json);
  const clock = options.clock ?? fakeClock();
  const fetch = scriptedFetch(...[answer].flat());
  const handler = createHandler({
    env,
    store: options.store ?? memory,
    fetch,
    now: clock.now,
    sleep: clock.sleep,
    random: () => 1,
    logger: createLogger({ serviceName: 'aem-prod' }),
  });
  return { store: memory, clock, fetch, handler };
}

describe('createHandler', () => {
  it('fails at start with a ConfigurationError naming the missing variable', () => {
    expect(() => createHandler({ env: { TOKEN_SECRET_ID: 't' } })).toThrow(
      'environment variable CREDENTIALS_SECRET_ID is required',
    );
  });

  it('returns a summary without secrets, logs one JSON line and publishes the two expiry metrics', async () => {
    const { handler, clock } = setup();
    const mark = capturedOutput().length;
    const summary = await handler({ scheduledTime: '2026-11-22T12:00:00Z' }, context);
    const certificateExpiresAt = new Date(credentials.integration.certificateExpiresAt).toISOString();
    expect(summary).toEqual({
      outcome: 'refreshed',
      reason: 'no-token',
      expiresAt: '2026-11-23T11:59:59.999Z',
      issuedAt: '2026-11-22T12:00:00.000Z',
      credentialsVersionId: 'v1',
      credentialsExpiresAt: certificateExpiresAt,
    });

    const lines = linesSince(mark);
    const log = lines.find((line) => line.message === 'token refreshed');
    expect(log).toMatchObject({
      level: 'INFO',
      service: 'aem-prod',
      outcome: 'refreshed',
      imsAttempts: 1,
      credentialsExpiresAt: certificateExpiresAt,
    });
    const emf = lines.find((line) => line._aws);
    expect(emf!._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'ImsTokenRefresher', Dimensions: [['service']] });
    const expected = (credentials.integration.certificateExpiresAt - Date.parse('2026-11-22T12:00:00Z')) / 1000;
    // Only what an alarm reads: every other custom metric would cost $0.30 a month per token.
    expect(emf!._aws.CloudWatchMetrics[0].Metrics.map((metric: { Name: string }) => metric.Name).sort()).toEqual([
      'CredentialsSecondsToExpiry',
      'TokenSecondsToExpiry',
    ]);
    expect(emf!._aws.CloudWatchMetrics[0].Metrics.every((metric: { Unit: string }) => metric.Unit === 'Seconds')).toBe(
      true,
    );
    expect(emf!._aws.Timestamp).toBe(clock.now());
    expect(emf).toMatchObject({
      service: 'aem-prod',
      TokenSecondsToExpiry: 86_399,
      CredentialsSecondsToExpiry: expected,
    });
    expect(JSON.stringify(lines)).not.toContain('app-test-access-token-1');
  });

  it('publishes no metric on a run that finds the token fresh: a skip has nothing to tell an alarm', async () => {
    const { handler } = setup();
    await handler({}, context);
    const mark = capturedOutput().length;
    await expect(handler({}, { ...context, awsRequestId: 'req-2' })).resolves.toMatchObject({
      outcome: 'skipped',
      reason: 'fresh',
    });
    const lines = linesSince(mark);
    expect(lines.find((line) => line.message === 'token kept')).toMatchObject({
      outcome: 'skipped',
      secondsToExpiry: 86_399,
    });
    expect(lines.filter((line) => line._aws)).toEqual([]);
  });

  it('forces a refresh with {"force": true} and rejects a malformed force flag', async () => {
    const { handler, fetch } = setup();
    await handler({}, context);
    await expect(handler({ force: true }, { ...context, awsRequestId: 'req-2' })).resolves.toMatchObject({
      reason: 'forced',
    });
    expect(fetch.requests).toHaveLength(2);
    await expect(handler({ force: 'yes' }, context)).rejects.toThrow('event field "force" must be true or false');
  });

  it("throws the typed error after reporting a permanent failure and its metrics (the function's Errors alarm)", async () => {
    const { handler, store } = setup(
      json(400, { error: 'invalid_scope', error_description: 'bad scope' }, { 'x-debug-id': 'd-1' }),
    );
    const mark = capturedOutput().length;
    await expect(handler({}, context)).rejects.toMatchObject({ name: 'ImsError', code: 'IMS_REJECTED' });
    const lines = linesSince(mark);
    expect(lines.find((line) => line.message === 'refresh failed')).toMatchObject({
      level: 'ERROR',
      errorCode: 'IMS_REJECTED',
      imsError: 'invalid_scope',
      imsDebugId: 'd-1',
      transient: false,
      secondsToExpiry: 0,
    });
    expect(lines.find((line) => line._aws)).toMatchObject({ TokenSecondsToExpiry: 0 });
    expect(store.count('write')).toBe(0);
  });

  it('publishes no time to expiry when the token secret cannot be read, so the expiry alarm stays quiet', async () => {
    const throttled = new SecretStoreError(
      'SECRET_READ_FAILED',
      'could not read secret "token"',
      new Error('throttled'),
    );
    const unreadable: SecretStore = {
      read: () => Promise.reject(throttled),
      stage: () => Promise.reject(new Error('unused')),
      promote: () => Promise.reject(new Error('unused')),
    };
    const { handler } = setup(undefined, { store: unreadable });
    const mark = capturedOutput().length;
    await expect(handler({}, context)).resolves.toMatchObject({ outcome: 'failed', errorCode: 'SECRET_READ_FAILED' });
    const lines = linesSince(mark);
    expect(lines.find((line) => line.message === 'refresh failed')).toMatchObject({ outcome: 'failedTransient' });
    expect(lines.filter((line) => line._aws)).toEqual([]);
  });

  it('stops retrying in time for the function timeout the Lambda context reports', async () => {
    // Each attempt times out after 10 s. With 30 s left, minus the 15 s kept for the write, one
    // attempt fits and a second would not; the default 90 s context allows all four.
    const clock = fakeClock();
    const timeout = networkError('TimeoutError', 'aborted');
    const { handler, fetch } = setup(
      (sent) => {
        clock.advance(10_000);
        return timeout(sent);
      },
      { clock },
    );
    const shortContext = { awsRequestId: 'req-9', getRemainingTimeInMillis: () => 30_000 };
    await expect(handler({}, shortContext)).resolves.toMatchObject({ outcome: 'failed', errorCode: 'IMS_UNAVAILABLE' });
    expect(fetch.requests).toHaveLength(1);
  });

  it('returns a transient failure instead of throwing: the next run retries, and Errors stays for what a person must fix', async () => {
    const { handler } = setup(json(503, {}));
    const mark = capturedOutput().length;
    await expect(handler({}, context)).resolves.toMatchObject({
      outcome: 'failed',
      expiresAt: undefined,
      errorCode: 'IMS_UNAVAILABLE',
      errorMessage: 'IMS unavailable at /ims/exchange/jwt: HTTP 503',
    });
    const lines = linesSince(mark);
    expect(lines.find((line) => line.message === 'refresh failed')).toMatchObject({
      outcome: 'failedTransient',
      imsAttempts: 4,
      transient: true,
    });
    // The token's time to expiry (here: none) still reaches the expiry alarm.
    expect(lines.find((line) => line._aws)).toMatchObject({ TokenSecondsToExpiry: 0 });
  });

  it('logs nothing secret: no private key, client secret, JWT or access token', async () => {
    const { handler, fetch } = setup();
    registerSecret(credentials.integration.clientSecrets[0], credentials.privateKeyPem.split('\n')[1]);
    const mark = capturedOutput().length;
    await handler({ force: true }, context);
    const output = capturedOutput().slice(mark);
    expect(output).toContain('token refreshed'); // the capture works
    for (const secret of [
      credentials.integration.clientSecrets[0],
      credentials.privateKeyPem.split('\n')[1],
      fetch.requests[0].form.get('jwt_token')!,
      'app-test-access-token-1',
    ]) {
      expect(output).not.toContain(secret);
    }
  });

  it('logs every string through the redaction boundary, whoever calls the logger', () => {
    const secret = `p8e-${'k'.repeat(8)}-app-logger-secret`;
    registerSecret(secret);
    rememberSecret(secret);
    const mark = capturedOutput().length;
    createLogger({ serviceName: 'aem-prod' }).warn(`careless ${secret}\r\nforged`, { nested: { value: secret } });
    const line = linesSince(mark).find((entry) => entry.level === 'WARN');
    expect(line).toMatchObject({ message: 'careless [redacted]  forged', nested: { value: '[redacted]' } });
  });

  it('keeps what an echoing IMS sends back out of the log line, the metrics and the thrown error', async () => {
    const echo: Answer = (sent) =>
      json(
        400,
        { error: sent.form.get('client_secret'), error_description: String(sent.form) },
        { 'x-debug-id': sent.form.get('client_secret')! },
      )(sent);
    const { handler, fetch } = setup(echo);
    const mark = capturedOutput().length;
    const error = (await handler({}, context).catch((thrown: Error) => thrown)) as Error;
    const output =
      capturedOutput().slice(mark) + JSON.stringify({ ...error, message: error.message, stack: error.stack });
    expect(linesSince(mark).find((line) => line.message === 'refresh failed')).toMatchObject({
      imsError: '[redacted]',
      imsDebugId: '[redacted]',
    });
    for (const secret of [credentials.integration.clientSecrets[0], fetch.requests[0].form.get('jwt_token')!]) {
      expect(output).not.toContain(secret);
    }
  });

  it('reports a hung Secrets Manager call before the function timeout: one outcome line and the metrics', async () => {
    const never = () => new Promise<never>(() => {});
    const hung: SecretStore = { read: never, stage: never, promote: never };
    const { handler } = setup(undefined, { store: hung });
    // The run's signal fires when only the reporting reserve is left: here, at once.
    const lastSeconds = { awsRequestId: 'req-hang', getRemainingTimeInMillis: () => REPORT_RESERVE_MS };
    const mark = capturedOutput().length;
    await expect(handler({}, lastSeconds)).resolves.toMatchObject({
      outcome: 'failed',
      errorCode: 'SECRET_READ_FAILED',
    });
    const lines = linesSince(mark);
    expect(lines.filter((line) => line.message === 'refresh failed')).toMatchObject([
      { outcome: 'failedTransient', transient: true },
    ]);
  });

  it('names refused client secrets by index only, once a later one worked', async () => {
    const oauth = generateOAuthCredentials({ clientSecrets: 2 });
    const { handler, store } = setup([json(401, { error: 'invalid_client' }), oauthTokenAnswer()]);
    store.put('creds', oauth.json);
    const mark = capturedOutput().length;
    await handler({}, context);
    const warning = linesSince(mark).find((line) => line.message === 'client secret rejected');
    expect(warning).toMatchObject({ level: 'WARN', rejectedClientSecrets: [0] });
    for (const secret of oauth.integration.clientSecrets) expect(capturedOutput().slice(mark)).not.toContain(secret);
  });

  it('names the rejected and the fallback credentials versions when the token came from AWSPREVIOUS', async () => {
    const { handler, store } = setup();
    store.put('creds', '{"integration": {"org": "oops"}}');
    const mark = capturedOutput().length;
    await expect(handler({}, context)).rejects.toMatchObject({
      code: 'CREDENTIALS_INVALID',
      message: expect.stringContaining('(AWSPREVIOUS)'),
    });
    expect(linesSince(mark).find((line) => line.message === 'refresh failed')).toMatchObject({
      rejectedCredentialsVersionId: 'v2',
      fallbackCredentialsVersionId: 'v1',
      credentialsVersionId: 'v2',
    });
    expect(linesSince(mark).find((line) => line._aws)).toMatchObject({ TokenSecondsToExpiry: 86_399 });
  });

  it('ends a run superseded by a new upload without an error, logging both credentials versions', async () => {
    let store!: MemoryStore;
    const uploadThenRefuse: Answer = (request) => {
      if (!store.previous('creds')) store.put('creds', credentials.json); // a rotation lands while IMS refuses the old secret
      return json(401, { error: 'invalid_client' })(request);
    };
    const run = setup(uploadThenRefuse);
    store = run.store;
    const mark = capturedOutput().length;
    await expect(run.handler({}, context)).resolves.toMatchObject({ outcome: 'superseded' });
    expect(linesSince(mark).filter((line) => line.level === 'ERROR')).toEqual([]);
    expect(linesSince(mark).find((line) => line.message === 'run superseded')).toMatchObject({
      level: 'INFO',
      outcome: 'superseded',
      credentialsVersionId: 'v1',
      supersededByCredentialsVersionId: 'v2',
      rejectedWith: 'IMS_REJECTED',
    });
  });

  it('names the previous version and its error code when it could not mint either', async () => {
    const { handler, store } = setup(json(400, { error: 'invalid_client' }));
    store.put('creds', generateOAuthCredentials().json);
    const mark = capturedOutput().length;
    await expect(handler({}, context)).rejects.toMatchObject({ code: 'IMS_REJECTED' });
    expect(linesSince(mark).find((line) => line.message === 'refresh failed')).toMatchObject({
      credentialsVersionId: 'v2',
      fallbackCredentialsVersionId: 'v1',
      fallbackErrorCode: 'IMS_REJECTED',
    });
  });

  it('does not let a junk access token blank words of its own log line (only valid tokens are remembered)', async () => {
    const { handler } = setup(
      json(200, { access_token: 'refresh failed', token_type: 'bearer', expires_in: 86_399_999 }),
    );
    const mark = capturedOutput().length;
    await expect(handler({}, context)).rejects.toMatchObject({ code: 'IMS_RESPONSE_INVALID' });
    expect(linesSince(mark).filter((line) => line.message === 'refresh failed')).toHaveLength(1);
  });
});
