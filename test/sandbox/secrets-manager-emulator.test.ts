import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
  type RotateSecretCommandInput,
  type SecretsManagerClient,
  type UpdateSecretVersionStageCommandInput,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PREVIOUS_ROTATION_INCOMPLETE, SecretsManagerEmulator } from './secrets-manager-emulator.js';
import {
  templateRotation,
  type RotationEvent,
  type RotationFunction,
  type RotationStep,
} from './secrets-manager-rotation.js';

const TOKEN_A = 'a'.repeat(64);
const TOKEN_B = 'b'.repeat(64);
const TOKEN_C = 'c'.repeat(64);
const TOKEN_D = 'd'.repeat(64);
/** The refresher's custom staging label for a version written but not yet swapped in. */
const PENDING = 'IMSREFRESHER_PENDING';

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

  describe('staging labels', () => {
    const putStaged = (SecretId: string, SecretString: string, ClientRequestToken: string, VersionStages: string[]) =>
      client.send(new PutSecretValueCommand({ SecretId, SecretString, ClientRequestToken, VersionStages }));
    const update = (input: Omit<UpdateSecretVersionStageCommandInput, 'SecretId'>) =>
      client.send(new UpdateSecretVersionStageCommand({ SecretId: 's', ...input }));
    /** Secret `s`: v1 (TOKEN_A, AWSPREVIOUS), v2 (TOKEN_B, AWSCURRENT), v3 (TOKEN_C, PENDING). */
    async function pendingOverCurrent() {
      await client.send(new CreateSecretCommand({ Name: 's', SecretString: 'v1', ClientRequestToken: TOKEN_A }));
      await put('s', 'v2', TOKEN_B);
      await putStaged('s', 'v3', TOKEN_C, [PENDING]);
    }

    it('puts a version with exactly the VersionStages given, moving each label from the version that had it', async () => {
      await pendingOverCurrent();
      const staged = emulator.stages('s');

      const again = await putStaged('s', 'v4', TOKEN_D, [PENDING]);

      expect(staged).toEqual({ [TOKEN_A]: ['AWSPREVIOUS'], [TOKEN_B]: ['AWSCURRENT'], [TOKEN_C]: [PENDING] });
      expect(again.VersionStages).toEqual([PENDING]);
      expect(emulator.stages('s')).toEqual({
        [TOKEN_A]: ['AWSPREVIOUS'],
        [TOKEN_B]: ['AWSCURRENT'],
        [TOKEN_C]: [],
        [TOKEN_D]: [PENDING],
      });
      const all = await client.send(new ListSecretVersionIdsCommand({ SecretId: 's', IncludeDeprecated: true }));
      expect(all.Versions?.find((v) => v.VersionId === TOKEN_C)?.VersionStages).toEqual([]);
      const pending = await client.send(new GetSecretValueCommand({ SecretId: 's', VersionStage: PENDING }));
      expect(pending.SecretString).toBe('v4');
    });

    it('makes the first version of a secret AWSCURRENT even when VersionStages does not name it', async () => {
      emulator.create('s');

      const first = await putStaged('s', 'v1', TOKEN_A, [PENDING]);
      await putStaged('s', 'v2', TOKEN_B, [PENDING]);

      expect(first.VersionStages).toEqual(['AWSCURRENT', PENDING]);
      expect(emulator.stages('s')).toEqual({ [TOKEN_A]: ['AWSCURRENT'], [TOKEN_B]: [PENDING] });
    });

    it('moves AWSCURRENT to AWSPREVIOUS when VersionStages names AWSCURRENT', async () => {
      await pendingOverCurrent();

      await putStaged('s', 'v4', TOKEN_D, ['AWSCURRENT', 'OTHER']);

      expect(emulator.stages('s')).toEqual({
        [TOKEN_A]: [],
        [TOKEN_B]: ['AWSPREVIOUS'],
        [TOKEN_C]: [PENDING],
        [TOKEN_D]: ['AWSCURRENT', 'OTHER'],
      });
    });

    it('treats a repeated ClientRequestToken with VersionStages as AWS does: same value → no label moves', async () => {
      await pendingOverCurrent();
      await putStaged('s', 'v4', TOKEN_D, [PENDING]);
      const before = emulator.stages('s');

      const again = await putStaged('s', 'v3', TOKEN_C, [PENDING]);
      const conflict = putStaged('s', 'other', TOKEN_C, [PENDING]);

      await expect(conflict).rejects.toBeInstanceOf(ResourceExistsException);
      expect(again).toMatchObject({ VersionId: TOKEN_C, VersionStages: [] });
      expect(emulator.stages('s')).toEqual(before);
      expect(emulator.versionCount('s')).toBe(4);
    });

    it('swaps AWSCURRENT to the pending version when RemoveFromVersionId names the current one; AWSPREVIOUS follows', async () => {
      await pendingOverCurrent();

      const swapped = await update({
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: TOKEN_C,
        RemoveFromVersionId: TOKEN_B,
      });

      expect(swapped).toMatchObject({ ARN: expect.stringContaining(':secret:s-'), Name: 's' });
      expect(emulator.stages('s')).toEqual({
        [TOKEN_A]: [],
        [TOKEN_B]: ['AWSPREVIOUS'],
        [TOKEN_C]: [PENDING, 'AWSCURRENT'],
      });
      expect(emulator.current('s')).toEqual({ versionId: TOKEN_C, value: 'v3' });
      expect(emulator.calls.at(-1)).toEqual({
        action: 'UpdateSecretVersionStage',
        secretId: 's',
        versionStage: 'AWSCURRENT',
      });
    });

    it('moves AWSCURRENT back to the AWSPREVIOUS version: the two labels swap', async () => {
      await pendingOverCurrent();

      await update({ VersionStage: 'AWSCURRENT', MoveToVersionId: TOKEN_A, RemoveFromVersionId: TOKEN_B });

      expect(emulator.stages('s')).toMatchObject({ [TOKEN_A]: ['AWSCURRENT'], [TOKEN_B]: ['AWSPREVIOUS'] });
    });

    it.each([
      [
        'RemoveFromVersionId is absent while the label is on another version',
        { MoveToVersionId: TOKEN_C },
        new RegExp(
          `^The parameter RemoveFromVersionId can't be empty\\. Staging label AWSCURRENT is currently attached to version ${TOKEN_B}, `,
        ),
      ],
      [
        'RemoveFromVersionId names a version without the label (another writer swapped first)',
        { MoveToVersionId: TOKEN_C, RemoveFromVersionId: TOKEN_A },
        /^When you move staging label AWSCURRENT, if you specify RemoveFromVersionId, it must be set to the version that currently has the staging label AWSCURRENT\.$/,
      ],
      [
        'RemoveFromVersionId names the target, which lacks the label',
        { MoveToVersionId: TOKEN_C, RemoveFromVersionId: TOKEN_C },
        /must be set to the version that currently has the staging label AWSCURRENT/,
      ],
      [
        'MoveToVersionId is unknown',
        { MoveToVersionId: TOKEN_D, RemoveFromVersionId: TOKEN_B },
        /^Not a valid version: d{64}$/,
      ],
      [
        'RemoveFromVersionId is unknown',
        { MoveToVersionId: TOKEN_C, RemoveFromVersionId: TOKEN_D },
        /^Not a valid version: d{64}$/,
      ],
      [
        'AWSCURRENT would be removed, not moved',
        { RemoveFromVersionId: TOKEN_B },
        /AWSCURRENT .*can’t be completely removed/,
      ],
    ])('refuses to move AWSCURRENT when %s: InvalidParameterException, nothing changes', async (_, input, message) => {
      await pendingOverCurrent();
      const before = emulator.stages('s');

      const refused = update({ VersionStage: 'AWSCURRENT', ...input });

      await expect(refused).rejects.toBeInstanceOf(InvalidParameterException);
      await expect(refused).rejects.toMatchObject({ message: expect.stringMatching(message) });
      expect(emulator.stages('s')).toEqual(before);
    });

    it('succeeds without a change when the label is already on MoveToVersionId', async () => {
      await pendingOverCurrent();
      const before = emulator.stages('s');

      await update({ VersionStage: 'AWSCURRENT', MoveToVersionId: TOKEN_B });
      await update({ VersionStage: 'AWSCURRENT', MoveToVersionId: TOKEN_B, RemoveFromVersionId: TOKEN_B });

      expect(emulator.stages('s')).toEqual(before);
    });

    it('removes a custom label from the version RemoveFromVersionId names, and attaches one that no version has', async () => {
      await pendingOverCurrent();

      await update({ VersionStage: PENDING, RemoveFromVersionId: TOKEN_C });
      await update({ VersionStage: 'LABEL', MoveToVersionId: TOKEN_A });

      expect(emulator.stages('s')).toEqual({
        [TOKEN_A]: ['AWSPREVIOUS', 'LABEL'],
        [TOKEN_B]: ['AWSCURRENT'],
        [TOKEN_C]: [],
      });
    });

    it('refuses VersionStages that AWS refuses: an empty list, or an empty label', async () => {
      emulator.create('s', 'v1');

      for (const stages of [[], ['']]) {
        await expect(putStaged('s', 'v2', TOKEN_A, stages)).rejects.toMatchObject({ name: 'ValidationException' });
      }
      expect(emulator.versionCount('s')).toBe(1);
    });
  });

  describe('holds', () => {
    it('holds a call unanswered until released, then processes it against the state at release', async () => {
      emulator.create('s', 'v1');
      const hold = emulator.hold('GetSecretValue', 's');
      let answered = false;

      const read = client.send(new GetSecretValueCommand({ SecretId: 's' })).finally(() => (answered = true));
      await hold.arrived;
      const countWhileHeld = emulator.count('GetSecretValue');
      await put('s', 'v2', TOKEN_A);
      const answeredWhileHeld = answered;
      hold.release();

      expect([countWhileHeld, answeredWhileHeld]).toEqual([1, false]);
      expect((await read).SecretString).toBe('v2');
    });

    it('holds only the calls it matches, each hold the next one, in the order the holds were queued', async () => {
      emulator.create('a', 'A');
      emulator.create('b', 'B');
      const first = emulator.hold('GetSecretValue', 'a');
      const second = emulator.hold('GetSecretValue');
      const read = (SecretId: string) =>
        client.send(new GetSecretValueCommand({ SecretId })).then((out) => out.SecretString);

      const described = await client.send(new DescribeSecretCommand({ SecretId: 'a' }));
      const fromB = read('b');
      await second.arrived;
      const fromA = read('a');
      await first.arrived;
      first.release();
      expect(await fromA).toBe('A');
      second.release();

      expect(await fromB).toBe('B');
      expect(described.Name).toBe('a');
      expect(await read('a')).toBe('A');
    });

    it('applies a fault queued for the held call after its release', async () => {
      emulator.create('s', 'v1');
      const hold = emulator.hold('GetSecretValue');
      emulator.fault('GetSecretValue', { type: 'AccessDeniedException' });

      const read = client.send(new GetSecretValueCommand({ SecretId: 's' }));
      await hold.arrived;
      hold.release();

      await expect(read).rejects.toMatchObject({ name: 'AccessDeniedException' });
    });

    it('drops a held call when the emulator closes: the client fails, the call is never processed', async () => {
      emulator.create('s', 'v1');
      const hold = emulator.hold('PutSecretValue');
      const once = emulator.client({ maxAttempts: 1 });

      const write = once.send(new PutSecretValueCommand({ SecretId: 's', SecretString: 'v2' }));
      await hold.arrived;
      await emulator.close();

      await expect(write).rejects.toThrow();
      once.destroy();
      hold.release();
      await new Promise((resolve) => setImmediate(resolve)); // a released call would be processed by now
      expect(emulator.versionCount('s')).toBe(1);
    });
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

describe('Secrets Manager emulator: rotation', () => {
  const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:rotation';
  let emulator: SecretsManagerEmulator;
  let client: SecretsManagerClient;
  let arn: string;
  /** Every step invoked, in order. */
  let events: RotationEvent[];
  /** Steps that throw the next time they run. */
  let failOnce: Set<RotationStep>;
  /** Resolves when the test lets the first step start. */
  let gate: Promise<void>;
  let open: () => void;

  /** The templates' rotation function, recording each step, waiting for the gate, failing the steps in `failOnce` once. */
  const rotation: RotationFunction = async (event) => {
    await gate;
    events.push(event);
    if (failOnce.delete(event.Step)) throw new Error(`${event.Step} failed`);
    await templateRotation(client, (token) => `rotated by ${token}`)(event);
  };

  beforeEach(async () => {
    events = [];
    failOnce = new Set();
    gate = new Promise((resolve) => (open = resolve));
    emulator = await SecretsManagerEmulator.start({ rotation });
    client = emulator.client();
    arn = emulator.create('adobe/credentials', 'v1');
  });
  afterEach(async () => {
    open();
    client.destroy();
    await emulator.close();
  });

  const rotate = (input: Partial<RotateSecretCommandInput> = {}) =>
    client.send(
      new RotateSecretCommand({
        SecretId: 'adobe/credentials',
        RotationLambdaARN: LAMBDA,
        RotationRules: { AutomaticallyAfterDays: 30 },
        ...input,
      }),
    );
  const describe_ = () => client.send(new DescribeSecretCommand({ SecretId: 'adobe/credentials' }));

  it('answers with the pending VersionId before any step, labelling an empty version AWSPENDING', async () => {
    const initial = emulator.current('adobe/credentials')!.versionId;

    const { VersionId } = await rotate({ ClientRequestToken: TOKEN_A });

    expect(VersionId).toBe(TOKEN_A);
    expect(events).toEqual([]);
    expect((await describe_()).VersionIdsToStages).toEqual({ [initial]: ['AWSCURRENT'], [TOKEN_A]: ['AWSPENDING'] });
    const listed = await client.send(new ListSecretVersionIdsCommand({ SecretId: arn }));
    expect(listed.Versions?.map((v) => [v.VersionId, v.VersionStages])).toEqual([
      [initial, ['AWSCURRENT']],
      [TOKEN_A, ['AWSPENDING']],
    ]);
    await expect(
      client.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPENDING' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('invokes the four steps in order with the ARN and the token, then shows the rotation in DescribeSecret', async () => {
    const initial = emulator.current('adobe/credentials')!.versionId;

    const { VersionId } = await rotate();
    open();
    const outcome = await emulator.rotation('adobe/credentials');

    expect(events).toEqual(
      ['createSecret', 'setSecret', 'testSecret', 'finishSecret'].map((Step) => ({
        Step,
        SecretId: arn,
        ClientRequestToken: VersionId,
      })),
    );
    expect(outcome).toEqual({ versionId: VersionId, completed: events.map((e) => e.Step), done: true });
    expect(emulator.current(arn)).toEqual({ versionId: VersionId, value: `rotated by ${VersionId}` });
    const described = await describe_();
    expect(described.VersionIdsToStages).toEqual({ [initial]: ['AWSPREVIOUS'], [VersionId!]: ['AWSCURRENT'] });
    expect(described).toMatchObject({
      RotationEnabled: true,
      RotationLambdaARN: LAMBDA,
      RotationRules: { AutomaticallyAfterDays: 30 },
    });
    const { LastRotatedDate, NextRotationDate } = described;
    expect(NextRotationDate!.getTime() - LastRotatedDate!.getTime()).toBe(30 * 24 * 3_600_000);
  });

  it('stops at the first failing step; refuses another rotation as AWS does until a retry of the same version finishes', async () => {
    const initial = emulator.current(arn)!;
    failOnce.add('testSecret');
    open();

    const { VersionId } = await rotate();
    const failed = await emulator.rotation(arn);
    const refused = rotate();

    expect(failed).toEqual({
      versionId: VersionId,
      completed: ['createSecret', 'setSecret'],
      failedStep: 'testSecret',
      error: 'testSecret failed',
      done: false,
    });
    await expect(refused).rejects.toMatchObject({
      name: 'InvalidRequestException',
      message: PREVIOUS_ROTATION_INCOMPLETE,
    });
    expect(emulator.current(arn)).toEqual(initial);
    expect((await describe_()).LastRotatedDate).toBeUndefined();

    const retried = await emulator.retryRotation(arn);

    expect(retried).toMatchObject({ versionId: VersionId, done: true });
    expect(events.map((e) => [e.Step, e.ClientRequestToken])).toEqual([
      ['createSecret', VersionId],
      ['setSecret', VersionId],
      ['testSecret', VersionId],
      ['createSecret', VersionId],
      ['setSecret', VersionId],
      ['testSecret', VersionId],
      ['finishSecret', VersionId],
    ]);
    expect(emulator.current(arn)?.versionId).toBe(VersionId);
    await expect(rotate()).resolves.toMatchObject({ VersionId: expect.any(String) });
  });

  it('crashes once after a step that did its work: its value stays AWSPENDING, and the retry reuses it', async () => {
    emulator.crashAfter('createSecret');
    open();

    const { VersionId } = await rotate();
    const crashed = await emulator.rotation(arn);
    const pending = await client.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPENDING' }));
    const retried = await emulator.retryRotation(arn);

    expect(crashed).toMatchObject({
      completed: [],
      failedStep: 'createSecret',
      error: 'injected crash after createSecret',
    });
    expect(pending).toMatchObject({ VersionId, SecretString: `rotated by ${VersionId}` });
    expect(retried.done).toBe(true);
    expect(emulator.current(arn)?.value).toBe(`rotated by ${VersionId}`);
    expect(emulator.versionCount(arn)).toBe(2);
  });

  it('with RotateImmediately false, stores the configuration and runs only testSecret, then takes AWSPENDING off', async () => {
    const initial = emulator.current(arn)!;
    open();

    const { VersionId } = await rotate({ RotateImmediately: false });
    const outcome = await emulator.rotation(arn);

    expect(events).toEqual([{ Step: 'testSecret', SecretId: arn, ClientRequestToken: VersionId }]);
    expect(outcome).toMatchObject({ completed: ['testSecret'], done: true });
    expect(emulator.stages(arn)).toEqual({ [initial.versionId]: ['AWSCURRENT'], [VersionId!]: [] });
    expect(await describe_()).toMatchObject({ RotationEnabled: true, RotationLambdaARN: LAMBDA });
    expect((await describe_()).LastRotatedDate).toBeUndefined();
  });

  it('keeps the function and the rules of the last RotateSecret when a later one names none', async () => {
    open();
    await rotate();
    await emulator.rotation(arn);

    await client.send(new RotateSecretCommand({ SecretId: arn }));

    expect((await emulator.rotation(arn)).done).toBe(true);
    expect(await describe_()).toMatchObject({
      RotationLambdaARN: LAMBDA,
      RotationRules: { AutomaticallyAfterDays: 30 },
    });
  });

  it.each<[string, Partial<RotateSecretCommandInput>, string]>([
    ['no rotation function ever named', { RotationLambdaARN: undefined }, 'InvalidRequestException'],
    [
      'both AutomaticallyAfterDays and ScheduleExpression',
      { RotationRules: { AutomaticallyAfterDays: 1, ScheduleExpression: 'rate(4 hours)' } },
      'InvalidParameterException',
    ],
    ['AutomaticallyAfterDays 0', { RotationRules: { AutomaticallyAfterDays: 0 } }, 'InvalidParameterException'],
    [
      'a Duration not in hours',
      { RotationRules: { AutomaticallyAfterDays: 1, Duration: '2d' } },
      'InvalidParameterException',
    ],
  ])('refuses %s, starting nothing', async (_case, input, name) => {
    await expect(rotate(input)).rejects.toMatchObject({ name });

    expect(emulator.versionCount(arn)).toBe(1);
    expect((await describe_()).RotationEnabled).toBeUndefined();
  });
});
