import type { Fetch } from '../../lambda/ims.js';
import type { RefreshDeps } from '../../lambda/refresh.js';
import {
  PENDING_STAGE,
  type ReadOptions,
  type SecretStore,
  type SecretVersion,
  type StageOptions,
} from '../../common/store.js';
import { registerSecret } from './leak-guard.js';

interface StoredVersion {
  /** None on the version `beginRotation` labels AWSPENDING until the rotation function's `stage` fills it. */
  value: string | undefined;
  readonly versionId: string;
  /** Staging labels: each is on one version of a secret at a time. */
  readonly stages: Set<string>;
}

/**
 * An in-memory `SecretStore` with Secrets Manager's versions, staging labels and ClientRequestToken
 * rules, and the rotation's as the emulator (test/sandbox/secrets-manager-emulator.ts) has them:
 * `RotateSecret`'s empty AWSPENDING version, moving AWSCURRENT takes AWSPENDING off the version it
 * reaches, and a label removed by `UpdateSecretVersionStage`.
 */
export class MemoryStore implements SecretStore {
  readonly calls: { op: 'read' | 'write' | 'promote'; secretId: string; versionStage?: string }[] = [];
  private readonly versions = new Map<string, StoredVersion[]>();
  private counter = 0;
  /** Makes the next write (`stage`) fail (the adapter wraps SDK errors, so tests pass a `SecretStoreError`). */
  failNextWrite: Error | undefined;

  /** Puts a value as an admin would (a new AWSCURRENT version). Returns the version id. */
  put(secretId: string, value: string): string {
    const version = this.add(secretId, `v${++this.counter}`, value);
    this.moveCurrent(secretId, version);
    return version.versionId;
  }

  current(secretId: string): SecretVersion | undefined {
    return this.labelled(secretId, 'AWSCURRENT');
  }

  /** The version AWSCURRENT was on before (Secrets Manager's AWSPREVIOUS). */
  previous(secretId: string): SecretVersion | undefined {
    return this.labelled(secretId, 'AWSPREVIOUS');
  }

  /** The secret's full ARN; the store answers to it as to the name, as Secrets Manager does. */
  arn(secretId: string): string {
    return secretId.startsWith('arn:')
      ? secretId
      : `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secretId}-AbCdEf`;
  }

  versionCount(secretId: string): number {
    return this.history(secretId).length;
  }

  count(op: 'read' | 'write' | 'promote', secretId?: string): number {
    return this.calls.filter((call) => call.op === op && (secretId === undefined || call.secretId === secretId)).length;
  }

  async read(secretId: string, options: ReadOptions = {}): Promise<SecretVersion | undefined> {
    this.calls.push({ op: 'read', secretId, ...(options.versionStage ? { versionStage: options.versionStage } : {}) });
    if (options.versionId !== undefined) {
      const version = this.history(secretId).find((v) => v.versionId === options.versionId);
      // As Secrets Manager: both given, the version must hold the label.
      if (options.versionStage !== undefined && !version?.stages.has(options.versionStage)) return undefined;
      return version && this.asSecretVersion(secretId, version);
    }
    return this.labelled(secretId, options.versionStage ?? 'AWSCURRENT');
  }

  async stage(
    secretId: string,
    value: string,
    versionId: string,
    options: StageOptions = {},
  ): Promise<{ duplicate: boolean }> {
    const label = options.label ?? PENDING_STAGE;
    this.calls.push({ op: 'write', secretId });
    if (this.failNextWrite) {
      const error = this.failNextWrite;
      this.failNextWrite = undefined;
      throw error;
    }
    const same = this.history(secretId).find((version) => version.versionId === versionId);
    if (same?.value === undefined && same) {
      // The empty version RotateSecret labelled AWSPENDING: the rotation function's value fills it.
      same.value = value;
      this.moveLabel(secretId, label, same);
    }
    if (same) return { duplicate: same.value !== value };
    const first = this.history(secretId).length === 0;
    const version = this.add(secretId, versionId, value);
    this.moveLabel(secretId, label, version);
    if (first) version.stages.add('AWSCURRENT');
    return { duplicate: false };
  }

  /**
   * `RotateSecret`: labels a new empty version `token` AWSPENDING; refused (`false`), as AWS does,
   * while AWSPENDING is on a version that is not AWSCURRENT ("A previous rotation isn't complete").
   */
  beginRotation(secretId: string, token: string): boolean {
    const pending = this.history(secretId).find((v) => v.stages.has('AWSPENDING'));
    if (pending && !pending.stages.has('AWSCURRENT')) return false;
    this.moveLabel(secretId, 'AWSPENDING', this.add(secretId, token, undefined));
    return true;
  }

  /** `UpdateSecretVersionStage` with `RemoveFromVersionId` only: takes `label` off `versionId`. */
  removeLabel(secretId: string, label: string, versionId: string): void {
    this.history(secretId)
      .find((v) => v.versionId === versionId)
      ?.stages.delete(label);
  }

  /** As Secrets Manager: refused unless `expectedCurrent` names the version AWSCURRENT is on (none: on no version). */
  async promote(secretId: string, versionId: string, expectedCurrent: string | undefined): Promise<boolean> {
    this.calls.push({ op: 'promote', secretId });
    const holder = this.history(secretId).find((v) => v.stages.has('AWSCURRENT'));
    const version = this.history(secretId).find((v) => v.versionId === versionId);
    if (holder?.versionId !== expectedCurrent || !version) return false;
    this.moveCurrent(secretId, version);
    return true;
  }

  private add(secretId: string, versionId: string, value: string | undefined): StoredVersion {
    const version: StoredVersion = { value, versionId, stages: new Set<string>() };
    this.history(secretId).push(version);
    return version;
  }

  /** AWSCURRENT to `version`; the version it leaves becomes AWSPREVIOUS, and `version` loses AWSPENDING. */
  private moveCurrent(secretId: string, version: StoredVersion): void {
    for (const other of this.history(secretId)) {
      other.stages.delete('AWSPREVIOUS');
      if (other.stages.delete('AWSCURRENT')) other.stages.add('AWSPREVIOUS');
    }
    version.stages.delete('AWSPENDING');
    version.stages.add('AWSCURRENT');
  }

  /** `label` to `version` alone. */
  private moveLabel(secretId: string, label: string, version: StoredVersion): void {
    for (const other of this.history(secretId)) other.stages.delete(label);
    version.stages.add(label);
  }

  private labelled(secretId: string, stage: string): SecretVersion | undefined {
    const version = this.history(secretId).find((v) => v.stages.has(stage));
    return version && this.asSecretVersion(secretId, version);
  }

  /** As GetSecretValue: a version without a value (yet) is not found. */
  private asSecretVersion(secretId: string, version: StoredVersion): SecretVersion | undefined {
    if (version.value === undefined) return undefined;
    return { value: version.value, versionId: version.versionId, arn: this.arn(secretId), stages: [...version.stages] };
  }

  private history(secretId: string): StoredVersion[] {
    const name = secretId.replace(/^arn:.*:secret:(.*)-\w{6}$/, '$1');
    let list = this.versions.get(name);
    if (!list) this.versions.set(name, (list = []));
    return list;
  }
}

export interface RecordedRequest {
  readonly url: string;
  readonly form: URLSearchParams;
  readonly signal: AbortSignal | undefined;
}

/** A scripted answer: a response factory, or an error to throw (a network failure). */
export type Answer = (request: RecordedRequest) => Response | Promise<Response>;

/** A fake fetch that answers from a script (the last answer repeats) and records every request. */
export function scriptedFetch(...answers: Answer[]): Fetch & { requests: RecordedRequest[] } {
  const requests: RecordedRequest[] = [];
  const fake = async (input: unknown, init?: RequestInit) => {
    const request = {
      url: String(input),
      form: new URLSearchParams(init?.body as URLSearchParams),
      signal: init?.signal ?? undefined,
    };
    requests.push(request);
    registerSecret(request.form.get('client_secret') ?? undefined, request.form.get('jwt_token') ?? undefined);
    const answer = answers.length > 1 ? answers.shift()! : answers[0];
    return answer(request);
  };
  return Object.assign(fake as Fetch, { requests });
}

export const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Answer =>
  () =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

export const raw =
  (status: number, body: string, headers: Record<string, string> = {}): Answer =>
  () =>
    new Response(body, { status, headers });

export const networkError =
  (name = 'TypeError', message = 'fetch failed'): Answer =>
  () => {
    const error = new Error(message);
    error.name = name;
    throw error;
  };

/** The JWT exchange's success: `expires_in` in milliseconds. */
export const jwtTokenAnswer = (accessToken = 'access-token-from-ims', expiresInMs = 86_399_999) => {
  registerSecret(accessToken);
  return json(200, { token_type: 'bearer', access_token: accessToken, expires_in: expiresInMs });
};

/** OAuth Server-to-Server success: `expires_in` in seconds. */
export const oauthTokenAnswer = (accessToken = 'oauth-access-token', expiresInSeconds = 86_399) => {
  registerSecret(accessToken);
  return json(200, { access_token: accessToken, token_type: 'bearer', expires_in: expiresInSeconds });
};

/** A controllable clock and a sleeper that advances it instead of waiting. */
export function fakeClock(start = Date.parse('2026-11-22T12:00:00Z')) {
  const clock = {
    time: start,
    sleeps: [] as number[],
    now: () => clock.time,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.time += ms;
    },
    advance: (ms: number) => {
      clock.time += ms;
    },
  };
  return clock;
}

/** Core dependencies wired to fakes; jitter fixed at its maximum so delays are predictable. */
export function fakeDeps(store: MemoryStore, fetch: Fetch, clock = fakeClock()): RefreshDeps {
  return { store, fetch, now: clock.now, sleep: clock.sleep, random: () => 1 };
}
