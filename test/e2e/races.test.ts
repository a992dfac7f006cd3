/**
 * Races between two runs of the bundled function, each in its own Node process, against the
 * Secrets Manager emulator and the IMS test peer. The order of events is set by holding single
 * calls at the emulator or the peer until the test releases them; nothing waits on wall-clock time.
 * Each test reproduces one way an older or worse token used to win (issue 22).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseTokenRecord, type TokenRecord } from '../../common/token.js';
import { logRecords, synthesizedFunction, type SynthesizedFunction } from '../sandbox/bundle.js';
import { JWT_EXPIRES_IN_MS } from '../sandbox/ims-peer.js';
import { LocalRefresher, type Run } from '../sandbox/local-refresher.js';
import { countSecrets } from '../sandbox/secret-registry.js';
import { generateJwtCredentials, generateOAuthCredentials } from '../sandbox/test-credentials.js';

let fn: SynthesizedFunction;
let local: LocalRefresher;

beforeAll(() => {
  fn = synthesizedFunction();
});
afterEach(() => local?.close());

function storedToken(): TokenRecord {
  return parseTokenRecord(local.emulator.current(local.tokenSecretId)!.value);
}

/** A run's result; its output must hold no secret. */
async function finished(run: Promise<Run>): Promise<Run> {
  const result = await run;
  expect(countSecrets(result.logs), 'secrets in the function output').toBe(0);
  return result;
}

/** Starts a run and resolves once its IMS request has arrived and is held there. */
async function startHeldAtIms(): Promise<{ run: Promise<Run>; release: () => void }> {
  const hold = local.peer.hold();
  const run = local.invoke();
  await hold.arrived;
  return { run, release: () => hold.release() };
}

describe('two runs of the bundled function at once', () => {
  it('a slow run with superseded credentials does not overwrite the token of the new version, though it lives longer', async () => {
    const credentials = await generateJwtCredentials({});
    local = await LocalRefresher.start(fn, credentials);
    const slow = await startHeldAtIms(); // read credentials v1, then held at IMS (a 503 and a retry, in the issue)
    const v2 = local.putCredentials(credentials.json); // the upload, and the run its rule starts
    const upload = await finished(local.invoke({ reason: 'credentials-changed' }));
    expect(upload.result).toMatchObject({ outcome: 'refreshed', credentialsVersionId: v2 });

    local.peer.fail({ token: { expires_in: JWT_EXPIRES_IN_MS + 1_300 } }); // the slow run's token lives 1.3 s longer
    slow.release();
    const late = await finished(slow.run);

    expect(late.result).toMatchObject({ outcome: 'skipped', reason: 'newer-token-stored' });
    expect(storedToken()).toMatchObject({ access_token: local.peer.issued[0], credentials_version_id: v2 });
  });

  it('a shorter-lived token written last does not replace a longer-lived one (the write is a compare-and-swap)', async () => {
    local = await LocalRefresher.start(fn, await generateJwtCredentials({}));
    const first = await startHeldAtIms();
    const second = await startHeldAtIms(); // both runs have read the token secret
    const secondWrite = local.emulator.hold('PutSecretValue', local.tokenSecretId);

    local.peer.fail({ token: { expires_in: 2 * 3_600_000 } }); // the second run gets a 2-hour token
    second.release();
    await secondWrite.arrived; // its write is under way, after its last read of the token secret
    first.release(); // the first run gets a 24-hour token and stores it
    const long = await finished(first.run);
    expect(long.result).toMatchObject({ outcome: 'refreshed' });
    secondWrite.release();
    const short = await finished(second.run);

    expect(short.result).toMatchObject({ outcome: 'skipped', reason: 'newer-token-stored' });
    expect(storedToken().access_token).toBe(local.peer.issued[1]);
    expect(Date.parse(storedToken().expires_at) - Date.parse(storedToken().issued_at)).toBe(JWT_EXPIRES_IN_MS);
  });

  it('a run whose client secret was rotated and revoked while it ran ends superseded, not as a page', async () => {
    const oauth = generateOAuthCredentials({});
    local = await LocalRefresher.start(fn, oauth);
    const inFlight = await startHeldAtIms(); // with version 1's client secret
    const v1 = local.emulator.current(local.credentialsSecretId)!.versionId;

    const rotated = randomBytes(16).toString('hex');
    local.peer.register({ ...oauth.integration, clientSecrets: [rotated] }); // the old secret is revoked
    const v2 = local.putCredentials(oauth.json.replace(oauth.integration.clientSecrets[0], rotated));
    const upload = await finished(local.invoke({ reason: 'credentials-changed' }));
    expect(upload.result).toMatchObject({ outcome: 'refreshed', credentialsVersionId: v2 });

    inFlight.release(); // IMS answers 401 invalid_client
    const stale = await finished(inFlight.run);

    expect(stale.error).toBeUndefined(); // Lambda's Errors metric, the permanent-failure alarm, stays at 0
    expect(stale.result).toMatchObject({ outcome: 'superseded' });
    expect(logRecords(stale.logs).find((line) => line.message === 'run superseded')).toMatchObject({
      credentialsVersionId: v1,
      supersededByCredentialsVersionId: v2,
      rejectedWith: 'IMS_REJECTED',
    });
    expect(storedToken().credentials_version_id).toBe(v2);
  });
});
