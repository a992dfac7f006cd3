/**
 * Property-based tests (fast-check): generated IMS answers and generated credentials JSON run
 * through the whole handler (core, redaction, logger, metrics) with fakes. Three invariants hold
 * for every run:
 * 1. nothing is written unless it is a valid token: whatever is stored came from a 2xx answer that
 *    an independent oracle (below, restating the rules) accepts, with that answer's lifetime;
 * 2. no known secret in any output: the client secret, the private key's lines, every JWT sent
 *    and every access token IMS sent appear in no log line, metric, returned summary or thrown error;
 * 3. every run ends with exactly one outcome line.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHandler, createLogger } from '../../lambda/app.js';
import { parseTokenRecord } from '../../common/token.js';
import { MemoryStore, fakeClock, scriptedFetch, type Answer, type RecordedRequest } from '../support/fakes.js';
import { generateJwtCredentials, generateOAuthCredentials } from '../sandbox/test-credentials.js';

const RUNS = { answers: 400, credentials: 250 } as const;
const OUTCOME_LINES = new Set(['token refreshed', 'token kept', 'refresh failed']);
const HOUR = 3_600_000;

/** Text with the request's secrets spliced in where a hostile peer would echo them. */
const PLACEHOLDERS = ['{client_secret}', '{jwt}', '{form}'] as const;
const echoText = fc
  .array(
    fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom(...PLACEHOLDERS, '\r\n', '\u0000', '\u2028', '{"level":"INFO"}'),
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(''));
const fill = (text: string, sent: RecordedRequest) =>
  text
    .replaceAll('{client_secret}', sent.form.get('client_secret') ?? '')
    .replaceAll('{jwt}', sent.form.get('jwt_token') ?? '')
    .replaceAll('{form}', sent.form.toString());

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const absent = fc.constant(undefined);

const header = (text: fc.Arbitrary<string>) => text.map((value) => value.replace(/[^\x20-\x7e]/g, ''));
const tokenFields = {
  access_token: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._~+/-]{8,40}=?$/), echoText, fc.integer(), absent),
  token_type: fc.oneof(fc.constantFrom('bearer', 'Bearer', 'BEARER', 'mac', ''), fc.string({ maxLength: 8 }), absent),
  expires_in: fc.oneof(
    fc.constantFrom(86_399_999, 86_399, 3_599_999, 3_600_000, 604_800_000, 604_800_001),
    fc.integer(),
    fc.double(),
    fc.string({ maxLength: 5 }),
    absent,
  ),
};

/** One generated IMS answer: status, headers and a body that is JSON or not; a quarter of them near-valid successes. */
const answerArbitrary = fc.record({
  status: fc.oneof(
    fc.constantFrom(200, 201, 301, 302, 400, 401, 403, 404, 429, 500, 502, 503),
    fc.integer({ min: 200, max: 599 }),
  ),
  debugId: fc.option(header(echoText), { nil: undefined }),
  retryAfter: fc.option(fc.oneof(fc.nat({ max: 60 }).map(String), header(fc.string({ maxLength: 10 }))), {
    nil: undefined,
  }),
  body: fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        ...tokenFields,
        error: fc.option(echoText, { nil: undefined }),
        error_description: fc.option(echoText, { nil: undefined }),
      }),
    },
    { weight: 1, arbitrary: echoText },
  ),
});
const nearValidSuccess = fc.record({
  status: fc.constantFrom(200, 201),
  debugId: fc.option(header(echoText), { nil: undefined }),
  retryAfter: absent,
  body: fc.record({
    access_token: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._~+/-]{8,40}=?$/), tokenFields.access_token),
    token_type: fc.oneof(fc.constant('bearer'), tokenFields.token_type),
    expires_in: fc.oneof(fc.integer({ min: HOUR - 10, max: 7 * 24 * HOUR + 10 }), tokenFields.expires_in),
    error: absent,
    error_description: absent,
  }),
});
const answersArbitrary = fc.array(
  fc.oneof({ weight: 3, arbitrary: answerArbitrary }, { weight: 1, arbitrary: nearValidSuccess }),
  {
    minLength: 1,
    maxLength: 4,
  },
);
type GeneratedAnswer = typeof answerArbitrary extends fc.Arbitrary<infer T> ? T : never;

function toResponse(answer: GeneratedAnswer): Answer {
  return (sent) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (answer.debugId !== undefined) headers['x-debug-id'] = fill(answer.debugId, sent);
    if (answer.retryAfter !== undefined) headers['retry-after'] = answer.retryAfter;
    const body =
      typeof answer.body === 'string'
        ? fill(answer.body, sent)
        : JSON.stringify(answer.body, (_key, value) => (typeof value === 'string' ? fill(value, sent) : value));
    return new Response(body, { status: answer.status, headers });
  };
}

/** The oracle for invariant 1, written apart from the code: what a 2xx answer must be to become a token (JWT flow: ms). */
function acceptedLifetimeMs(answer: GeneratedAnswer): number | undefined {
  if (answer.status < 200 || answer.status > 299 || typeof answer.body === 'string') return undefined;
  const { access_token: token, token_type: type, expires_in: expiresIn } = answer.body;
  const tokenOk = typeof token === 'string' && token.trim() !== '' && token.length <= 8_192 && B64TOKEN.test(token);
  const typeOk = typeof type === 'string' && type.toLowerCase() === 'bearer';
  const lifetimeOk = typeof expiresIn === 'number' && expiresIn >= HOUR && expiresIn <= 7 * 24 * HOUR;
  return tokenOk && typeOk && lifetimeOk ? expiresIn : undefined;
}

/** Runs the handler once with everything it writes to stdout/stderr captured (and kept off the console). */
async function runQuietly(options: { credentialsJson: string; answers: Answer[] }) {
  const store = new MemoryStore();
  store.put('creds', options.credentialsJson);
  const clock = fakeClock();
  const fetch = scriptedFetch(...options.answers);
  let output = '';
  const writes = [process.stdout, process.stderr].map((stream) => [stream, stream.write] as const);
  for (const [stream] of writes) stream.write = (chunk: unknown) => ((output += String(chunk)), true);
  let reported: unknown;
  try {
    const handler = createHandler({
      env: { CREDENTIALS_SECRET_ID: 'creds', TOKEN_SECRET_ID: 'token' },
      store,
      fetch,
      now: clock.now,
      sleep: clock.sleep,
      random: () => 1,
      logger: createLogger({ serviceName: 'properties' }),
    });
    reported = await handler({ force: true }, { awsRequestId: 'req', getRemainingTimeInMillis: () => 90_000 }).catch(
      (error: Error) => ({
        ...error,
        message: error.message,
        stack: error.stack,
      }),
    );
  } finally {
    for (const [stream, write] of writes) stream.write = write;
  }
  return { store, fetch, everything: `${output}\n${JSON.stringify(reported)}`, output };
}

/** Invariants 2 and 3 (1 is specific to each property). */
function assertQuietAndOneOutcome(run: Awaited<ReturnType<typeof runQuietly>>, secrets: readonly string[]) {
  const sent = run.fetch.requests.flatMap((request) => [
    request.form.get('client_secret') ?? '',
    request.form.get('jwt_token') ?? '',
  ]);
  for (const secret of [...secrets, ...sent].filter((value) => value.length >= 8)) {
    expect(run.everything.includes(secret), 'a known secret appeared in the output').toBe(false);
  }
  const outcomes = run.output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .filter((line) => OUTCOME_LINES.has(JSON.parse(line).message));
  expect(outcomes).toHaveLength(1);
}

let jwt: Awaited<ReturnType<typeof generateJwtCredentials>>;
let keyLines: string[];
beforeAll(async () => {
  jwt = await generateJwtCredentials({ keyFormat: 'pkcs1-crlf', wrapped: true });
  keyLines = (JSON.parse(jwt.json).integration.privateKey as string)
    .split('\r\n')
    .filter((line) => !line.startsWith('-----'));
});

describe('properties of a run', () => {
  it(`holds for generated IMS answers (${RUNS.answers} runs of 1-4 answers)`, async () => {
    const seen = { written: 0, echoed: 0 };
    await fc.assert(
      fc.asyncProperty(answersArbitrary, async (answers) => {
        const run = await runQuietly({ credentialsJson: jwt.json, answers: answers.map(toResponse) });

        // 1. Written only if it is what a valid answer said.
        const written = run.store.current('token');
        if (run.output.includes('[redacted]')) seen.echoed += 1;
        if (written) {
          seen.written += 1;
          const record = parseTokenRecord(written.value);
          // A token the peer filled in with a secret we sent matches no generated token: it must not be stored.
          const source = answers.find(
            (answer) => typeof answer.body !== 'string' && answer.body.access_token === record.access_token,
          );
          expect(source && acceptedLifetimeMs(source)).toBe(
            Date.parse(record.expires_at) - Date.parse(record.issued_at),
          );
        }
        // 2 and 3: every access token IMS sent counts as a secret, valid or not.
        const tokens = answers.flatMap((answer) =>
          typeof answer.body !== 'string' && typeof answer.body.access_token === 'string'
            ? [answer.body.access_token]
            : [],
        );
        assertQuietAndOneOutcome(run, [jwt.integration.clientSecrets[0], ...keyLines, ...tokens]);
      }),
      { numRuns: RUNS.answers },
    );
    // The generators reach both sides: valid tokens that are stored, and echoes that are redacted.
    expect(seen.written).toBeGreaterThan(RUNS.answers / 40);
    expect(seen.echoed).toBeGreaterThan(RUNS.answers / 40);
  });

  /** Paths in either credentials shape whose value a mutation replaces or removes. */
  const paths = [
    [],
    ['integration'],
    ['integration', 'technicalAccount'],
    ['integration', 'technicalAccount', 'clientId'],
    ['integration', 'technicalAccount', 'clientSecret'],
    ['integration', 'org'],
    ['integration', 'id'],
    ['integration', 'imsEndpoint'],
    ['integration', 'metascopes'],
    ['integration', 'privateKey'],
    ['ok'],
    ['clientId'],
    ['clientSecret'],
    ['scopes'],
    ['imsEndpoint'],
  ];
  const mutation = fc.record({
    path: fc.constantFrom(...paths),
    value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), echoText, fc.constant(undefined)),
  });

  it(`holds for generated credentials JSON (${RUNS.credentials} runs)`, async () => {
    const oauth = generateOAuthCredentials({});
    let usable = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        async (useOAuth, mutations) => {
          const document = JSON.parse(useOAuth ? oauth.json : jwt.json);
          let root: unknown = document;
          for (const { path, value } of mutations) root = mutate(root, path, value);
          const credentialsJson = root === undefined ? '' : JSON.stringify(root);
          const answer: Answer = () =>
            Response.json(
              useOAuth
                ? { access_token: 'generated-oauth-token', token_type: 'bearer', expires_in: 86_399 }
                : { access_token: 'generated-jwt-token', token_type: 'bearer', expires_in: 86_399_999 },
            );

          const run = await runQuietly({ credentialsJson, answers: [answer] });

          // 1. A write only after IMS answered, and only the valid token it answered.
          const written = run.store.current('token');
          if (written) {
            usable += 1;
            expect(run.fetch.requests).toHaveLength(1);
            expect(parseTokenRecord(written.value).access_token).toMatch(/^generated-(oauth|jwt)-token$/);
          }
          // 2 and 3: the original secrets and any client secret the mutations put in.
          const secrets = [jwt.integration.clientSecrets[0], oauth.integration.clientSecrets[0], ...keyLines];
          for (const { path, value } of mutations)
            if (path.at(-1) === 'clientSecret' && typeof value === 'string') secrets.push(value.trim());
          assertQuietAndOneOutcome(run, secrets);
        },
      ),
      { numRuns: RUNS.credentials },
    );
    expect(usable).toBeGreaterThan(0); // some mutations leave usable credentials
  });
});

/** `root` with the value at `path` replaced by `value` (removed when `undefined`); a missing parent is left alone. */
function mutate(root: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  let parent = root as Record<string, unknown>;
  for (const key of path.slice(0, -1)) {
    if (typeof parent?.[key] !== 'object' || parent[key] === null) return root;
    parent = parent[key] as Record<string, unknown>;
  }
  if (typeof parent !== 'object' || parent === null) return root;
  if (value === undefined) delete parent[path.at(-1)!];
  else parent[path.at(-1)!] = value;
  return root;
}
