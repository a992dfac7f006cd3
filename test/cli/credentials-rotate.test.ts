/**
 * `ims-token credentials rotate` against the Secrets Manager emulator, whose RotateSecret runs a
 * fake rotation function (put the new credentials as AWSPENDING, move AWSCURRENT), with an
 * injected clock and sleep: no wall-clock wait.
 */
import { randomBytes } from 'node:crypto';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { RotateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/cli.js';
import { SecretsManagerEmulator } from '../sandbox/secrets-manager-emulator.js';
import { templateRotation, type RotationFunction, type RotationStep } from '../sandbox/secrets-manager-rotation.js';
import { countSecrets, registerSecret } from '../sandbox/secret-registry.js';
import { generateOAuthCredentials } from '../sandbox/test-credentials.js';

const SECRET = 'adobe/credentials';
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:ImsTokenStack-Rotation1A2B3C';
const LOG_GROUP = 'ImsTokenStack-RotationLogs4D5E6F-abcdef';
const lambda = mockClient(LambdaClient);

let emulator: SecretsManagerEmulator;
let client: SecretsManagerClient;
/** Steps the fake rotation function fails. */
let failing: Set<RotationStep>;
let time: number;
let sleeps: number[];

/** The templates' rotation function, storing new credentials with a fresh client secret; fails the steps in `failing`. */
const rotation: RotationFunction = async (event) => {
  if (failing.has(event.Step)) throw new Error(`${event.Step} failed`);
  await templateRotation(client, () => {
    const clientSecret = `p8e-${randomBytes(16).toString('hex')}`;
    registerSecret(clientSecret);
    return JSON.stringify({ clientId: 'c', clientSecrets: [clientSecret], scopes: 'openid' });
  })(event);
};

beforeEach(async () => {
  failing = new Set();
  time = Date.parse('2026-11-22T12:00:00Z');
  sleeps = [];
  lambda.reset();
  lambda.on(GetFunctionConfigurationCommand).resolves({ LoggingConfig: { LogGroup: LOG_GROUP, LogFormat: 'JSON' } });
  emulator = await SecretsManagerEmulator.start({ rotation });
  client = emulator.client();
  emulator.create(SECRET, generateOAuthCredentials().json);
});
afterEach(async () => {
  client.destroy();
  await emulator.close();
});

/** Configures rotation as the stack's RotationSchedule does: no rotation at deploy (RotateImmediately false). */
async function configureRotation() {
  await client.send(
    new RotateSecretCommand({
      SecretId: SECRET,
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 90 },
      RotateImmediately: false,
    }),
  );
  await emulator.rotation(SECRET);
}

/** Runs the CLI; each sleep advances the clock and lets the rotation under way end. */
async function run(argv: string[]) {
  const stdout = { text: '', write: (text: string) => (stdout.text += text) };
  const stderr = { text: '', write: (text: string) => (stderr.text += text) };
  const code = await main(argv, {
    stdout,
    stderr,
    secretsClient: client,
    lambdaClient: new LambdaClient({ region: 'us-east-1' }),
    now: () => time,
    sleep: async (ms) => {
      sleeps.push(ms);
      time += ms;
      await emulator.rotation(SECRET);
    },
  });
  expect(countSecrets(stdout.text + stderr.text)).toBe(0);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const rotate = (...flags: string[]) => run(['credentials', 'rotate', '--secret-id', SECRET, ...flags]);

describe('ims-token credentials rotate', () => {
  it('starts a rotation and prints the new version without waiting', async () => {
    await configureRotation();
    const previous = emulator.current(SECRET)!.versionId;

    const result = await rotate();

    const { versionId } = await emulator.rotation(SECRET);
    expect(result).toEqual({
      code: 0,
      stdout: `rotation started: secret "${SECRET}", new version ${versionId} (current: ${previous})\n`,
      stderr: '',
    });
    expect(emulator.count('RotateSecret')).toBe(2);
    expect(sleeps).toEqual([]);
  });

  it('with --wait, reports createSecret and finishSecret and ends once AWSCURRENT moved', async () => {
    await configureRotation();
    const previous = emulator.current(SECRET)!.versionId;

    const result = await rotate('--wait');

    const versionId = emulator.current(SECRET)!.versionId;
    expect(versionId).not.toBe(previous);
    expect(result).toEqual({
      code: 0,
      stdout:
        `rotation started: secret "${SECRET}", new version ${versionId} (current: ${previous})\n` +
        `createSecret: version ${versionId} is AWSPENDING\n` +
        `finishSecret: AWSCURRENT moved to version ${versionId}\n`,
      stderr: '',
    });
    expect(sleeps).toEqual([5_000]);
    expect(emulator.stages(SECRET)[previous]).toEqual(['AWSPREVIOUS']);
  });

  it('with --wait --json, prints one JSON object with each step reached and no secret', async () => {
    await configureRotation();
    const previous = emulator.current(SECRET)!.versionId;

    const result = await rotate('--wait', '--json');

    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toEqual({
      secretId: SECRET,
      versionId: emulator.current(SECRET)!.versionId,
      previousVersionId: previous,
      waited: true,
      createSecret: 'succeeded',
      finishSecret: 'succeeded',
      elapsedSeconds: 5,
    });
  });

  it('fails with ROTATION_FAILED naming the log group when the rotation does not finish within --timeout-seconds', async () => {
    await configureRotation();
    const current = emulator.current(SECRET);
    failing.add('testSecret');

    const result = await rotate('--wait', '--timeout-seconds', '12');

    const { versionId } = await emulator.rotation(SECRET);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`createSecret: version ${versionId} is AWSPENDING\n`);
    expect(result.stdout).not.toContain('finishSecret');
    expect(result.stderr).toBe(
      `ims-token: ROTATION_FAILED: the rotation of secret "${SECRET}" did not finish in time: version ` +
        `${versionId} is still AWSPENDING (Secrets Manager retries failed steps; run again with a ` +
        `longer --timeout-seconds to keep waiting); see the rotation function's log group ${LOG_GROUP} (function ${FUNCTION_ARN})\n`,
    );
    expect(sleeps).toEqual([5_000, 5_000, 2_000]);
    expect(emulator.current(SECRET)).toEqual(current);
  });

  it("fails with ROTATION_FAILED when a previous rotation isn't complete, naming Lambda's default log group when the function's configuration cannot be read", async () => {
    await configureRotation();
    failing.add('createSecret');
    await rotate();
    const { versionId } = await emulator.rotation(SECRET);
    lambda.on(GetFunctionConfigurationCommand).rejects(new Error('AccessDeniedException'));

    const result = await rotate('--wait');

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      new RegExp(
        `^ims-token: ROTATION_FAILED: Secrets Manager refused to rotate secret "adobe/credentials": InvalidRequestException: ` +
          `A previous rotation isn't complete\\. That rotation will be reattempted\\. \\(version ${versionId} is AWSPENDING; ` +
          `if its rotation keeps failing, end it with "aws secretsmanager update-secret-version-stage --secret-id adobe/credentials ` +
          `--version-stage AWSPENDING --remove-from-version-id ${versionId}", then rotate again: the next createSecret deletes ` +
          `its secret at Adobe\\); see the rotation function's log group ` +
          `/aws/lambda/ImsTokenStack-Rotation1A2B3C \\(function ${FUNCTION_ARN}\\)\\n$`,
      ),
    );
  });

  it('fails with ROTATION_FAILED when the secret has no rotation function', async () => {
    const result = await rotate('--wait');

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `ims-token: ROTATION_FAILED: Secrets Manager refused to rotate secret "${SECRET}": InvalidRequestException: ` +
        'No Lambda rotation function ARN is associated with this secret.; the secret names no rotation function\n',
    );
    expect(lambda.calls()).toHaveLength(0);
  });

  it.each([
    [[], 'credentials rotate needs --secret-id <id>'],
    [['--secret-id', SECRET, '--timeout-seconds', '60'], '--timeout-seconds is only used with --wait'],
    [
      ['--secret-id', SECRET, '--wait', '--timeout-seconds', '0'],
      '--timeout-seconds must be a whole number from 1 to 3600',
    ],
    [
      ['--secret-id', SECRET, '--wait', '--timeout-seconds', '1.5'],
      '--timeout-seconds must be a whole number from 1 to 3600',
    ],
  ])('refuses %j as a usage error (exit 2) before any call', async (flags, message) => {
    const result = await run(['credentials', 'rotate', ...flags]);

    expect(result).toEqual({ code: 2, stdout: '', stderr: `ims-token: USAGE: ${message} (see --help)\n` });
    expect(emulator.count('DescribeSecret') + emulator.count('RotateSecret')).toBe(0);
  });
});
