import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseCredentials, type OAuthCredentials } from '../../common/credentials.js';
import { AdobeApiError } from '../../common/errors.js';
import { DEFAULT_REFRESH_THRESHOLD } from '../../common/rules.js';
import { parseTokenRecord } from '../../common/token.js';
import type { AdobeConsole, AdobeSession } from '../../lambda/adobe-console.js';
import type { RefreshSettings } from '../../lambda/config.js';
import { exchange, type Fetch } from '../../lambda/ims.js';
import { runRefresh, type RunResult } from '../../lambda/refresh.js';
import { RETRY } from '../../lambda/retry.js';
import {
  parseRotationEvent,
  runRotation,
  type RotationDeps,
  type RotationSettings,
  type StepReport,
} from '../../lambda/rotation.js';
import { CredentialRegistry, MAX_CLIENT_SECRETS, type ClientSecret } from '../sandbox/io-management-api.js';
import { registerSecret } from '../sandbox/secret-registry.js';
import {
  ROTATION_STEPS,
  runSteps,
  type RotationFunction,
  type RotationStep,
} from '../sandbox/secrets-manager-rotation.js';
import { MemoryStore, fakeClock, json } from '../support/fakes.js';
import { TokenReader } from '../support/token-secret.js';

/**
 * 90 simulated days of client secret rotation (issue 24): the real refresh core on its default
 * schedule (hourly) and the real rotation core driven as Secrets Manager drives it, every 30 days
 * (the four steps in order, stopping at the first failure; a failed rotation attempted again an
 * hour later with the same ClientRequestToken), the 6-hourly grace check, and the
 * credentials-change rule (a refresher run after each write to the credentials secret). Adobe is
 * in memory: the IMS peer's registry of client secrets (test/sandbox/io-management-api.ts) behind
 * IMS's token endpoint and the I/O Management API's calls, with Adobe's limits. Faults: a crash
 * after each step once, and a rotation whose new secret IMS rejects (it fails, Secrets Manager's
 * attempts with the same token fail too, the operator takes AWSPENDING off as AWS's
 * CancelRotateSecret documentation says, and the next rotation deletes the orphan). A reader
 * samples the token every minute.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DAYS = 90;
const RETIRE_AFTER = 24 * HOUR;
const CLIENT_ID = 'soak-rotation-client';
const settings: RefreshSettings = {
  credentialsSecretId: 'creds',
  tokenSecretId: 'token',
  refreshThreshold: DEFAULT_REFRESH_THRESHOLD,
};
const rotationSettings: RotationSettings = {
  tokenSecretId: settings.tokenSecretId,
  orgId: '23294',
  credentialId: 'soak-credential',
  retireAfterMs: RETIRE_AFTER,
};

/** Who deleted a secret at Adobe, when, and when it was last active (`last_used_at`, else `created_at`). */
interface Deletion {
  readonly uuid: string;
  readonly by: RotationStep | 'retireCheck';
  readonly at: number;
  readonly lastActive: number;
}

/**
 * Adobe in memory: the peer's `CredentialRegistry` holds the credential's client secrets; IMS's
 * token endpoint (a `fetch`) mints with any secret the credential holds (moving its
 * `last_used_at`) unless it is `refused`; the I/O Management API lists (no plaintext), creates (the
 * plaintext only in this answer; a third secret refused) and deletes, for a bearer token IMS issued
 * to the credential's client, unexpired. `afterCall` runs after every call.
 */
class Adobe {
  readonly registry = new CredentialRegistry();
  /** Secrets the credential holds but IMS rejects (`invalid_client`), and their uuids. */
  readonly refused = new Set<string>();
  readonly refusedUuids: string[] = [];
  readonly counts = { minted: 0, created: 0, deleted: 0, refusedCreates: 0, maxSecrets: 0 };
  readonly deletions: Deletion[] = [];
  /** The next secret created is one IMS rejects. */
  refuseNextCreated = false;
  /** Which step calls now (for `deletions`). */
  caller: Deletion['by'] = 'retireCheck';
  private readonly tokens = new Map<string, { clientId: string; expiresAt: number }>();

  constructor(
    private readonly now: () => number,
    private readonly afterCall: () => void,
  ) {}

  secrets(): ClientSecret[] {
    return this.registry.get(CLIENT_ID)!.secrets;
  }

  readonly fetch: Fetch = async (_url, init) => {
    try {
      const form = new URLSearchParams((init as { body?: URLSearchParams }).body);
      const [clientId, secret] = [form.get('client_id') ?? '', form.get('client_secret') ?? ''];
      if (!this.registry.holds(clientId, secret) || this.refused.has(secret)) {
        return json(401, { error: 'invalid_client' })({} as never);
      }
      this.registry.used(clientId, secret, this.now());
      const token = `soak-token-${++this.counts.minted}-${randomUUID()}`;
      registerSecret(token);
      this.tokens.set(token, { clientId, expiresAt: this.now() + 86_399_000 });
      return json(200, { token_type: 'bearer', access_token: token, expires_in: 86_399 })({} as never);
    } finally {
      this.afterCall();
    }
  };

  readonly console = (session: AdobeSession): AdobeConsole => {
    const call = async <T extends object>(answer: () => T) => {
      try {
        const issued = this.tokens.get(session.accessToken);
        if (!issued || issued.clientId !== session.clientId || issued.expiresAt <= this.now()) {
          throw new AdobeApiError('I/O Management API answered HTTP 401', { status: 401, transient: false });
        }
        return { ...answer(), requestId: randomUUID() };
      } finally {
        this.afterCall();
      }
    };
    return {
      list: () =>
        call(() => ({
          secrets: this.secrets().map(({ uuid, createdAt, lastUsedAt }) => ({ uuid, createdAt, lastUsedAt })),
        })),
      create: () =>
        call(() => {
          if (this.secrets().length >= MAX_CLIENT_SECRETS) {
            this.counts.refusedCreates += 1;
            throw new AdobeApiError('I/O Management API create answered HTTP 400', { status: 400, transient: false });
          }
          const secret: ClientSecret = {
            uuid: randomUUID(),
            plaintext: `p8e-${randomBytes(16).toString('hex')}`,
            createdAt: this.now(),
          };
          registerSecret(secret.plaintext);
          this.secrets().push(secret);
          this.counts.created += 1;
          if (this.refuseNextCreated) {
            this.refused.add(secret.plaintext);
            this.refusedUuids.push(secret.uuid);
          }
          this.refuseNextCreated = false;
          return { secret: secret.plaintext, uuid: secret.uuid };
        }),
      delete: (uuid) =>
        call(() => {
          const index = this.secrets().findIndex((secret) => secret.uuid === uuid);
          if (index < 0)
            throw new AdobeApiError('I/O Management API delete answered HTTP 404', { status: 404, transient: false });
          const [secret] = this.secrets().splice(index, 1);
          this.counts.deleted += 1;
          this.deletions.push({
            uuid,
            by: this.caller,
            at: this.now(),
            lastActive: secret.lastUsedAt ?? secret.createdAt,
          });
          return {};
        }),
    };
  };
}

/** A rotation as scheduled: the crash injected into each attempt (Secrets Manager's retries), and whether IMS rejects its new secret. */
interface ScheduledRotation {
  readonly day: number;
  readonly crashes: readonly (RotationStep | undefined)[];
  readonly rejected?: boolean;
}

describe('90-day soak of client secret rotation', () => {
  it('rotates every 30 days through crashes and a rejected secret: no expired minute, ≤ 2 secrets at Adobe, none that no version holds', async () => {
    // Prepare
    const start = Date.parse('2026-01-01T00:00:00Z');
    const at = (day: number, hour: number, minute = 0) => start + day * DAY + hour * HOUR + minute * MINUTE;
    const clock = fakeClock(start);
    const store = new MemoryStore();
    const checkAdobe = () => (adobe.counts.maxSecrets = Math.max(adobe.counts.maxSecrets, adobe.secrets().length));
    const adobe = new Adobe(clock.now, checkAdobe);
    const first = `p8e-${randomBytes(16).toString('hex')}`;
    registerSecret(first);
    adobe.registry.register(CLIENT_ID, [first], start - 100 * DAY, rotationSettings);
    // As uploaded by hand: no uuids yet, so the first rotation finds the one in use at Adobe.
    store.put(
      settings.credentialsSecretId,
      JSON.stringify({
        clientId: CLIENT_ID,
        clientSecrets: [first],
        scopes: 'openid,AdobeID,read_client_secret,manage_client_secrets',
      }),
    );

    const runs: RunResult[] = [];
    const refresh = async (requestKey: string) => {
      const deps = { store, fetch: adobe.fetch, now: clock.now, sleep: clock.sleep, random: () => 0.5 };
      runs.push(await runRefresh(settings, { force: false, requestKey, deadline: clock.now() + 75_000 }, deps));
    };
    const credentialsEvents = () =>
      store.count('write', settings.credentialsSecretId) + store.count('promote', settings.credentialsSecretId);
    const rotationDeps: RotationDeps = {
      store,
      now: clock.now,
      adobe: adobe.console,
      mint: async (credentials, clientSecret) =>
        (
          await exchange(credentials, clientSecret, {
            fetch: adobe.fetch,
            now: clock.now(),
            timeoutMs: RETRY.attemptTimeoutMs,
          })
        ).accessToken,
    };
    const reports: StepReport[] = [];
    // The rotation function as Secrets Manager invokes it; each write to the credentials secret makes the refresher run (the rule).
    const rotationFunction: RotationFunction = async ({ Step, SecretId, ClientRequestToken }) => {
      adobe.caller = Step;
      const events = credentialsEvents();
      const { report, error } = await runRotation(
        rotationSettings,
        parseRotationEvent({ Step, SecretId, ClientRequestToken }),
        rotationDeps,
      );
      reports.push(report);
      if (credentialsEvents() !== events) await refresh(`credentials-changed:${Step}:${clock.now()}`);
      if (error) throw error;
    };

    /** The uuids of the secrets each labelled version holds (by plaintext: a hand upload has no uuids). */
    const held = async () => {
      const plaintexts = new Set<string>();
      for (const versionStage of ['AWSCURRENT', 'AWSPREVIOUS', 'AWSPENDING'] as const) {
        const version = await store.read(settings.credentialsSecretId, { versionStage });
        if (version)
          for (const secret of (parseCredentials(version.value) as OAuthCredentials).clientSecrets)
            plaintexts.add(secret);
      }
      return plaintexts;
    };
    const orphans = async () => {
      const holding = await held();
      return adobe
        .secrets()
        .filter((secret) => !holding.has(secret.plaintext))
        .map((secret) => secret.uuid);
    };
    const currentCredentials = () =>
      parseCredentials(store.current(settings.credentialsSecretId)!.value) as OAuthCredentials;

    // Rotation 1 (a first rotation: no uuids stored) crashes after createSecret, then after testSecret;
    // rotation 2 after setSecret, then after finishSecret; rotation 3's new secret is rejected by IMS.
    const schedule: ScheduledRotation[] = [
      { day: 10, crashes: ['createSecret', 'testSecret'] },
      { day: 40, crashes: ['setSecret', 'finishSecret'] },
      { day: 70, crashes: [], rejected: true },
    ];
    const SM_ATTEMPTS = 3; // the first and two more, an hour apart
    const agenda: { at: number; run: () => Promise<void> }[] = [];
    const stats = {
      started: 0,
      retries: 0,
      completed: 0,
      failedAttempts: 0,
      orphansAfterRotation: [] as string[],
      /** Completed rotations after which the token was not yet minted with the new version's first secret. */
      staleTokens: 0,
      /** Failed attempts of the rejected rotation after which AWSCURRENT was not where it was before. */
      currentMoved: 0,
    };
    /** Per completed rotation: its version, and the previous working secret (the second uuid) it replaced. */
    const completed: { versionId: string; old: string; finishedAt: number }[] = [];

    const attempt = async (rotation: ScheduledRotation, token: string, number: number): Promise<void> => {
      const crash = rotation.crashes[number - 1];
      const before = store.current(settings.credentialsSecretId)!.versionId;
      const outcome = await runSteps(
        rotationFunction,
        { SecretId: settings.credentialsSecretId, ClientRequestToken: token },
        ROTATION_STEPS,
        new Set(crash ? [crash] : []),
      );
      if (outcome.done) {
        stats.completed += 1;
        const current = currentCredentials();
        completed.push({ versionId: token, old: current.clientSecretUuids![1], finishedAt: clock.now() });
        const minted = parseTokenRecord(store.current(settings.tokenSecretId)!.value);
        if (minted.credentials_version_id !== token || minted.client_secret_uuid !== current.clientSecretUuids![0]) {
          stats.staleTokens += 1;
        }
        stats.orphansAfterRotation.push(...(await orphans()));
        return;
      }
      stats.failedAttempts += 1;
      if (rotation.rejected && store.current(settings.credentialsSecretId)!.versionId !== before)
        stats.currentMoved += 1;
      if (number < SM_ATTEMPTS) {
        agenda.push({
          at: clock.now() + HOUR,
          run: () => ((stats.retries += 1), attempt(rotation, token, number + 1)),
        });
        return;
      }
      // Secrets Manager keeps reattempting this version; the runbook: take AWSPENDING off it
      // (UpdateSecretVersionStage, an event for the rule) and rotate now.
      agenda.push({
        at: clock.now() + HOUR,
        run: async () => {
          store.removeLabel(settings.credentialsSecretId, 'AWSPENDING', token);
          await refresh(`credentials-changed:unlabel:${clock.now()}`);
          await begin({ ...rotation, rejected: false });
        },
      });
    };
    const begin = async (rotation: ScheduledRotation) => {
      const token = randomUUID();
      expect(store.beginRotation(settings.credentialsSecretId, token), 'RotateSecret accepted').toBe(true);
      stats.started += 1;
      await refresh(`credentials-changed:RotateSecret:${clock.now()}`);
      adobe.refuseNextCreated = rotation.rejected === true;
      await attempt(rotation, token, 1);
    };
    for (const rotation of schedule) agenda.push({ at: at(rotation.day, 9, 17), run: () => begin(rotation) });
    const retireCheck = async () => {
      adobe.caller = 'retireCheck';
      const { report, error } = await runRotation(
        rotationSettings,
        parseRotationEvent({ retireCheck: true, secretId: settings.credentialsSecretId }),
        rotationDeps,
      );
      reports.push(report);
      if (error) throw error;
    };

    // Act: minute by minute.
    const reader = new TokenReader(store, settings.tokenSecretId);
    for (let minute = 0; minute < DAYS * 24 * 60; minute += 1) {
      const now = start + minute * MINUTE;
      if (clock.now() < now) clock.time = now;
      for (
        let due = agenda.findIndex((entry) => entry.at <= now);
        due >= 0;
        due = agenda.findIndex((entry) => entry.at <= now)
      ) {
        await agenda.splice(due, 1)[0].run();
      }
      if (minute % 360 === 30) await retireCheck();
      if (minute % 60 === 0) await refresh(`schedule:${new Date(now).toISOString()}`);
      reader.sample(clock.now());
    }

    // Assess
    const finalOrphans = await orphans();
    const last = parseTokenRecord(store.current(settings.tokenSecretId)!.value);
    const current = currentCredentials();
    const failedRuns = runs.filter((run) => run.outcome === 'failed');
    const retired = adobe.deletions.filter((deletion) => deletion.by === 'retireCheck');
    console.log(
      `rotation soak: ${DAYS} days, ${stats.completed} rotations (${stats.started} started, ${stats.retries} retries, ` +
        `${stats.failedAttempts} failed attempts), secrets created ${adobe.counts.created} / deleted ${adobe.counts.deleted} ` +
        `(${retired.length} by retireCheck), at most ${adobe.counts.maxSecrets} at Adobe, ${adobe.counts.minted} tokens minted, ` +
        `${runs.length} refresher runs (${failedRuns.length} failed), ${reader.expiredMinutes} expired minutes, ` +
        `min time left ${(reader.minSecondsLeft / 3600).toFixed(2)} h`,
    );

    // The reader never saw an expired token, and no refresher run failed.
    expect(reader.missingMinutes).toBe(0);
    expect(reader.expiredMinutes).toBe(0);
    expect(failedRuns.map((run) => run.error?.code)).toEqual([]);
    // Adobe's limit: never more than two, and no create ever refused (room was always made first).
    expect(adobe.counts.maxSecrets).toBeLessThanOrEqual(MAX_CLIENT_SECRETS);
    expect(adobe.counts.refusedCreates).toBe(0);
    // Three rotations, each through its faults: 2 + 2 crashes, 3 rejected attempts, then a fresh one.
    expect(stats).toMatchObject({ completed: 3, started: 4, retries: 6, failedAttempts: 7 });
    // The credentials-change rule: each rotation's last step left a token minted with the new secret.
    expect(stats.staleTokens).toBe(0);
    // No secret at Adobe that no version holds, after every completed rotation and at the end.
    expect(stats.orphansAfterRotation).toEqual([]);
    expect(finalOrphans).toEqual([]);
    // The refresher ends minting with the newest secret, of the current version.
    expect(last.credentials_version_id).toBe(store.current(settings.credentialsSecretId)!.versionId);
    expect(last.client_secret_uuid).toBe(current.clientSecretUuids![0]);
    expect(adobe.secrets().map((secret) => secret.uuid)).toEqual([current.clientSecretUuids![0]]);
    // Each rotation's old secret was deleted: by retireCheck once unused for retireAfter (within one
    // 6-hourly check of that), or by the next rotation's createSecret.
    for (const rotation of completed) {
      const deletion = adobe.deletions.find((d) => d.uuid === rotation.old);
      expect(['retireCheck', 'createSecret'], `old secret of ${rotation.versionId} deleted`).toContain(deletion?.by);
      if (deletion?.by !== 'retireCheck') continue;
      expect(deletion.at - deletion.lastActive).toBeGreaterThanOrEqual(RETIRE_AFTER);
      expect(deletion.at - deletion.lastActive).toBeLessThanOrEqual(RETIRE_AFTER + 6 * HOUR);
    }
    expect(retired).toHaveLength(3);
    // The secret IMS rejected: each attempt failed at testSecret with AWSCURRENT left where it was;
    // the next rotation's createSecret deleted it.
    expect(adobe.refusedUuids).toHaveLength(1);
    expect(reports.filter((r) => r.step === 'testSecret' && r.outcome === 'failed')).toHaveLength(SM_ATTEMPTS);
    expect(stats.currentMoved).toBe(0);
    expect(adobe.deletions.filter((d) => d.by === 'createSecret').map((d) => d.uuid)).toEqual(adobe.refusedUuids);
    expect(adobe.counts).toMatchObject({ created: 4, deleted: 4 });
  });
});
