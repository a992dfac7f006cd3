import { beforeAll, describe, expect, it } from 'vitest';
import type { RefreshSettings } from '../../lambda/config.js';
import { runRefresh, type RunResult } from '../../lambda/refresh.js';
import { parseTokenRecord } from '../../common/token.js';
import { MemoryStore, fakeClock, fakeDeps, jwtTokenAnswer, type Answer } from '../support/fakes.js';
import { generateJwtCredentials } from '../sandbox/test-credentials.js';

/**
 * Two runs of one token's refresher at once, as happens without reserved concurrency (e.g. the
 * schedule and a forced run, or a duplicate delivery). Both read the secret before either writes;
 * the IMS answers are released in a chosen order, each after the previous run has finished.
 */
const settings: RefreshSettings = {
  credentialsSecretId: 'adobe/credentials',
  tokenSecretId: 'adobe/token',
  refreshThreshold: 0.5,
};
const HOUR = 3_600_000;

let jwt: Awaited<ReturnType<typeof generateJwtCredentials>>;
beforeAll(async () => {
  jwt = await generateJwtCredentials({});
});

/**
 * An IMS endpoint for one run: it answers with `answer` only when released. Each run gets its own,
 * so the order of release is the test's choice, whatever order the requests arrive in.
 */
function heldIms(answer: Answer) {
  let arrive!: () => void;
  let release!: () => void;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const fetch = (async (_url: unknown, init?: RequestInit) => {
    arrive();
    await released;
    return answer({ url: '', form: new URLSearchParams(init?.body as URLSearchParams), signal: undefined });
  }) as typeof globalThis.fetch;
  return { fetch, arrived, release };
}

/** Runs two refreshes at once; IMS answers the first request, that run finishes, then the second. */
async function twoRuns(
  answers: [Answer, Answer],
  keys: [string, string],
  options: { readonly initialToken?: boolean; force?: [boolean, boolean] } = {},
) {
  const store = new MemoryStore();
  store.put(settings.credentialsSecretId, jwt.json);
  const clock = fakeClock();
  if (options.initialToken) {
    // A token due for renewal: 10 h of its 24 h left.
    const issued = clock.now() - 14 * HOUR;
    store.put(
      settings.tokenSecretId,
      JSON.stringify({
        access_token: 'old-access-token',
        token_type: 'bearer',
        issued_at: new Date(issued).toISOString(),
        expires_at: new Date(issued + 24 * HOUR).toISOString(),
        credentials_version_id: 'v1',
      }),
    );
  }
  const ims = answers.map(heldIms);
  const start = (index: 0 | 1) =>
    runRefresh(
      settings,
      { force: options.force?.[index] ?? false, requestKey: keys[index], deadline: clock.now() + 75_000 },
      fakeDeps(store, ims[index].fetch, clock),
    );
  const first = start(0);
  const second = start(1);
  await Promise.all(ims.map((held) => held.arrived)); // both runs have read the token secret and are waiting on IMS
  ims[0].release();
  const firstResult = await first;
  ims[1].release();
  const results: [RunResult, RunResult] = [firstResult, await second];
  const current = parseTokenRecord(store.current(settings.tokenSecretId)!.value);
  return { store, results, current, written: store.count('write', settings.tokenSecretId) };
}

describe('two runs at once (reservedConcurrency off)', () => {
  it.each([
    [
      'the schedule and the credentials-changed rule (different request keys)',
      ['schedule:2026-11-22T12:00:00Z', 'invocation:r-1'],
    ],
    [
      'a duplicate delivery of one scheduled event (same request key)',
      ['schedule:2026-11-22T12:00:00Z', 'schedule:2026-11-22T12:00:00Z'],
    ],
  ] as const)('%s: one write, both runs succeed and report the same token', async (_case, keys) => {
    const { results, current, written } = await twoRuns(
      [jwtTokenAnswer('concurrent-token-a'), jwtTokenAnswer('concurrent-token-b')],
      [...keys],
    );
    expect(results.map((result) => result.outcome)).toEqual(['refreshed', 'skipped']);
    // The re-check before writing found the first run's token, as long-lived as its own.
    expect(results[1].reason).toBe('newer-token-stored');
    expect(written).toBe(1);
    expect(current.access_token).toBe('concurrent-token-a');
    expect(results[1].token?.access_token).toBe('concurrent-token-a');
  });

  it('never replaces a longer-lived token with a shorter one, whichever run writes last', async () => {
    const long = jwtTokenAnswer('long-lived-token', 86_399_999);
    const short = jwtTokenAnswer('short-lived-token', 3 * HOUR);
    const shortLast = await twoRuns([long, short], ['schedule:a', 'invocation:b'], { initialToken: true });
    expect(shortLast.current.access_token).toBe('long-lived-token');
    expect(shortLast.results[1]).toMatchObject({ outcome: 'skipped', reason: 'newer-token-stored' });
    const longLast = await twoRuns([short, long], ['schedule:a', 'invocation:b'], { initialToken: true });
    expect(longLast.current.access_token).toBe('long-lived-token');
    expect(longLast.results.map((result) => result.outcome)).toEqual(['refreshed', 'refreshed']);
  });

  it("lets a forced run and a scheduled one overlap: the forced run's token stands, nothing fails", async () => {
    const { results, current, written } = await twoRuns(
      [jwtTokenAnswer('forced-token'), jwtTokenAnswer('scheduled-token')],
      ['invocation:forced', 'schedule:b'],
      { initialToken: true, force: [true, false] },
    );
    expect(results.every((result) => result.outcome !== 'failed')).toBe(true);
    expect(written).toBe(1);
    expect(current.access_token).toBe('forced-token');
  });
});
