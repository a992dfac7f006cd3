import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { randomBytes } from 'node:crypto';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { REDACTED, rememberSecret } from '../../common/redact.js';
import { SecretsManagerStore, STORE_TIMEOUTS, secretsManagerClient } from '../../common/secrets-manager-store.js';
import { assertNoSecrets } from '../sandbox/secret-registry.js';
import { registerSecret } from '../support/leak-guard.js';

const sm = mockClient(SecretsManagerClient);
const store = () => new SecretsManagerStore(new SecretsManagerClient({ region: 'us-east-1' }));

beforeEach(() => sm.reset());

describe('SecretsManagerStore', () => {
  const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf';
  const notFound = () => new ResourceNotFoundException({ message: 'not found', $metadata: {} });

  it("reads the current value, its version and the secret's full ARN", async () => {
    sm.on(GetSecretValueCommand, { SecretId: 's' }).resolves({ SecretString: '{"a":1}', VersionId: 'v-1', ARN: arn });
    await expect(store().read('s')).resolves.toEqual({ value: '{"a":1}', versionId: 'v-1', arn });
  });

  it('reads the previous version by its staging label, and reports none as undefined', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 's', VersionStage: 'AWSPREVIOUS' }).resolves({
      SecretString: '{"b":2}',
      VersionId: 'v-0',
      ARN: arn,
    });
    await expect(store().read('s', { versionStage: 'AWSPREVIOUS' })).resolves.toEqual({
      value: '{"b":2}',
      versionId: 'v-0',
      arn,
    });

    sm.reset();
    sm.on(GetSecretValueCommand).rejects(notFound()); // what AWS answers for a label no version has
    sm.on(DescribeSecretCommand, { SecretId: 's' }).resolves({ ARN: arn, Name: 's' });
    await expect(store().read('s', { versionStage: 'AWSPREVIOUS' })).resolves.toBeUndefined();
  });

  it('reports a secret that exists without a current value as undefined', async () => {
    sm.on(GetSecretValueCommand).rejects(notFound());
    sm.on(DescribeSecretCommand, { SecretId: 's' }).resolves({ ARN: arn, Name: 's' });
    await expect(store().read('s')).resolves.toBeUndefined();
  });

  it('fails permanently, naming it, when the secret does not exist at all (deleted)', async () => {
    sm.on(GetSecretValueCommand).rejects(notFound());
    sm.on(DescribeSecretCommand).rejects(notFound());
    await expect(store().read('s')).rejects.toMatchObject({
      name: 'SecretStoreError',
      code: 'SECRET_READ_FAILED',
      transient: false,
      message: 'secret "s" does not exist (deleted?); create it or correct the secret id',
    });
  });

  it('names a binary secret as such instead of calling it empty', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([123, 125]), VersionId: 'v-1', ARN: arn });
    await expect(store().read('s')).rejects.toMatchObject({
      code: 'SECRET_READ_FAILED',
      transient: false,
      message: expect.stringContaining('holds a binary value (SecretBinary)'),
    });
  });

  it('builds clients whose request timeout throws instead of only warning, and whose idle body times out too', async () => {
    const handler = secretsManagerClient({ region: 'us-east-1' }).config.requestHandler as unknown as {
      configProvider: Promise<Record<string, unknown>>;
    };
    await expect(handler.configProvider).resolves.toMatchObject({
      connectionTimeout: STORE_TIMEOUTS.connectionTimeoutMs,
      requestTimeout: STORE_TIMEOUTS.requestTimeoutMs,
      socketTimeout: STORE_TIMEOUTS.requestTimeoutMs,
      throwOnRequestTimeout: true,
    });
  });

  it('wraps other SDK errors once, naming the secret and keeping the cause', async () => {
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    sm.on(GetSecretValueCommand).rejects(denied);
    await expect(store().read('adobe/creds')).rejects.toMatchObject({
      name: 'SecretStoreError',
      code: 'SECRET_READ_FAILED',
      message: 'could not read secret "adobe/creds": User is not authorized',
      cause: denied,
    });
  });

  it('keeps the timeout hint before the SDK error message', async () => {
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('Request did not complete within 5000 ms'), { name: 'TimeoutError' }),
    );
    await expect(store().read('s')).rejects.toMatchObject({
      message: 'could not read secret "s": no answer in time (Request did not complete within 5000 ms)',
    });
  });

  it('appends a hostile cause message redacted, on one line and bounded', async () => {
    const secret = `leaked-${randomBytes(12).toString('hex')}`;
    const jwt = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
    registerSecret(secret, jwt);
    rememberSecret(secret);
    sm.on(GetSecretValueCommand).rejects(
      new Error(`echo ${secret} and ${jwt}\r\n{"level":"INFO","forged":true} ${'x'.repeat(5_000)}`),
    );

    const { message } = (await store()
      .read('s')
      .catch((e: unknown) => e)) as Error;

    expect(message.startsWith(`could not read secret "s": echo ${REDACTED} and ${REDACTED}  {"level":"INFO"`)).toBe(
      true,
    );
    expect(message).not.toMatch(/[\r\n]/);
    expect(message.length).toBeLessThan(400);
    expect(message.endsWith('…')).toBe(true);
    assertNoSecrets(message);
  });

  it('stages a value under the pending label, with the ClientRequestToken as its version id', async () => {
    sm.on(PutSecretValueCommand).resolves({ VersionId: 'a'.repeat(64) });
    await expect(store().stage('t', 'value', 'a'.repeat(64))).resolves.toEqual({ duplicate: false });
    expect(sm.commandCalls(PutSecretValueCommand)[0].args[0].input).toEqual({
      SecretId: 't',
      SecretString: 'value',
      ClientRequestToken: 'a'.repeat(64),
      VersionStages: ['IMSREFRESHER_PENDING'],
    });
  });

  it('promotes a version only from the expected current version, and reports a moved AWSCURRENT as false', async () => {
    sm.on(UpdateSecretVersionStageCommand, { RemoveFromVersionId: 'v-1' }).resolves({});
    sm.on(UpdateSecretVersionStageCommand, { RemoveFromVersionId: 'v-0' }).rejects(
      new InvalidParameterException({ message: 'RemoveFromVersionId must be the current version', $metadata: {} }),
    );
    await expect(store().promote('t', 'v-2', 'v-1')).resolves.toBe(true);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)[0].args[0].input).toEqual({
      SecretId: 't',
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: 'v-2',
      RemoveFromVersionId: 'v-1',
    });
    await expect(store().promote('t', 'v-2', 'v-0')).resolves.toBe(false);
  });

  it('reads a version by its id', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 's', VersionId: 'v-7' }).resolves({
      SecretString: 'x',
      VersionId: 'v-7',
      ARN: arn,
    });
    await expect(store().read('s', { versionId: 'v-7' })).resolves.toEqual({ value: 'x', versionId: 'v-7', arn });
  });

  it("reads a rotation's pending version by id and label, with its staging labels", async () => {
    sm.on(GetSecretValueCommand, { SecretId: 's', VersionId: 'v-8', VersionStage: 'AWSPENDING' }).resolves({
      SecretString: 'x',
      VersionId: 'v-8',
      ARN: arn,
      VersionStages: ['AWSPENDING'],
    });
    await expect(store().read('s', { versionId: 'v-8', versionStage: 'AWSPENDING' })).resolves.toEqual({
      value: 'x',
      versionId: 'v-8',
      arn,
      stages: ['AWSPENDING'],
    });
  });

  it("stages a rotation's new credentials under AWSPENDING, and names the secret (not a token) when that fails", async () => {
    sm.on(PutSecretValueCommand).resolvesOnce({}).rejects(new Error('boom'));
    await store().stage('c', 'value', 'e'.repeat(64), { label: 'AWSPENDING' });
    expect(sm.commandCalls(PutSecretValueCommand)[0].args[0].input).toMatchObject({
      ClientRequestToken: 'e'.repeat(64),
      VersionStages: ['AWSPENDING'],
    });
    await expect(store().stage('c', 'value', 'e'.repeat(64), { label: 'AWSPENDING' })).rejects.toMatchObject({
      message: 'could not write secret "c": boom',
    });
  });

  it('reports a reused ClientRequestToken with another value as a duplicate', async () => {
    sm.on(PutSecretValueCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    await expect(store().stage('t', 'value', 'b'.repeat(64))).resolves.toEqual({ duplicate: true });
  });

  it('wraps write failures as TOKEN_WRITE_FAILED without the value', async () => {
    sm.on(PutSecretValueCommand).rejects(new Error('boom'));
    const error = await store()
      .stage('t', 'secret-token-value', 'c'.repeat(64))
      .catch((e: Error) => e);
    expect(error).toMatchObject({
      code: 'TOKEN_WRITE_FAILED',
      transient: true,
      message: 'could not write token secret "t": boom',
    });
    expect((error as Error).message).not.toContain('secret-token-value');
  });

  it.each([
    ['AccessDeniedException', 'client', undefined, false],
    ['DecryptionFailure', 'client', undefined, false],
    ['ResourceNotFoundException', 'client', undefined, false],
    ['ThrottlingException', 'client', { throttling: true }, true],
    ['ThrottlingException', 'client', undefined, true],
    ['InternalServiceError', 'server', undefined, true],
    ['TimeoutError', undefined, undefined, true],
  ] as const)(
    'classes a failed write with %s (%s fault) as transient: %s',
    async (name, fault, retryable, transient) => {
      const error = Object.assign(new Error(name), { name, $fault: fault, $retryable: retryable, $metadata: {} });
      sm.on(PutSecretValueCommand).rejects(error);
      sm.on(UpdateSecretVersionStageCommand).rejects(error);
      for (const write of [store().stage('t', 'value', 'd'.repeat(64)), store().promote('t', 'v-2', 'v-1')]) {
        await expect(write).rejects.toMatchObject({ code: 'TOKEN_WRITE_FAILED', transient });
      }
    },
  );

  it('classes a refused read as permanent', async () => {
    const denied = Object.assign(new Error('denied'), {
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: {},
    });
    sm.on(GetSecretValueCommand).rejects(denied);
    await expect(store().read('s')).rejects.toMatchObject({ code: 'SECRET_READ_FAILED', transient: false });
  });
});
