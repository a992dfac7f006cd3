import { beforeAll, describe, expect, it } from 'vitest';
import type { RefreshSettings } from '../../lambda/config.js';
import { runRefresh, type RunResult } from '../../lambda/refresh.js';
import { parseTokenRecord, type TokenRecord } from '../../common/token.js';
import { SecretStoreError } from '../../common/errors.js';
import { MemoryStore, fakeClock, fakeDeps, json, jwtTokenAnswer, type Answer } from '../support/fakes.js';
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

/** A token the refresher trusts, due for renewal (10 h of its 24 h left), minted from the credentials' current version. */
function putDueToken(store: MemoryStore, now: number): void {
  const issued = now - 14 * HOUR;
  const record: TokenRecord = {
    access_token: 'old-access-token',
    token_type: 'bearer',
    issued_at: new Date(issued).toISOString(),
    expires_at: new Date(issued + 24 * HOUR).toISOString(),
    client_id: jwt.integration.clientId,
    ims_endpoint: 'ims-na1.adobelogin.com',
    credentials_version_id: store.current(settings.credentialsSecretId)!.versionId,
    credentials_type: 'jwt',
  };
  store.put(settings.tokenSecretId, JSON.stringify(record));
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
  if (options.initialToken) putDueToken(store, clock.now());
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
  // What AWSCURRENT left when it last moved: each move pushes the version it leaves to AWSPREVIOUS.
  const previous = store.previous(settings.tokenSecretId);
  return { store, results, current, replaced: previous && parseTokenRecord(previous.value).access_token };
}

describe('two runs at once (reservedConcurrency off)', () => {
  it.each([
    [
      'the schedule and the credentials-changed rule (different request keys)',
      ['schedule:2026-11-22T12:00:00Z', 'invocation:r-1'],
      // Its compare-and-swap failed; the token it found is as long-lived as its own.
      'newer-token-stored',
    ],
    [
      'a duplicate delivery of one scheduled event (same request key)',
      ['schedule:2026-11-22T12:00:00Z', 'schedule:2026-11-22T12:00:00Z'],
      // Its version id was taken by the first delivery's token, which is current.
      'duplicate-delivery',
    ],
  ] as const)('%s: one token stored, both runs succeed and report it', async (_case, keys, reason) => {
    const { results, current, replaced } = await twoRuns(
      [jwtTokenAnswer('concurrent-token-a'), jwtTokenAnswer('concurrent-token-b')],
      [...keys],
    );
    expect(results.map((result) => result.outcome)).toEqual(['refreshed', 'skipped']);
    expect(results[1].reason).toBe(reason);
    expect(replaced).toBeUndefined(); // AWSCURRENT never moved off the first token
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
    const { results, current, replaced } = await twoRuns(
      [jwtTokenAnswer('forced-token'), jwtTokenAnswer('scheduled-token')],
      ['invocation:forced', 'schedule:b'],
      { initialToken: true, force: [true, false] },
    );
    expect(results.every((result) => result.outcome !== 'failed')).toBe(true);
    expect(replaced).toBe('old-access-token'); // AWSCURRENT moved once
    expect(current.access_token).toBe('forced-token');
  });
});

/**
 * Runs that start one by one against a shared store, each held at IMS until the test releases it,
 * so the test can change the store (upload credentials) between a run's read and its write.
 */
function scenario() {
  const store = new MemoryStore();
  const clock = fakeClock();
  const credentialsV1 = store.put(settings.credentialsSecretId, jwt.json);
  putDueToken(store, clock.now());
  const start = (key: string, answer: Answer) => {
    const ims = heldIms(answer);
    const result = runRefresh(
      settings,
      { force: false, requestKey: key, deadline: clock.now() + 75_000 },
      fakeDeps(store, ims.fetch, clock),
    );
    return { ...ims, result };
  };
  const token = () => parseTokenRecord(store.current(settings.tokenSecretId)!.value);
  return { store, clock, credentialsV1, start, token };
}

/** Makes the store's moves fail as a call that timed out would; returns what undoes it. */
function promoteTimesOut(store: MemoryStore): () => void {
  const promote = store.promote.bind(store);
  store.promote = () => Promise.reject(new SecretStoreError('TOKEN_WRITE_FAILED', 'timed out', undefined, true));
  return () => {
    store.promote = promote;
  };
}

describe('compare-and-swap writes: a token from superseded credentials never wins', () => {
  it('a slow run with the old credentials version does not replace the token of the new one, though it lives longer', async () => {
    const { store, start, token } = scenario();
    const slow = start('schedule:b', jwtTokenAnswer('token-from-v1', 86_399_999 + 1_300));
    await slow.arrived; // it read credentials v1 and is waiting at IMS (a 503 and a retry, in the issue)
    const v2 = store.put(settings.credentialsSecretId, jwt.json); // the upload
    const fast = start('invocation:credentials-changed', jwtTokenAnswer('token-from-v2'));
    fast.release();
    await expect(fast.result).resolves.toMatchObject({ outcome: 'refreshed' });
    slow.release();
    await expect(slow.result).resolves.toMatchObject({ outcome: 'skipped', reason: 'newer-token-stored' });
    expect(token()).toMatchObject({ access_token: 'token-from-v2', credentials_version_id: v2 });
  });

  it('a token from the new credentials version replaces a longer-lived one from the old version', async () => {
    const { store, start, token } = scenario();
    const old = start('schedule:b', jwtTokenAnswer('token-from-v1', 86_399_999 + 1_300));
    await old.arrived;
    const v2 = store.put(settings.credentialsSecretId, jwt.json);
    const upload = start('invocation:credentials-changed', jwtTokenAnswer('token-from-v2'));
    await upload.arrived; // both runs read the token secret before either writes
    old.release();
    await expect(old.result).resolves.toMatchObject({ outcome: 'refreshed' });
    upload.release();
    await expect(upload.result).resolves.toMatchObject({ outcome: 'refreshed' });
    expect(token()).toMatchObject({ access_token: 'token-from-v2', credentials_version_id: v2 });
  });

  it.each([
    // Another run stores a token, worse than ours, just before each move.
    [
      'gives up with a transient TOKEN_WRITE_FAILED after three lost compare-and-swaps',
      true,
      'other runs replaced it 3 times',
      3,
    ],
    // Nothing moved: e.g. InvalidParameterException for a version that is gone.
    [
      'does not take a refused move for a lost race when AWSCURRENT has not moved',
      false,
      'Secrets Manager refused to move AWSCURRENT',
      1,
    ],
  ] as const)('%s', async (_name, othersWrite, message, promotes) => {
    const { store, start, clock } = scenario();
    store.promote = async () => {
      store.calls.push({ op: 'promote', secretId: settings.tokenSecretId });
      if (othersWrite) putDueToken(store, clock.now());
      return false;
    };
    const run = start('schedule:a', jwtTokenAnswer());
    run.release();
    const result = await run.result;
    expect(result).toMatchObject({ outcome: 'failed', error: { code: 'TOKEN_WRITE_FAILED', transient: true } });
    expect(result.error?.message).toContain(message);
    expect(store.count('promote')).toBe(promotes);
  });

  it("makes a duplicate delivery's staged token current when the first delivery ended before promoting it", async () => {
    const { store, start, token } = scenario();
    const restorePromote = promoteTimesOut(store);
    const first = start('schedule:same', jwtTokenAnswer('first-delivery-token'));
    first.release();
    await expect(first.result).resolves.toMatchObject({ outcome: 'failed' });
    expect(store.current(settings.tokenSecretId)?.value).toContain('old-access-token'); // staged, not current
    restorePromote();
    const retry = start('schedule:same', jwtTokenAnswer('retry-token'));
    retry.release();
    await expect(retry.result).resolves.toMatchObject({ outcome: 'skipped', reason: 'duplicate-delivery' });
    expect(token().access_token).toBe('first-delivery-token');
  });
  it("never puts back a duplicate delivery's staged token once the credentials changed", async () => {
    const { store, start, token } = scenario();
    const restorePromote = promoteTimesOut(store);
    const first = start('schedule:k', jwtTokenAnswer('token-from-v1'));
    first.release();
    await expect(first.result).resolves.toMatchObject({ outcome: 'failed' }); // staged, never current
    restorePromote();
    store.put(settings.credentialsSecretId, jwt.json); // v2, and its run
    const upload = start('invocation:v2', jwtTokenAnswer('token-from-v2'));
    upload.release();
    await expect(upload.result).resolves.toMatchObject({ outcome: 'refreshed' });
    const v3 = store.put(settings.credentialsSecretId, jwt.json); // v3, with no run of its own (no trail)
    const redelivery = start('schedule:k', jwtTokenAnswer('token-from-v3'));
    redelivery.release();
    await expect(redelivery.result).resolves.toMatchObject({ outcome: 'refreshed' });
    expect(token()).toMatchObject({ access_token: 'token-from-v3', credentials_version_id: v3 });
  });
});

describe('superseded runs end quietly', () => {
  const rejected = json(401, { error: 'invalid_client', error_description: 'revoked' });

  it('ends as superseded, not failed, when IMS refuses credentials that were replaced while the run was in flight', async () => {
    const { store, start, credentialsV1 } = scenario();
    const run = start('schedule:a', rejected);
    await run.arrived;
    const v2 = store.put(settings.credentialsSecretId, jwt.json); // the rotation; the old secret is revoked
    run.release();
    const result = await run.result;
    expect(result).toMatchObject({
      outcome: 'superseded',
      credentialsVersionId: credentialsV1,
      supersededBy: { credentialsVersionId: v2, errorCode: 'IMS_REJECTED' },
    });
    expect(result.error).toBeUndefined();
    expect(store.count('write')).toBe(0);
  });

  it('still fails when the credentials did not change', async () => {
    const { start } = scenario();
    const run = start('schedule:a', rejected);
    run.release();
    const result = await run.result;
    expect(result).toMatchObject({ outcome: 'failed', error: { code: 'IMS_REJECTED' } });
    expect(result.supersededBy).toBeUndefined();
  });

  it('ends as superseded when the fallback to the previous version loses to a newer upload', async () => {
    const { store, start } = scenario();
    store.put(settings.credentialsSecretId, '{"integration": {"org": "oops"}}'); // a bad upload, v2
    const fallback = start('schedule:a', jwtTokenAnswer('token-from-v1')); // mints from AWSPREVIOUS (v1)
    await fallback.arrived;
    const v3 = store.put(settings.credentialsSecretId, jwt.json); // the fix, and its run
    const fixed = start('invocation:v3', jwtTokenAnswer('token-from-v3'));
    fixed.release();
    await expect(fixed.result).resolves.toMatchObject({ outcome: 'refreshed' });
    fallback.release();
    const result = await fallback.result;
    expect(result).toMatchObject({
      outcome: 'superseded',
      supersededBy: { credentialsVersionId: v3, errorCode: 'CREDENTIALS_INVALID' },
    });
    expect(result.error).toBeUndefined();
    expect(parseTokenRecord(store.current(settings.tokenSecretId)!.value).credentials_version_id).toBe(v3);
  });
});
