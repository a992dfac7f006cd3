import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerEmulator } from './secrets-manager-emulator.js';

const TOKEN_A = 'a'.repeat(64);
const TOKEN_B = 'b'.repeat(64);
const TOKEN_C = 'c'.repeat(64);

describe('Secrets Manager emulator, through the real SDK client', () => {
  let emulator: SecretsManagerEmulator;
  let client: SecretsManagerClient;

  beforeEach(async () => {
    emulator = await SecretsManagerEmulator.start();
    client = emulator.client();
  });
  afterEach(async () => {
    client.destroy();
    await emulator.close();
  });

  const put = (SecretId: string, SecretString: string, ClientRequestToken: string) =>
    client.send(new PutSecretValueCommand({ SecretId, SecretString, ClientRequestToken }));

  it('creates a secret and reads its value by name and by ARN', async () => {
    const created = await client.send(new CreateSecretCommand({ Name: 'app/creds', SecretString: 'one' }));

    const byName = await client.send(new GetSecretValueCommand({ SecretId: 'app/creds' }));
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: created.ARN }));

    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:app\/creds-\w{6}$/);
    expect(byName).toMatchObject({ SecretString: 'one', VersionId: created.VersionId, VersionStages: ['AWSCURRENT'] });
    expect(byArn.VersionId).toBe(created.VersionId);
    expect(byName.CreatedDate).toBeInstanceOf(Date);
  });

  it('finds a secret by SecretId as AWS does: name, complete ARN, or partial ARN unless it looks complete', async () => {
    const plain = emulator.create('app/creds', 'plain');
    const hyphened = emulator.create('adobe/aem-prod-author', 'hyphened');
    const read = (SecretId: string) =>
      client.send(new GetSecretValueCommand({ SecretId })).then((out) => out.SecretString);
    const partial = (arn: string) => arn.slice(0, -7);

    expect(await read('app/creds')).toBe('plain');
    expect(await read(plain)).toBe('plain');
    expect(await read(partial(plain))).toBe('plain');
    expect(await read('adobe/aem-prod-author')).toBe('hyphened');
    expect(await read(hyphened)).toBe('hyphened');
    // "…:secret:adobe/aem-prod-author" ends in "-author": AWS takes it for a complete ARN, of a secret "adobe/aem-prod".
    for (const missing of [
      partial(hyphened),
      partial(plain).replace('123456789012', '210987654321'),
      `${partial(plain)}-AbCdEf`,
      'app',
      partial(plain).slice(0, -1), // a prefix of the name
    ]) {
      await expect(read(missing), missing).rejects.toBeInstanceOf(ResourceNotFoundException);
    }
    await expect(client.send(new DescribeSecretCommand({ SecretId: partial(hyphened) }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('has no AWSCURRENT value for a secret created without one, and no unknown secret', async () => {
    await client.send(new CreateSecretCommand({ Name: 'empty' }));

    await expect(client.send(new GetSecretValueCommand({ SecretId: 'empty' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(client.send(new CreateSecretCommand({ Name: 'empty' }))).rejects.toBeInstanceOf(
      ResourceExistsException,
    );
  });

  it('moves AWSCURRENT to a new value and AWSPREVIOUS to the one before; older versions lose their labels', async () => {
    await client.send(new CreateSecretCommand({ Name: 's', SecretString: 'v1', ClientRequestToken: TOKEN_A }));

    await put('s', 'v2', TOKEN_B);
    await put('s', 'v3', TOKEN_C);

    const previous = await client.send(new GetSecretValueCommand({ SecretId: 's', VersionStage: 'AWSPREVIOUS' }));
    const first = await client.send(new GetSecretValueCommand({ SecretId: 's', VersionId: TOKEN_A }));
    const described = await client.send(new DescribeSecretCommand({ SecretId: 's' }));
    const listed = await client.send(new ListSecretVersionIdsCommand({ SecretId: 's' }));
    const all = await client.send(new ListSecretVersionIdsCommand({ SecretId: 's', IncludeDeprecated: true }));
    expect(emulator.current('s')).toEqual({ versionId: TOKEN_C, value: 'v3' });
    expect(previous.SecretString).toBe('v2');
    expect(first).toMatchObject({ SecretString: 'v1', VersionStages: [] });
    expect(described.VersionIdsToStages).toEqual({ [TOKEN_B]: ['AWSPREVIOUS'], [TOKEN_C]: ['AWSCURRENT'] });
    expect(listed.Versions?.map((v) => v.VersionId)).toEqual([TOKEN_B, TOKEN_C]);
    expect(all.Versions).toHaveLength(3);
  });

  it('treats a repeated ClientRequestToken as AWS does: same value → that version, other value → ResourceExistsException', async () => {
    emulator.create('token');
    const first = await put('token', 'value', TOKEN_A);

    const again = await put('token', 'value', TOKEN_A);
    const conflict = put('token', 'other value', TOKEN_A);

    await expect(conflict).rejects.toBeInstanceOf(ResourceExistsException);
    expect(again.VersionId).toBe(first.VersionId);
    expect(emulator.versionCount('token')).toBe(1);
    expect(emulator.current('token')?.value).toBe('value');
  });

  it('counts the calls that arrive over the wire, not in-process set-up', async () => {
    emulator.create('s', 'v1');

    await client.send(new GetSecretValueCommand({ SecretId: 's' }));
    await client.send(new GetSecretValueCommand({ SecretId: 's' }));
    await put('s', 'v2', TOKEN_A);

    expect(emulator.count('GetSecretValue')).toBe(2);
    expect(emulator.count('PutSecretValue', 's')).toBe(1);
    expect(emulator.count('CreateSecret')).toBe(0);
  });

  it('answers queued faults per action and in order, as AWS errors the SDK raises (and retries, for a 5xx)', async () => {
    emulator.create('s', 'v1');
    emulator.fault(
      'GetSecretValue',
      { type: 'AccessDeniedException', message: 'denied' },
      { type: 'InternalServiceError', status: 500 },
    );

    const denied = client.send(new GetSecretValueCommand({ SecretId: 's' }));
    await expect(denied).rejects.toMatchObject({ name: 'AccessDeniedException', message: 'denied', $fault: 'client' });
    const retried = await client.send(new GetSecretValueCommand({ SecretId: 's' }));
    const described = await client.send(new DescribeSecretCommand({ SecretId: 's' }));

    expect(retried.SecretString).toBe('v1');
    expect(described.Name).toBe('s');
    expect(emulator.count('GetSecretValue')).toBe(3);
  });

  it('leaves a call hanging: the client gets no answer within its request timeout, the next call is answered', async () => {
    emulator.create('s', 'v1');
    emulator.fault('GetSecretValue', 'hang');
    const impatient = emulator.client({
      maxAttempts: 1,
      requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true },
    });

    const hung = impatient.send(new GetSecretValueCommand({ SecretId: 's' }));
    await expect(hung).rejects.toMatchObject({ name: 'TimeoutError' });
    const next = await impatient.send(new GetSecretValueCommand({ SecretId: 's' }));
    impatient.destroy();

    expect(next.SecretString).toBe('v1');
    expect(emulator.count('GetSecretValue')).toBe(2);
  });

  it('forgets a deleted secret: GetSecretValue and DescribeSecret both raise ResourceNotFoundException', async () => {
    emulator.create('gone', 'v1');

    emulator.delete('gone');

    await expect(client.send(new GetSecretValueCommand({ SecretId: 'gone' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(client.send(new DescribeSecretCommand({ SecretId: 'gone' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('keeps a binary value: GetSecretValue answers SecretBinary (base64 on the wire) and no SecretString', async () => {
    emulator.create('binary', 'text');
    const bytes = Buffer.from('{"clientId":"x"}');

    const versionId = emulator.putBinary('binary', bytes);

    const out = await client.send(new GetSecretValueCommand({ SecretId: 'binary' }));
    expect([out.VersionId, out.SecretString]).toEqual([versionId, undefined]);
    expect(Buffer.from(out.SecretBinary!)).toEqual(bytes);
    expect(() => emulator.current('binary')).toThrow(/SecretBinary/);
  });

  it('refuses a value over 64 KiB with ValidationException, as AWS does', async () => {
    emulator.create('big');

    const tooBig = put('big', 'x'.repeat(65_537), TOKEN_A);

    await expect(tooBig).rejects.toMatchObject({ name: 'ValidationException' });
    expect(emulator.versionCount('big')).toBe(0);
  });
});
