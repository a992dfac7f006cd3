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
import { GetSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { App } from 'aws-cdk-lib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseCredentials, type OAuthCredentials } from '../../common/credentials.js';
import { parseTokenRecord } from '../../common/token.js';
import { parseAppConfig } from '../../lib/config/load.js';
import { ImsTokenStack } from '../../lib/ims-token-stack.js';
import { invokeBundle, readTemplate, synthesizedFunctions, type SynthesizedFunction } from '../sandbox/bundle.js';
import { IO_MANAGEMENT_SCOPES } from '../sandbox/io-management-api.js';
import { LocalRefresher } from '../sandbox/local-refresher.js';
import { countSecrets } from '../sandbox/secret-registry.js';
import type { RotationEvent, RotationOutcome } from '../sandbox/secrets-manager-rotation.js';
import { generateOAuthCredentials, type OAuthIntegration } from '../sandbox/test-credentials.js';

const CONSOLE = { orgId: '23294', credentialId: '385214' };
const ROTATED = { name: 'rotated', credentialsType: 'oauth', rotateClientSecret: { everyDays: 30, ...CONSOLE } };
const STACK = 'Rotated';
const ROTATION_LAMBDA_ARN = 'arn:aws:lambda:us-east-1:111111111111:function:rotation';

const dir = mkdtempSync(join(tmpdir(), 'ims-rotation-e2e-'));
const cdkOut = join(dir, 'cdk.out');

beforeAll(() => {
  const app = new App({ outdir: cdkOut });
  new ImsTokenStack(app, STACK, { tokens: parseAppConfig({ tokens: [ROTATED] }).tokens, env: { region: 'us-east-1' } });
  app.synth();
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The template's functions by handler, their secrets' `Ref`s resolved to `local`'s secrets when
 * given (the refresher's runs get them from LocalRefresher either way).
 */
function functionsOf(local?: LocalRefresher): Map<string, SynthesizedFunction> {
  const resources = Object.values(readTemplate(cdkOut, STACK).Resources);
  const variables = resources.find((r) => r.Properties.Handler === 'index.handler')!.Properties.Environment!.Variables!;
  const ref = (name: string) => (variables[name] as { Ref: string }).Ref;
  const refs = local
    ? { [ref('CREDENTIALS_SECRET_ID')]: local.credentialsSecretId, [ref('TOKEN_SECRET_ID')]: local.tokenSecretId }
    : {};
  return new Map(synthesizedFunctions(cdkOut, STACK, refs).map((fn) => [fn.handler, fn]));
}

/**
 * One credential (one secret, the simple shape, no uuids stored yet: a first rotation), the doubles,
 * and the emulator's rotation function: the bundle, each step checked for secrets in its output.
 */
class World {
  readonly logs: string[] = [];
  /** The rotation function as the template makes it: handler, timeout, environment. */
  private rotationFunction!: SynthesizedFunction;

  private constructor(
    readonly local: LocalRefresher,
    readonly integration: OAuthIntegration,
  ) {}

  static async start(): Promise<World> {
    const credentials = generateOAuthCredentials({ scopes: IO_MANAGEMENT_SCOPES });
    let world: World | undefined;
    const rotation = (event: RotationEvent) => world!.step(event);
    const refresher = functionsOf().get('index.handler')!;
    const local = await LocalRefresher.start(refresher, credentials, { rotation, console: CONSOLE });
    world = new World(local, credentials.integration);
    world.rotationFunction = functionsOf(local).get('index.rotationHandler')!;
    return world;
  }

  get peer() {
    return this.local.peer;
  }

  get emulator() {
    return this.local.emulator;
  }

  /** A step as Lambda runs it for Secrets Manager: the template's environment, the doubles' addresses. */
  private async step(event: RotationEvent): Promise<void> {
    const result = await invokeBundle(this.rotationFunction, {
      event,
      env: { ...this.emulator.env(), IMS_BASE_URL: this.peer.url, ADOBE_API_BASE_URL: this.peer.url },
    });
    this.logs.push(result.logs);
    expect(countSecrets(result.logs + JSON.stringify(result.error ?? null)), 'secrets in the output').toBe(0);
    if (result.error) throw new Error(`${result.error.code}: ${result.error.errorMessage}`);
  }

  /** `RotateSecret` as `ims-token credentials rotate` sends it, and the rotation's outcome. */
  async rotate(options: { immediately?: boolean } = {}): Promise<RotationOutcome> {
    await this.emulator.client().send(
      new RotateSecretCommand({
        SecretId: this.local.credentialsSecretId,
        RotationLambdaARN: ROTATION_LAMBDA_ARN,
        RotationRules: { AutomaticallyAfterDays: 30 },
        RotateImmediately: options.immediately ?? true,
      }),
    );
    return this.emulator.rotation(this.local.credentialsSecretId);
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

  /** Adobe's secrets of the credential, as the peer holds them. */
  adobeSecrets() {
    return this.peer.credentials.get(this.integration.clientId)!.secrets;
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
    return this.local.close();
  }
}

const ALL_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
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

  it('reuses the pending version when retried after a crash that followed createSecret: nothing created twice', async () => {
    world = await World.start();
    const before = world.current();
    world.emulator.crashAfter('createSecret');

    const crashed = await world.rotate();

    expect(crashed).toMatchObject({ done: false, failedStep: 'createSecret', completed: [] });
    expect(world.current().versionId).toBe(before.versionId);
    await world.expectNoOrphans();
    const creates = () => world.peer.console.calls.filter((call) => call.method === 'POST').length;
    expect(creates()).toBe(1);

    const retried = await world.emulator.retryRotation(world.local.credentialsSecretId);

    expect(retried).toMatchObject({ done: true, completed: ALL_STEPS });
    expect(creates()).toBe(1);
    expect(world.current().versionId).toBe(crashed.versionId);
    await world.expectNoOrphans();
  });

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

  it('fails testSecret when IMS refuses the new secret, leaving AWSCURRENT and the refresher on the working one', async () => {
    world = await World.start();
    const before = world.current();
    world.emulator.crashAfter('createSecret');
    await world.rotate();
    // The new secret goes away at Adobe before it is tested (an admin deleted it): IMS refuses it.
    world.peer.register(world.integration);

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
