import { describe, expect, it } from 'vitest';
import { adobeConsole, FORBIDDEN_FIX, type AdobeConsole, type AdobeSession } from '../../lambda/adobe-console.js';
import { createRotationHandler } from '../../lambda/rotation-handler.js';
import { parseRotationEvent, runRotation, type RotationDeps, type RotationSettings } from '../../lambda/rotation.js';
import { parseCredentials, type OAuthCredentials } from '../../common/credentials.js';
import { AdobeApiError, ImsError, type RotationStep } from '../../common/errors.js';
import { createLogger } from '../../lambda/app.js';
import { capturedOutput, registerSecret } from '../support/leak-guard.js';
import { MemoryStore, fakeClock } from '../support/fakes.js';
import { generateJwtCredentials } from '../sandbox/test-credentials.js';

const HOUR = 3_600_000;
const CREDENTIALS = 'adobe/credentials';
const TOKEN = 'adobe/token';
const settings: RotationSettings = {
  tokenSecretId: TOKEN,
  orgId: '23294',
  credentialId: 'cred-1',
  retireAfterMs: 24 * HOUR,
};

/**
 * Adobe in memory: the credential's client secrets with the I/O Management API's limits (two at
 * most, plaintext only in the create answer), IMS minting with them (a mint updates
 * `last_used_at`), and the faults the tests need.
 */
class FakeAdobe {
  readonly secrets: { uuid: string; secret: string; createdAt: number; lastUsedAt?: number }[] = [];
  readonly calls: string[] = [];
  /** Mints do not move `last_used_at` (Adobe's usage lagging behind). */
  usageLags = false;
  /** Secrets IMS refuses although Adobe lists them. */
  readonly refused = new Set<string>();
  /** The next create commits at Adobe, then the connection drops. */
  dropNextCreate = false;
  /** Create answers leave out the new secret's uuid (the spec does not promise it). */
  omitUuid = false;
  /** The next list shows the secrets as they were before the last delete (a list lagging behind). */
  lagNextList = false;
  private beforeDelete: { uuid: string; createdAt: number; lastUsedAt?: number }[] = [];
  private counter = 0;

  constructor(private readonly clock: { now(): number }) {}

  /** A secret as the Developer Console adds it; returns its plaintext. */
  add(options: { used?: boolean } = {}): string {
    const secret = `p8e-secret-${++this.counter}-${'x'.repeat(24)}`;
    registerSecret(secret);
    this.secrets.push({
      uuid: `uuid-${this.counter}`,
      secret,
      createdAt: this.clock.now() - 1000 + this.counter,
      ...(options.used ? { lastUsedAt: this.clock.now() - 1000 } : {}),
    });
    return secret;
  }

  uuidOf(secret: string): string {
    return this.secrets.find((entry) => entry.secret === secret)!.uuid;
  }

  readonly mint = async (_credentials: OAuthCredentials, clientSecret: string): Promise<string> => {
    this.calls.push('mint');
    const entry = this.secrets.find((candidate) => candidate.secret === clientSecret);
    if (!entry || this.refused.has(clientSecret)) {
      throw new ImsError('IMS_REJECTED', 'IMS rejected the request at /ims/token/v3: HTTP 401 invalid_client', {
        status: 401,
        imsError: 'invalid_client',
        debugId: 'dbg-401',
      });
    }
    if (!this.usageLags) entry.lastUsedAt = this.clock.now();
    const token = `access-token-for-${entry.uuid}-${'t'.repeat(20)}`;
    registerSecret(token);
    return token;
  };

  readonly console = (session: AdobeSession): AdobeConsole => {
    const answered = (call: string) => {
      this.calls.push(call);
      return { requestId: `req-${this.calls.length}` };
    };
    if (!session.accessToken.startsWith('access-token-for-')) throw new Error('not a token this Adobe minted');
    return {
      list: async () => {
        const shown = this.lagNextList ? this.beforeDelete : this.secrets;
        this.lagNextList = false;
        return {
          ...answered('list'),
          secrets: shown.map(({ uuid, createdAt, lastUsedAt }) => ({ uuid, createdAt, lastUsedAt })),
        };
      },
      create: async () => {
        if (this.secrets.length >= 2) {
          throw new AdobeApiError('I/O Management API create answered HTTP 400', { status: 400, transient: false });
        }
        const secret = this.add();
        if (this.dropNextCreate) {
          this.dropNextCreate = false;
          throw new AdobeApiError('I/O Management API create: the connection failed', { transient: true });
        }
        return { ...answered('create'), secret, uuid: this.omitUuid ? undefined : this.uuidOf(secret) };
      },
      delete: async (uuid: string) => {
        this.beforeDelete = this.secrets.map(({ uuid, createdAt, lastUsedAt }) => ({ uuid, createdAt, lastUsedAt }));
        const index = this.secrets.findIndex((entry) => entry.uuid === uuid);
        this.secrets.splice(index, 1);
        return { ...answered(`delete ${uuid}`) };
      },
    };
  };
}

/** A rotation world: the credentials secret holding `secrets` (with uuids when `withUuids`), Adobe, the clock. */
function setup(options: { secrets?: number; used?: boolean[]; withUuids?: boolean; shape?: 'single' | 'list' } = {}) {
  const clock = fakeClock();
  const adobe = new FakeAdobe(clock);
  const store = new MemoryStore();
  const used = options.used ?? [true];
  const secrets = used.map((u) => adobe.add({ used: u })).slice(0, options.secrets ?? used.length);
  const document = {
    clientId: 'client-1',
    ...(options.shape === 'single' ? { clientSecret: secrets[0] } : { clientSecrets: secrets }),
    ...(options.withUuids ? { clientSecretUuids: secrets.map((s) => adobe.uuidOf(s)) } : {}),
    scopes: 'openid,AdobeID,read_client_secret,manage_client_secrets',
    note: 'kept',
  };
  const original = store.put(CREDENTIALS, JSON.stringify(document));
  const deps: RotationDeps = { store, mint: adobe.mint, adobe: adobe.console, now: clock.now };
  let tokens = 0;
  const rotation = () => `${String(++tokens).padStart(8, '0')}-aaaa-bbbb-cccc-dddddddddddd`;
  const run = (step: RotationStep, token: string, extra: Partial<RotationDeps> = {}) =>
    runRotation(
      settings,
      step === 'retireCheck' ? { step, secretId: CREDENTIALS } : { step, secretId: CREDENTIALS, token },
      { ...deps, ...extra },
    );
  const credentialsOf = (value: string) => parseCredentials(value) as OAuthCredentials;
  return { clock, adobe, store, secrets, original, deps, rotation, run, credentialsOf };
}

/** All four steps in order, stopping at the first failure, as Secrets Manager runs them. */
async function rotateFully(world: ReturnType<typeof setup>, token = world.rotation()) {
  for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
    const result = await world.run(step, token);
    if (result.error) return { token, failedAt: step, error: result.error };
  }
  return { token };
}

/** Writes the refresher's newest token: issued now, valid 24 h unless `expired`, of client-1. */
function putToken(
  world: ReturnType<typeof setup>,
  fields: { versionId: string; uuid?: string; expired?: boolean; accessToken?: string },
) {
  const now = world.clock.now();
  world.store.put(
    TOKEN,
    JSON.stringify({
      access_token: fields.accessToken ?? `access-token-for-x-${'t'.repeat(20)}`,
      token_type: 'bearer',
      issued_at: new Date(now - (fields.expired ? 25 : 0) * HOUR).toISOString(),
      expires_at: new Date(now + (fields.expired ? -1 : 24) * HOUR).toISOString(),
      client_id: 'client-1',
      ims_endpoint: 'ims-na1.adobelogin.com',
      credentials_version_id: fields.versionId,
      credentials_type: 'oauth',
      ...(fields.uuid ? { client_secret_uuid: fields.uuid } : {}),
    }),
  );
}

describe('parseRotationEvent', () => {
  it('reads the four steps and the grace check, refusing anything else as CONFIG_INVALID', () => {
    const token = '0b1c2d3e-1111-2222-3333-444455556666';
    expect(parseRotationEvent({ Step: 'testSecret', SecretId: 'arn:x', ClientRequestToken: token })).toEqual({
      step: 'testSecret',
      secretId: 'arn:x',
      token,
    });
    expect(parseRotationEvent({ retireCheck: true, secretId: 's' })).toEqual({ step: 'retireCheck', secretId: 's' });
    for (const bad of [
      {},
      { Step: 'deleteSecret', SecretId: 's', ClientRequestToken: token },
      { Step: 'createSecret', SecretId: 's', ClientRequestToken: 'short' },
      { Step: 'createSecret', ClientRequestToken: token },
    ]) {
      expect(() => parseRotationEvent(bad)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });
});

describe('a rotation', () => {
  it('stores [N, W] with uuids as AWSPENDING, tests N alone, then moves AWSCURRENT; AWSPREVIOUS keeps the old version', async () => {
    // Prepare: a first rotation, a single "clientSecret", no uuids stored
    const world = setup({ shape: 'single' });
    const [w] = world.secrets;
    // Act
    const { token, error } = await rotateFully(world);
    // Assess
    expect(error).toBeUndefined();
    const current = world.store.current(CREDENTIALS)!;
    expect(current.versionId).toBe(token);
    expect(world.store.previous(CREDENTIALS)!.versionId).toBe(world.original);
    const written = JSON.parse(current.value);
    const n = world.adobe.secrets.find((entry) => entry.secret !== w)!;
    expect(written).toEqual({
      clientId: 'client-1',
      clientSecrets: [n.secret, w],
      scopes: 'openid,AdobeID,read_client_secret,manage_client_secrets',
      note: 'kept',
      clientSecretUuids: [n.uuid, world.adobe.uuidOf(w)],
    });
    expect(world.adobe.secrets).toHaveLength(2);
  });

  it('changes nothing when Secrets Manager runs a rotation again after finishSecret moved AWSCURRENT (a crash after it): createSecret finds the version current', async () => {
    const world = setup();
    const { token } = await rotateFully(world);
    const calls = world.adobe.calls.length;
    expect(world.store.current(CREDENTIALS)!.stages).not.toContain('AWSPENDING'); // moving AWSCURRENT took it off

    const again = await rotateFully(world, token);

    expect(again).toEqual({ token });
    expect(world.adobe.calls.length).toBe(calls);
    expect(world.store.current(CREDENTIALS)!.versionId).toBe(token);
    expect((await world.run('createSecret', token)).report).toMatchObject({ outcome: 'already-current' });
  });

  it('touches nothing of AWSCURRENT before finishSecret', async () => {
    const world = setup();
    const token = world.rotation();
    for (const step of ['createSecret', 'setSecret', 'testSecret'] as const) {
      await world.run(step, token);
      expect(world.store.current(CREDENTIALS)!.versionId).toBe(world.original);
    }
  });

  it.each(['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const)(
    'repeats %s without changing anything (Secrets Manager retries steps)',
    async (step) => {
      const world = setup({ withUuids: true });
      const token = world.rotation();
      const order = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
      for (const earlier of order.slice(0, order.indexOf(step) + 1))
        expect((await world.run(earlier, token)).error).toBeUndefined();
      const before = {
        versions: world.store.versionCount(CREDENTIALS),
        current: world.store.current(CREDENTIALS),
        previous: world.store.previous(CREDENTIALS),
        adobe: world.adobe.secrets.map((entry) => entry.uuid),
        adobeWrites: world.adobe.calls.filter((call) => call !== 'list' && call !== 'mint').length,
      };
      const again = await world.run(step, token);
      expect(again.error).toBeUndefined();
      expect({
        versions: world.store.versionCount(CREDENTIALS),
        current: world.store.current(CREDENTIALS),
        previous: world.store.previous(CREDENTIALS),
        adobe: world.adobe.secrets.map((entry) => entry.uuid),
        adobeWrites: world.adobe.calls.filter((call) => call !== 'list' && call !== 'mint').length,
      }).toEqual(before);
      if (step === 'createSecret') expect(again.report.outcome).toBe('reused');
      if (step === 'finishSecret') expect(again.report.outcome).toBe('already-current');
    },
  );
});

describe('createSecret makes room at Adobe', () => {
  it('deletes the orphan of a crash between the create at Adobe and the store (uuids stored)', async () => {
    // Prepare: one rotation done, so the credentials hold [N1, W0] with uuids
    const world = setup();
    await rotateFully(world);
    const [n1] = world.credentialsOf(world.store.current(CREDENTIALS)!.value).clientSecretUuids!;
    // Act: the create commits at Adobe but the answer is lost; Secrets Manager retries the step
    world.adobe.dropNextCreate = true;
    const token = world.rotation();
    const crashed = await world.run('createSecret', token);
    const orphan = world.adobe.secrets.find((entry) => entry.uuid !== n1)!.uuid;
    const retried = await world.run('createSecret', token);
    // Assess
    expect(crashed.error).toMatchObject({ code: 'ADOBE_API_FAILED', transient: true });
    expect(retried.error).toBeUndefined();
    expect(retried.report.deletedUuid).toBe(orphan);
    const pendingUuids = world.credentialsOf(
      (await world.store.read(CREDENTIALS, { versionId: token }))!.value,
    ).clientSecretUuids;
    expect(pendingUuids).toEqual([retried.report.createdUuid, n1]);
    expect(world.adobe.secrets.map((entry) => entry.uuid).sort()).toEqual([n1, retried.report.createdUuid].sort());
  });

  it('deletes the orphan of such a crash on a first rotation (no uuids stored): the unused secret created after the one in use', async () => {
    const world = setup({ shape: 'single' });
    const w = world.adobe.uuidOf(world.secrets[0]);
    world.adobe.dropNextCreate = true;
    const token = world.rotation();
    await world.run('createSecret', token);
    const orphan = world.adobe.secrets.find((entry) => entry.uuid !== w)!.uuid;
    const retried = await world.run('createSecret', token);
    expect(retried).toMatchObject({ report: { outcome: 'created', deletedUuid: orphan } });
    expect(world.adobe.secrets.map((entry) => entry.uuid)).toEqual([w, retried.report.createdUuid]);
  });

  it.each([
    ['the first works', [], 0],
    ['the first is refused, the second works', [0], 1],
  ])('with two secrets stored (%s) deletes the one that is not W, never W', async (_name, refused, working) => {
    const world = setup({ used: [true, true], withUuids: true });
    for (const index of refused) world.adobe.refused.add(world.secrets[index]);
    const w = world.adobe.uuidOf(world.secrets[working]);
    const other = world.adobe.uuidOf(world.secrets[1 - working]);
    const token = world.rotation();
    const result = await world.run('createSecret', token);
    expect(result.report).toMatchObject({ outcome: 'created', deletedUuid: other });
    expect(world.adobe.secrets.map((entry) => entry.uuid)).toEqual([w, result.report.createdUuid]);
    const pending = world.credentialsOf((await world.store.read(CREDENTIALS, { versionId: token }))!.value);
    expect(pending.clientSecrets[1]).toBe(world.secrets[working]);
  });

  it.each([
    ['names the secret it would delete', { uuid: 'second' }, 'client secret uuid-1'],
    [
      'names no secret and came from another credentials version',
      { fromVersion: 'previous' },
      'another credentials version',
    ],
  ] as [string, { uuid?: 'second'; fromVersion?: 'previous' }, string][])(
    'never deletes the secret the newest token was minted with: fails transient while that token %s, goes ahead once the refresher minted with the new one',
    async (_name, token, named) => {
      // Prepare: rotated once ([N1, W0] current), the refresher's newest token still from W0
      const world = setup();
      await rotateFully(world);
      const current = world.store.current(CREDENTIALS)!;
      const [n1, w0] = world.credentialsOf(current.value).clientSecretUuids!;
      putToken(world, {
        versionId: token.fromVersion === 'previous' ? world.original : current.versionId,
        uuid: token.uuid === 'second' ? w0 : undefined,
      });
      // Act
      const rotation = world.rotation();
      const refused = await world.run('createSecret', rotation);
      putToken(world, { versionId: current.versionId, uuid: n1 });
      const retried = await world.run('createSecret', rotation);
      // Assess
      expect(refused.error).toMatchObject({ code: 'ROTATION_FAILED', transient: true });
      expect(refused.error!.message).toContain(named);
      expect(retried.report).toMatchObject({ outcome: 'created', deletedUuid: w0 });
      expect(world.adobe.secrets.map((entry) => entry.uuid)).toEqual([n1, retried.report.createdUuid]);
    },
  );

  it('may delete the secret of a token that has expired', async () => {
    const world = setup();
    await rotateFully(world);
    const current = world.store.current(CREDENTIALS)!;
    const [, w0] = world.credentialsOf(current.value).clientSecretUuids!;
    putToken(world, { versionId: current.versionId, uuid: w0, expired: true });
    expect((await world.run('createSecret', world.rotation())).report).toMatchObject({
      outcome: 'created',
      deletedUuid: w0,
    });
  });

  it('refuses, deleting nothing, when Adobe contradicts the stored uuids: a secret replaced by hand, its uuid kept', async () => {
    // Prepare: W0 (uuid-1) last used days ago; X (uuid-2) added in the console and pasted over W0, uuid-1 kept
    const world = setup();
    world.clock.advance(72 * HOUR);
    const x = world.adobe.add();
    world.store.put(
      CREDENTIALS,
      JSON.stringify({
        clientId: 'client-1',
        clientSecrets: [x],
        clientSecretUuids: ['uuid-1'],
        scopes: 'openid,AdobeID',
      }),
    );
    // Act
    const token = world.rotation();
    const result = await world.run('createSecret', token);
    // Assess
    expect(result.error).toMatchObject({ code: 'ROTATION_FAILED', transient: true });
    expect(result.error!.message).toContain('Adobe shows client secret uuid-2 used since this step minted');
    expect(world.adobe.secrets.map((entry) => entry.uuid)).toEqual(['uuid-1', 'uuid-2']);
    expect(await world.store.read(CREDENTIALS, { versionId: token })).toBeUndefined();
  });

  it('still deletes a leaked secret that someone else keeps using: Adobe shows the working one used too', async () => {
    const world = setup();
    await rotateFully(world);
    const [n1, leaked] = world.credentialsOf(world.store.current(CREDENTIALS)!.value).clientSecretUuids!;
    const result = await world.run('createSecret', world.rotation(), {
      // Whoever holds the leaked secret mints with it right after this step's own mint.
      mint: async (credentials, secret) => {
        const token = await world.adobe.mint(credentials, secret);
        await world.adobe.mint(credentials, world.secrets[0]);
        return token;
      },
    });
    expect(result.report).toMatchObject({ outcome: 'created', deletedUuid: leaked });
    expect(world.adobe.secrets.map((entry) => entry.uuid)).toEqual([n1, result.report.createdUuid]);
  });

  it("never takes a deleted secret's uuid for the new one's when the list after the create lags behind the delete", async () => {
    // Prepare: a first rotation; an unused orphan beside W at Adobe; the create answer without uuid
    const world = setup({ shape: 'single' });
    const orphan = world.adobe.uuidOf(world.adobe.add());
    world.adobe.omitUuid = true;
    // Act: the list for the new uuid still shows the orphan, not the new secret
    const token = world.rotation();
    const original = world.adobe.console;
    const first = await world.run('createSecret', token, {
      adobe: (session) => {
        const adobe = original(session);
        return {
          ...adobe,
          create: async () => {
            const made = await adobe.create();
            world.adobe.lagNextList = true;
            return made;
          },
        };
      },
    });
    const retried = await world.run('createSecret', token);
    // Assess
    expect(first.error).toMatchObject({ code: 'ROTATION_FAILED', transient: true });
    expect(retried.report.outcome).toBe('created');
    const uuids = world.credentialsOf(
      (await world.store.read(CREDENTIALS, { versionId: token }))!.value,
    ).clientSecretUuids!;
    expect(uuids[0]).not.toBe(orphan);
    expect(world.adobe.secrets.map((entry) => entry.uuid)).toEqual([world.adobe.uuidOf(world.secrets[0]), uuids[0]]);
  });

  it("lists again for the new secret's uuid when the create answer leaves it out", async () => {
    const world = setup({ withUuids: true });
    world.adobe.omitUuid = true;
    const token = world.rotation();
    const result = await world.run('createSecret', token);
    const created = world.adobe.secrets.at(-1)!.uuid;
    expect(result.report).toMatchObject({ outcome: 'created', createdUuid: created });
    expect(world.adobe.calls.slice(-2)).toEqual(['create', 'list']);
    const pending = world.credentialsOf((await world.store.read(CREDENTIALS, { versionId: token }))!.value);
    expect(pending.clientSecretUuids).toEqual([created, world.adobe.uuidOf(world.secrets[0])]);
  });

  it('refuses AEM service credentials: their certificate is renewed in the AEM Developer Console', async () => {
    const world = setup();
    world.store.put(CREDENTIALS, (await generateJwtCredentials({ keyFormat: 'pkcs8', wrapped: true })).json);
    const result = await world.run('createSecret', world.rotation());
    expect(result.error).toMatchObject({
      code: 'ROTATION_FAILED',
      message: expect.stringContaining('AEM Developer Console'),
    });
  });

  it.each([
    ['Adobe shows the mint: W is the new one, the old one goes', false],
    ['Adobe does not show it yet: fails transient, deleting nothing', true],
  ])(
    'on a first rotation after a secret was replaced by hand (no uuids), takes as W the secret Adobe shows used by its own mint: %s',
    async (_name, lagging) => {
      // Prepare: S1 used days ago; S2 added in the console and uploaded as the only "clientSecret"
      const world = setup({ shape: 'single' });
      world.clock.advance(72 * HOUR);
      const s2 = world.adobe.add();
      world.store.put(
        CREDENTIALS,
        JSON.stringify({ clientId: 'client-1', clientSecret: s2, scopes: 'openid,AdobeID' }),
      );
      world.adobe.usageLags = lagging;
      // Act
      const token = world.rotation();
      const result = await world.run('createSecret', token);
      // Assess
      if (lagging) {
        expect(result.error).toMatchObject({ code: 'ROTATION_FAILED', transient: true });
        expect(world.adobe.secrets.map((entry) => entry.uuid)).toEqual(['uuid-1', 'uuid-2']);
      } else {
        expect(result.report).toMatchObject({ outcome: 'created', deletedUuid: 'uuid-1' });
        const pending = world.credentialsOf((await world.store.read(CREDENTIALS, { versionId: token }))!.value);
        expect(pending.clientSecrets[1]).toBe(s2);
        expect(pending.clientSecretUuids![1]).toBe('uuid-2');
      }
    },
  );

  it('refuses a first rotation with two used secrets and no uuids, naming the fix, and changes nothing', async () => {
    const world = setup({ used: [true, true] });
    const result = await world.run('createSecret', world.rotation());
    expect(result.error).toMatchObject({ code: 'ROTATION_FAILED', step: 'createSecret', transient: false });
    expect(result.error?.message).toMatch(
      /both client secrets .* used just now.*delete the unused secret in the Developer Console/,
    );
    expect(world.adobe.calls.filter((call) => call !== 'list' && call !== 'mint')).toEqual([]);
    expect(world.store.versionCount(CREDENTIALS)).toBe(1);
  });

  it('fails CONFIG_INVALID when the simple shape has no org id configured, before any Adobe call', async () => {
    const world = setup();
    const result = await runRotation(
      { ...settings, orgId: undefined },
      { step: 'createSecret', secretId: CREDENTIALS, token: world.rotation() },
      world.deps,
    );
    expect(result.error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('ADOBE_ORG_ID') });
    expect(world.adobe.calls).toEqual([]);
  });

  it("names the fix when Adobe answers 403, with Adobe's x-request-id", async () => {
    const world = setup();
    const forbidden = (session: AdobeSession) =>
      adobeConsole(session, {
        timeoutMs: 1000,
        fetch: async () =>
          new Response(JSON.stringify({ error_code: '403003', message: 'Forbidden' }), {
            status: 403,
            headers: { 'x-request-id': 'req-403' },
          }),
      });
    const result = await world.run('createSecret', world.rotation(), { adobe: forbidden });
    expect(result.error).toMatchObject({ code: 'ADOBE_API_FAILED', requestId: 'req-403', transient: false });
    expect(result.error?.message).toContain(FORBIDDEN_FIX);
  });
});

describe('testSecret and finishSecret', () => {
  it('fails ROTATION_FAILED when IMS rejects the new secret, and leaves AWSCURRENT where it was', async () => {
    const world = setup();
    const token = world.rotation();
    await world.run('createSecret', token);
    const pending = world.credentialsOf((await world.store.read(CREDENTIALS, { versionId: token }))!.value);
    world.adobe.refused.add(pending.clientSecrets[0]);
    const { failedAt, error } = await rotateFully(world, token);
    expect(failedAt).toBe('testSecret');
    expect(error).toMatchObject({ code: 'ROTATION_FAILED', step: 'testSecret', transient: false });
    expect(error?.message).toBe(
      'testSecret: IMS rejected the new client secret (HTTP 401 invalid_client, X-Debug-Id dbg-401); AWSCURRENT is untouched',
    );
    expect(world.store.current(CREDENTIALS)!.versionId).toBe(world.original);
  });

  it('says a testSecret retried after finishSecret finds its version current, not a set-up check', async () => {
    const world = setup();
    const { token } = await rotateFully(world);
    expect((await world.run('testSecret', token)).report).toMatchObject({
      outcome: 'nothing-to-test',
      reason: `version "${token}" is already AWSCURRENT: a retry after finishSecret`,
    });
  });

  it('tests the new secret alone, never falling back to the working one', async () => {
    const world = setup();
    const token = world.rotation();
    await world.run('createSecret', token);
    const seen: string[] = [];
    await world.run('testSecret', token, {
      mint: async (credentials, secret) => (seen.push(secret), world.adobe.mint(credentials, secret)),
    });
    const pending = world.credentialsOf((await world.store.read(CREDENTIALS, { versionId: token }))!.value);
    expect(seen).toEqual([pending.clientSecrets[0]]);
  });
  it("passes Secrets Manager's set-up check (testSecret alone, on a pending version without a value) without minting or calling Adobe; finishSecret still refuses it", async () => {
    const world = setup();
    const token = world.rotation();
    const checked = await world.run('testSecret', token);
    expect(checked.error).toBeUndefined();
    expect(checked.report).toMatchObject({ step: 'testSecret', outcome: 'nothing-to-test', pendingVersionId: token });
    expect(checked.report.reason).toContain("Secrets Manager's set-up check");
    expect(world.adobe.calls).toEqual([]);
    const finished = await world.run('finishSecret', token);
    expect(finished.error).toMatchObject({ code: 'ROTATION_FAILED', step: 'finishSecret' });
    expect(world.store.current(CREDENTIALS)!.versionId).toBe(world.original);
  });
});

describe('retireCheck', () => {
  /**
   * After a rotation: `putToken()` writes the refresher's newest token, issued now, minted from the
   * current version's first (new) secret unless told otherwise; the old secret was last used before.
   */
  async function rotated(token: { fromVersion?: 'current' | 'previous'; uuid?: 'first' | 'second' } = {}) {
    const world = setup();
    await rotateFully(world);
    const current = world.store.current(CREDENTIALS)!;
    const uuids = world.credentialsOf(current.value).clientSecretUuids!;
    const put = () =>
      putToken(world, {
        accessToken: `access-token-for-${uuids[0]}-${'t'.repeat(20)}`,
        versionId: token.fromVersion === 'previous' ? world.original : current.versionId,
        uuid: uuids[token.uuid === 'second' ? 1 : 0],
      });
    world.adobe.calls.length = 0;
    return { world, old: uuids[1], putToken: put };
  }

  it('keeps the old secret until its last use is retireAfter old, then deletes it with the stored token (no mint)', async () => {
    const { world, old, putToken } = await rotated();
    world.clock.advance(23 * HOUR);
    putToken();
    expect((await world.run('retireCheck', '')).report).toMatchObject({
      outcome: 'kept',
      reason: 'the second secret was used recently',
    });
    expect(world.adobe.secrets.map((entry) => entry.uuid)).toContain(old);
    world.clock.advance(HOUR);
    putToken();
    const result = await world.run('retireCheck', '');
    expect(result.report).toMatchObject({ outcome: 'retired', deletedUuid: old });
    expect(world.adobe.secrets.map((entry) => entry.uuid)).not.toContain(old);
    expect(world.adobe.calls).not.toContain('mint');
    // The credentials secret is not rewritten: a new version would make the refresher mint again.
    expect(world.store.versionCount(CREDENTIALS)).toBe(2);
  });

  it.each([
    ['the newest token came from another credentials version', { fromVersion: 'previous' as const }],
    ['the newest token was minted with the old secret', { uuid: 'second' as const }],
  ])('never deletes when %s, and calls Adobe not at all', async (_name, token) => {
    const { world, old, putToken } = await rotated(token);
    world.clock.advance(48 * HOUR);
    putToken();
    const result = await world.run('retireCheck', '');
    expect(result.report).toMatchObject({
      outcome: 'kept',
      reason: "the newest token was not minted with the current version's first secret",
    });
    expect(world.adobe.secrets.map((entry) => entry.uuid)).toContain(old);
    expect(world.adobe.calls).toEqual([]);
  });

  it('keeps the second secret when Adobe shows it used after the first: the stored uuids do not match the secrets', async () => {
    const { world, old, putToken } = await rotated();
    world.clock.advance(HOUR);
    await world.adobe.mint(world.credentialsOf(world.store.current(CREDENTIALS)!.value), world.secrets[0]);
    world.clock.advance(48 * HOUR);
    putToken();
    expect((await world.run('retireCheck', '')).report).toMatchObject({
      outcome: 'kept',
      reason: 'Adobe shows the second secret used after the first',
    });
    expect(world.adobe.secrets.map((entry) => entry.uuid)).toContain(old);
  });

  it('ends without an Adobe call when the credentials hold one secret', async () => {
    const world = setup({ withUuids: true });
    expect((await world.run('retireCheck', '')).report).toMatchObject({
      outcome: 'kept',
      reason: 'no second secret with a uuid',
    });
    expect(world.adobe.calls).toEqual([]);
  });
});

describe('rotationHandler: one log line per step, no secret in any', () => {
  it('logs each step with its outcome, versions and request ids, and throws a failed step for Secrets Manager to retry', async () => {
    const world = setup({ shape: 'single' });
    const handler = createRotationHandler({
      env: { TOKEN_SECRET_ID: TOKEN, ADOBE_ORG_ID: '23294', ADOBE_CREDENTIAL_ID: 'cred-1' },
      store: world.store,
      mint: world.adobe.mint,
      adobe: world.adobe.console,
      now: world.clock.now,
      logger: createLogger({ serviceName: 'rotation-test' }),
    });
    const context = { awsRequestId: 'r', getRemainingTimeInMillis: () => 60_000 };
    const token = '0b1c2d3e-1111-2222-3333-444455556666';
    const mark = capturedOutput().length;
    for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      await handler({ Step, SecretId: CREDENTIALS, ClientRequestToken: token }, context);
    }
    const failed = '0b1c2d3e-1111-2222-3333-777777777777';
    await handler({ Step: 'createSecret', SecretId: CREDENTIALS, ClientRequestToken: failed }, context);
    world.adobe.refused.add(world.adobe.secrets.at(-1)!.secret);
    await expect(
      handler({ Step: 'testSecret', SecretId: CREDENTIALS, ClientRequestToken: failed }, context),
    ).rejects.toMatchObject({ code: 'ROTATION_FAILED' });
    const lines = capturedOutput()
      .slice(mark)
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => [line.step, line.outcome])).toEqual([
      ['createSecret', 'created'],
      ['setSecret', 'nothing-to-set'],
      ['testSecret', 'tested'],
      ['finishSecret', 'finished'],
      ['createSecret', 'created'],
      ['testSecret', 'failed'],
    ]);
    expect(lines[0]).toMatchObject({
      credentialsVersionId: world.original,
      pendingVersionId: token,
      adobeRequestIds: expect.arrayContaining([expect.stringMatching(/^req-/)]),
      createdUuid: expect.stringMatching(/^uuid-/),
    });
    expect(lines[5]).toMatchObject({
      level: 'ERROR',
      errorCode: 'ROTATION_FAILED',
      imsError: 'invalid_client',
      imsDebugId: 'dbg-401',
    });
    // Every client secret Adobe made and every token minted is registered: none may be in the output.
    const output = capturedOutput().slice(mark);
    for (const entry of world.adobe.secrets) expect(output).not.toContain(entry.secret);
    expect(output).not.toContain('access-token-for-');
  });
});
