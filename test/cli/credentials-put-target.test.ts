/**
 * `ims-token credentials put` against the Secrets Manager emulator: it refuses to upload
 * credentials into a token secret (which every token reader may read), by the description the
 * construct gives token secrets or by a token record in it, before anything is uploaded.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/cli.js';
import { SecretsManagerEmulator } from '../sandbox/secrets-manager-emulator.js';
import { countSecrets } from '../sandbox/secret-registry.js';
import { generateJwtCredentials } from '../sandbox/test-credentials.js';
import { tokenSecretValue } from '../support/token-secret.js';

/** The descriptions deployed stacks carry (the construct at path `ImsTokenRefresher/AemProd`). */
const TOKEN_DESCRIPTION =
  'Adobe IMS access token kept fresh by ImsTokenRefresher/AemProd; JSON, see the token contract';
const CREDENTIALS_DESCRIPTION =
  'Adobe IMS credentials JSON for ImsTokenRefresher/AemProd (put-secret-value after deploy)';
const PLACEHOLDER = 'r4nd0m-placeholder-value-of-a-new-secret';
const TOKEN = 'cli-put-target-access-token';

let emulator: SecretsManagerEmulator;
let client: SecretsManagerClient;
let credentialsJson: string;
let credentialsFile: string;
let secrets = 0;

beforeAll(async () => {
  emulator = await SecretsManagerEmulator.start();
  client = emulator.client();
  credentialsJson = (await generateJwtCredentials({ validFrom: new Date(), validTo: new Date(Date.now() + 9e9) })).json;
  credentialsFile = join(mkdtempSync(join(tmpdir(), 'ims-cli-put-target-')), 'credentials.json');
  writeFileSync(credentialsFile, credentialsJson);
});
afterAll(async () => {
  client.destroy();
  await emulator.close();
});

/** A new secret in the emulator, as CloudFormation or a person made it; returns its name. */
async function secret(description: string | undefined, value: string | undefined): Promise<string> {
  const name = `adobe/secret-${++secrets}`;
  await client.send(new CreateSecretCommand({ Name: name, Description: description, SecretString: value }));
  return name;
}

async function put(secretId: string) {
  const stdout = { text: '', write: (text: string) => (stdout.text += text) };
  const stderr = { text: '', write: (text: string) => (stderr.text += text) };
  const argv = ['credentials', 'put', '--secret-id', secretId, '--file', credentialsFile];
  const code = await main(argv, { stdout, stderr, secretsClient: client });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('ims-token credentials put: never into a token secret', () => {
  it.each([
    ['the token secret the construct made, by its description', TOKEN_DESCRIPTION, true, 'its description says so'],
    [
      'the token secret the construct made, before its first token, by its description',
      TOKEN_DESCRIPTION,
      false,
      'its description says so',
    ],
    ['a secret that holds a token record, described otherwise', 'our token', true, 'it holds a token record'],
    ['a secret that holds a token record, described not at all', undefined, true, 'it holds a token record'],
    [
      'a secret that holds a record with an access_token outside the contract',
      undefined,
      '{"access_token": "x", "expires_at": "soon"}',
      'it holds a token record',
    ],
  ])('refuses %s: exit 1, WRONG_SECRET, nothing uploaded', async (_name, description, holdsToken, because) => {
    const value =
      typeof holdsToken === 'string' ? holdsToken : holdsToken ? tokenSecretValue(TOKEN, Date.now()) : PLACEHOLDER;
    const name = await secret(description, value);
    const before = emulator.current(name);

    const result = await put(name);

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `ims-token: WRONG_SECRET: secret "${name}" is a token secret (${because}), which token readers read; ` +
        'nothing was uploaded: put the credentials into the credentials secret (stack output …CredentialsSecretId)\n',
    });
    expect(emulator.count('PutSecretValue', name)).toBe(0);
    expect(emulator.current(name)).toEqual(before);
    expect(countSecrets(result.stderr)).toBe(0);
  });

  it('fails closed, naming secretsmanager:DescribeSecret, when the secret cannot be described', async () => {
    const name = await secret(undefined, PLACEHOLDER);
    emulator.fault('DescribeSecret', { type: 'AccessDeniedException', message: 'not authorized to DescribeSecret' });

    const result = await put(name);

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `ims-token: CREDENTIALS_WRITE_FAILED: could not check that secret "${name}" is not a token secret ` +
        '(secretsmanager:DescribeSecret), so nothing was uploaded: AccessDeniedException: not authorized to DescribeSecret\n',
    });
    expect(emulator.count('PutSecretValue', name)).toBe(0);
  });

  it('fails closed when the value cannot be read for a reason other than a denial (throttled, timed out)', async () => {
    const name = await secret('credentials for AEM prod', PLACEHOLDER);
    const throttled = { type: 'ThrottlingException', message: 'Rate exceeded' };
    emulator.fault('GetSecretValue', throttled, throttled, throttled); // every attempt the SDK makes

    const result = await put(name);

    expect(result).toMatchObject({ code: 1, stderr: expect.stringContaining('CREDENTIALS_WRITE_FAILED') });
    expect(emulator.count('PutSecretValue', name)).toBe(0);
  });

  it('uploads into the credentials secret the construct made without reading its value (its policy denies that)', async () => {
    const name = await secret(CREDENTIALS_DESCRIPTION, PLACEHOLDER);

    const result = await put(name);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(emulator.current(name)?.value).toBe(credentialsJson);
    expect(emulator.count('GetSecretValue', name)).toBe(0);
  });

  it.each([
    ['its value cannot be read (an imported credentials secret may deny it)', PLACEHOLDER, true],
    ['it has no value yet', undefined, false],
    ['it holds other credentials', 'p8e-previous-credentials-value', false],
  ])('uploads into a secret described otherwise when %s', async (_name, value, denied) => {
    const name = await secret('credentials for AEM prod', value);
    if (denied) emulator.fault('GetSecretValue', { type: 'AccessDeniedException', message: 'denied by its policy' });

    const result = await put(name);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(emulator.current(name)?.value).toBe(credentialsJson);
    expect(emulator.count('GetSecretValue', name)).toBe(1);
  });
});
