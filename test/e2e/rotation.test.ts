/**
 * End-to-end rotation of an OAuth client secret: the bundled function (assets/refresher, as
 * `npm run synth` builds it) run as the rotation function (`_HANDLER=index.rotationHandler`) with the
 * environment of a template synthesized here with `rotateClientSecret`, invoked by the Secrets
 * Manager emulator's `RotateSecret` for each step, against the IMS peer's token endpoint and I/O
 * Management API. After each scenario: the peer holds at most two secrets, each one held by a version
 * of the credentials secret, and no output carries a secret.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { App } from 'aws-cdk-lib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseCredentials, type OAuthCredentials } from '../../common/credentials.js';
import { parseTokenRecord } from '../../common/token.js';
import { parseAppConfig } from '../../lib/config/load.js';
import { ImsTokenStack } from '../../lib/ims-token-stack.js';
import { IO_MANAGEMENT_SCOPES, TOO_MANY_SECRETS_ERROR_CODE } from '../sandbox/io-management-api.js';
import { LocalRotation, type RotationRun } from '../sandbox/local-rotation.js';
import { countSecrets } from '../sandbox/secret-registry.js';
import type { RotationOutcome, RotationStep } from '../sandbox/secrets-manager-rotation.js';
import { generateOAuthCredentials } from '../sandbox/test-credentials.js';

const ROTATED = {
  name: 'rotated',
  credentialsType: 'oauth',
  rotateClientSecret: { everyDays: 30, orgId: '23294', credentialId: '385214' },
};
const STACK = 'Rotated';

const dir = mkdtempSync(join(tmpdir(), 'ims-rotation-e2e-'));
const cdkOut = join(dir, 'cdk.out');

beforeAll(() => {
  const app = new App({ outdir: cdkOut });
  new ImsTokenStack(app, STACK, { tokens: parseAppConfig({ tokens: [ROTATED] }).tokens, env: { region: 'us-east-1' } });
  app.synth();
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * One credential (one secret, the simple shape, no uuids stored yet: a first rotation), the doubles,
 * and the emulator's rotation function: the bundle, each run checked for secrets in its output.
 */
class World {
  private constructor(readonly rotation: LocalRotation) {}

  static async start(): Promise<World> {
    const credentials = generateOAuthCredentials({ scopes: IO_MANAGEMENT_SCOPES });
    const onRun = ({ invocation }: RotationRun) =>
      expect(countSecrets(invocation.logs + JSON.stringify(invocation.error ?? null)), 'secrets in the output').toBe(0);
    return new World(await LocalRotation.start(cdkOut, STACK, credentials, { onRun }));
  }

  get local() {
    return this.rotation.local;
  }

  get peer() {
    return this.rotation.peer;
  }

  get emulator() {
    return this.rotation.emulator;
  }

  rotate(options: { immediately?: boolean } = {}): Promise<RotationOutcome> {
    return this.rotation.rotate(options);
  }

  /** One run of the bundled refresher, forced. */
  async refresh() {
    const result = await this.local.invoke({ force: true });
    expect(countSecrets(result.logs), 'secrets in the refresher output').toBe(0);
    return result;
  }

  current(): { versionId: string; credentials: OAuthCredentials } {
    const { versionId, value } = this.emulator.current(this.local.credentialsSecretId)!;
    return { versionId, credentials: parseCredentials(value) as OAuthCredentials };
  }

  adobeSecrets() {
    return this.rotation.adobeSecrets();
  }

  /** Every client secret any version of the credentials secret holds. */
  async heldSecrets(): Promise<Set<string>> {
    const client = this.emulator.client();
    const held = new Set<string>();
    for (const VersionId of Object.keys(this.emulator.stages(this.local.credentialsSecretId))) {
      const out = await client
        .send(new GetSecretValueCommand({ SecretId: this.local.credentialsSecretId, VersionId }))
        .catch(() => undefined);
      // The stack's placeholder, before the credentials were uploaded, holds none.
      if (!out?.SecretString?.startsWith('{')) continue;
      for (const secret of (parseCredentials(out.SecretString) as OAuthCredentials).clientSecrets) held.add(secret);
    }
    return held;
  }

  /** Adobe never holds more than two secrets, nor one that no version of the credentials secret holds. */
  async expectNoOrphans(): Promise<void> {
    const atAdobe = this.adobeSecrets();
    expect(atAdobe.length).toBeLessThanOrEqual(2);
    const held = await this.heldSecrets();
    expect(atAdobe.filter((secret) => !held.has(secret.plaintext)).map((secret) => secret.uuid)).toEqual([]);
  }

  close(): Promise<void> {
    return this.rotation.close();
  }
}

const ALL_STEPS: RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
let world: World;
afterEach(() => world?.close());

describe('the bundled rotation function, invoked by Secrets Manager', () => {
  it('rotates: [new, working] with their uuids made current; the refresher then mints with the new secret; the next rotation deletes the old one', async () => {
    world = await World.start();
    const before = world.current();
    const [working] = before.credentials.clientSecrets;

    const outcome = await world.rotate();

    expect(outcome).toMatchObject({ done: true, completed: ALL_STEPS });
    const after = world.current();
    expect(after.versionId).toBe(outcome.versionId);
    const [fresh, kept] = after.credentials.clientSecrets;
    expect(kept).toBe(working);
    const uuidOf = (plaintext: string) => world.adobeSecrets().find((secret) => secret.plaintext === plaintext)?.uuid;
    expect(after.credentials.clientSecretUuids).toEqual([uuidOf(fresh), uuidOf(working)]);
    expect(world.emulator.stages(world.local.credentialsSecretId)[before.versionId]).toEqual(['AWSPREVIOUS']);
    await world.expectNoOrphans();

    expect((await world.refresh()).result).toMatchObject({ outcome: 'refreshed' });
    const token = parseTokenRecord(world.emulator.current(world.local.tokenSecretId)!.value);
    expect(token).toMatchObject({ credentials_version_id: after.versionId, client_secret_uuid: uuidOf(fresh) });

    expect(await world.rotate()).toMatchObject({ done: true });
    expect(world.current().credentials.clientSecrets[1]).toBe(fresh);
    expect(uuidOf(working)).toBeUndefined();
    await world.expectNoOrphans();
  });

  it.each(ALL_STEPS)(
    'finishes when the whole rotation is retried after a crash that followed %s (its work done): nothing created twice',
    async (step) => {
      world = await World.start();
      const before = world.current();
      world.emulator.crashAfter(step);

      const crashed = await world.rotate();

      expect(crashed).toMatchObject({
        done: false,
        failedStep: step,
        completed: ALL_STEPS.slice(0, ALL_STEPS.indexOf(step)),
      });
      expect(world.current().versionId).toBe(step === 'finishSecret' ? crashed.versionId : before.versionId);
      await world.expectNoOrphans();
      const creates = () => world.peer.console.calls.filter((call) => call.method === 'POST').length;
      expect(creates()).toBe(1);

      const retried = await world.emulator.retryRotation(world.local.credentialsSecretId);

      expect(retried).toMatchObject({ done: true, completed: ALL_STEPS });
      expect(creates()).toBe(1);
      expect(world.current().versionId).toBe(crashed.versionId);
      expect(world.emulator.stages(world.local.credentialsSecretId)[before.versionId]).toEqual(['AWSPREVIOUS']);
      await world.expectNoOrphans();
    },
  );

  it('deletes on the retry the secret a create left at Adobe when its answer was lost, then creates another', async () => {
    world = await World.start();
    world.peer.console.fail('none', 'drop-after-commit'); // the list, then the create

    const failed = await world.rotate();

    expect(failed).toMatchObject({ done: false, failedStep: 'createSecret' });
    expect(failed.error).toMatch(/^ADOBE_API_FAILED: /);
    const orphan = world.adobeSecrets()[1];
    expect(world.adobeSecrets()).toHaveLength(2);
    expect((await world.heldSecrets()).has(orphan.plaintext)).toBe(false);

    expect(await world.emulator.retryRotation(world.local.credentialsSecretId)).toMatchObject({ done: true });
    expect(world.adobeSecrets().map((secret) => secret.uuid)).not.toContain(orphan.uuid);
    await world.expectNoOrphans();
  });

  it('fails createSecret when the peer refuses a third secret (one added in the Developer Console after its list), then the retry makes room', async () => {
    world = await World.start();
    const before = world.current();
    world.peer.console.fail('none', 'added-in-console'); // the list, then the create

    const refused = await world.rotate();

    expect(refused).toMatchObject({ done: false, failedStep: 'createSecret' });
    expect(refused.error).toMatch(
      new RegExp(`^ADOBE_API_FAILED: I/O Management API create answered HTTP 400 ${TOO_MANY_SECRETS_ERROR_CODE}`),
    );
    expect(world.current().versionId).toBe(before.versionId);
    expect(world.adobeSecrets()).toHaveLength(2);

    expect(await world.emulator.retryRotation(world.local.credentialsSecretId)).toMatchObject({ done: true });
    expect(world.current().credentials.clientSecrets[1]).toBe(before.credentials.clientSecrets[0]);
    await world.expectNoOrphans();
  });

  it('fails testSecret when IMS refuses the new secret, leaving AWSCURRENT and the refresher on the working one', async () => {
    world = await World.start();
    const before = world.current();
    world.emulator.crashAfter('createSecret');
    await world.rotate();
    // The new secret goes away at Adobe before it is tested (an admin deleted it): IMS refuses it.
    world.peer.register(world.rotation.integration);

    const rejected = await world.emulator.retryRotation(world.local.credentialsSecretId);

    expect(rejected).toMatchObject({ done: false, failedStep: 'testSecret', completed: ['createSecret', 'setSecret'] });
    expect(rejected.error).toMatch(
      /^ROTATION_FAILED: testSecret: IMS rejected the new client secret \(HTTP 401 .*AWSCURRENT is untouched$/,
    );
    expect(world.current().versionId).toBe(before.versionId);
    expect((await world.refresh()).result).toMatchObject({ outcome: 'refreshed' });
    await world.expectNoOrphans();
  });

  it('names the fix when Adobe answers 403, with its x-request-id, and changes nothing', async () => {
    world = await World.start();
    const before = world.current();
    world.peer.console.fail({
      status: 403,
      body: { error_code: '403003', message: 'Api Key is invalid' },
      requestId: 'req-403-e2e',
    });

    const refused = await world.rotate();

    expect(refused).toMatchObject({ done: false, failedStep: 'createSecret' });
    expect(refused.error).toMatch(/^ADOBE_API_FAILED: /);
    expect(refused.error).toContain('req-403-e2e');
    expect(refused.error).toContain('add the I/O Management API to the Developer Console project');
    expect(world.current().versionId).toBe(before.versionId);
    expect(world.adobeSecrets()).toHaveLength(1);
  });

  it("passes Secrets Manager's set-up check (RotateImmediately false: testSecret alone on an empty AWSPENDING) without touching Adobe", async () => {
    world = await World.start();
    const before = world.current();

    const checked = await world.rotate({ immediately: false });

    expect(checked).toMatchObject({ done: true, completed: ['testSecret'] });
    expect(world.peer.console.calls).toEqual([]);
    expect(world.current().versionId).toBe(before.versionId);
    expect(world.adobeSecrets()).toHaveLength(1);
  });
});
