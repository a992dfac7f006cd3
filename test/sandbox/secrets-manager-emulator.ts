import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { Holds, type Hold } from './holds.js';
import type { TestCertificate } from './test-tls.js';
import { listen, readBody, sendJson, type LoopbackServer } from './loopback-server.js';
import {
  describeRotation,
  ROTATION_STEPS,
  rotationRulesProblem,
  runSteps,
  type RotationConfig,
  type RotationFunction,
  type RotationOutcome,
  type RotationRules,
  type RotationStep,
} from './secrets-manager-rotation.js';

/** One call that reached the emulator over the wire. */
export interface EmulatorCall {
  /** e.g. `GetSecretValue` */
  readonly action: string;
  /** The request's `SecretId` (or `Name` for CreateSecret), as sent. */
  readonly secretId: string | undefined;
  /** The request's `VersionStage`, when it names one. */
  readonly versionStage?: string;
}

/**
 * What the next call of one action gets instead of its normal answer: `hang` (no answer until the
 * emulator closes, or the client gives up), `stall` (the headers and the first bytes of a 200, then
 * silence), or an AWS error (`type` is the `__type`, e.g. `InternalServiceError` with `status`
 * 500; status 400 by default).
 */
export type EmulatorFault =
  'hang' | 'stall' | { readonly type: string; readonly status?: number; readonly message?: string };

/** A version's value: AWS keeps exactly one of the two. */
type SecretValue = { readonly string: string } | { readonly binary: string /* base64, as on the wire */ };

interface Version {
  readonly id: string;
  /** None on the version `RotateSecret` labels AWSPENDING until the rotation function puts its value. */
  value: SecretValue | undefined;
  readonly created: number;
  /** Staging labels, each on at most one version of the secret; none: the version is deprecated. */
  readonly stages: Set<string>;
}

interface Secret {
  readonly arn: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly created: number;
  readonly versions: Version[];
  /** Set by `RotateSecret`. */
  rotation?: RotationConfig;
}

type Input = Record<string, unknown>;

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
/** The pseudo parameters of the account and region the emulator stands for, by name (`AWS::Region`). */
export const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};
/** The `-` and six characters AWS adds to a secret's name in its ARN. */
const SUFFIX_LENGTH = 7;
/** How AWS tells a complete ARN: its name part (after `secret:`) ends in `-` and six characters. */
const ARN_LOOKS_COMPLETE = /:secret:.*-.{6}$/s;
/** AWS's limits for `VersionStages`: 1–20 labels of 1–256 characters. */
const MAX_STAGES = 20;
const MAX_STAGE_LENGTH = 256;
/** AWS's limit for `SecretString` and for the decoded `SecretBinary`. */
const MAX_SECRET_BYTES = 65_536;

/** AWS's refusal of a rotation while AWSPENDING is on a version that is not AWSCURRENT. */
export const PREVIOUS_ROTATION_INCOMPLETE = "A previous rotation isn't complete. That rotation will be reattempted.";

/** An error as AWS sends it: the SDK turns `__type` into the exception class of that name. */
class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * AWS Secrets Manager on 127.0.0.1, speaking its real wire protocol (JSON 1.1 over HTTP,
 * `X-Amz-Target: secretsmanager.<Action>`), so the real SDK client, pointed here with
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER`, raises the real exception classes. It finds a secret by
 * `SecretId` as AWS does (name, complete ARN, or partial ARN). Implements CreateSecret,
 * GetSecretValue, PutSecretValue (with AWS's `ClientRequestToken` idempotency, `VersionStages`,
 * `SecretString` or `SecretBinary`), UpdateSecretVersionStage (with AWS's `RemoveFromVersionId`
 * check: a compare-and-swap of a label), DescribeSecret and ListSecretVersionIds. A staging label
 * is on at most one version; moving AWSCURRENT moves AWSPREVIOUS to the version it left (and
 * takes AWSPENDING off the version it reaches). `RotateSecret` (secrets-manager-rotation.ts) labels
 * an empty version AWSPENDING and runs the steps through the `rotation` function given to `start`.
 * Faults can be queued per action, and calls held until released. Signatures are not checked. State
 * is in memory.
 */
export class SecretsManagerEmulator {
  /** Every call received over the wire, in order. */
  readonly calls: EmulatorCall[] = [];
  private readonly secrets: Secret[] = [];
  private readonly faults = new Map<string, EmulatorFault[]>();
  private readonly holds = new Holds<EmulatorCall>();
  /** The latest rotation of each secret, by ARN. */
  private readonly rotations = new Map<string, Promise<RotationOutcome>>();
  private readonly crashes = new Set<RotationStep>();
  private readonly actions: Record<string, (input: Input) => object> = {
    CreateSecret: (input) => this.createSecret(input),
    GetSecretValue: (input) => this.getSecretValue(input),
    PutSecretValue: (input) => this.putSecretValue(input),
    UpdateSecretVersionStage: (input) => this.updateSecretVersionStage(input),
    DescribeSecret: (input) => this.describeSecret(input),
    ListSecretVersionIds: (input) => this.listSecretVersionIds(input),
    RotateSecret: (input) => this.rotateSecret(input),
  };

  private constructor(
    private readonly server: LoopbackServer,
    private readonly clockOffsetMs: number,
    private readonly rotationFunction: RotationFunction | undefined,
  ) {}

  /**
   * Starts an empty emulator on an ephemeral port. `clockOffsetMs` sets its clock that far ahead of
   * this host's (negative: behind), as its answers' `Date` header shows it: a host with a skewed clock.
   * With `tls` it speaks HTTPS, as Secrets Manager does. `rotation` is the rotation function
   * `RotateSecret` invokes, whatever `RotationLambdaARN` names.
   */
  static async start(
    options: { clockOffsetMs?: number; tls?: TestCertificate; rotation?: RotationFunction } = {},
  ): Promise<SecretsManagerEmulator> {
    let emulator: SecretsManagerEmulator | undefined;
    const server = await listen((request, response) => emulator!.serve(request, response), options.tls);
    emulator = new SecretsManagerEmulator(server, options.clockOffsetMs ?? 0, options.rotation);
    return emulator;
  }

  /** `http://127.0.0.1:<port>` (`https:` with TLS) */
  get url(): string {
    return this.server.url;
  }

  /** The environment that points an SDK v3 client (in any process) at this emulator. */
  env(): { AWS_ENDPOINT_URL_SECRETS_MANAGER: string } {
    return { AWS_ENDPOINT_URL_SECRETS_MANAGER: this.url };
  }

  /** A real SDK client pointed at this emulator, with dummy credentials; `config` adds to or replaces the defaults. */
  client(config: SecretsManagerClientConfig = {}): SecretsManagerClient {
    return new SecretsManagerClient({
      endpoint: this.url,
      region: REGION,
      credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' },
      ...config,
    });
  }

  /** Queues faults for `action` (e.g. `GetSecretValue`): each replaces the answer to one of its next calls, in order. */
  fault(action: string, ...faults: EmulatorFault[]): void {
    this.faults.set(action, [...(this.faults.get(action) ?? []), ...faults]);
  }

  /**
   * Holds the next call of `action` (for `secretId` as sent, when given): it is recorded, then
   * waits unanswered until released, and is processed (faults included) only then.
   */
  hold(action: string, secretId?: string): Hold {
    return this.holds.add(calling(action, secretId));
  }

  /** How many calls of `action` (optionally for one `SecretId`) arrived over the wire. */
  count(action: string, secretId?: string): number {
    return this.calls.filter(calling(action, secretId)).length;
  }

  /** Creates a secret in-process (not counted as a call), as CloudFormation would. Returns its ARN. */
  create(name: string, value?: string): string {
    return this.createSecret({ Name: name, SecretString: value }).ARN;
  }

  /** Puts a new AWSCURRENT value in-process (not counted as a call), as an admin would. Returns its version id. */
  put(secretId: string, value: string): string {
    return this.putSecretValue({ SecretId: secretId, SecretString: value }).VersionId;
  }

  /** Puts a new AWSCURRENT binary value in-process, as an admin uploading a file would. Returns its version id. */
  putBinary(secretId: string, bytes: Uint8Array): string {
    return this.putSecretValue({ SecretId: secretId, SecretBinary: Buffer.from(bytes).toString('base64') }).VersionId;
  }

  /** Deletes a secret in-process without a recovery window (`ForceDeleteWithoutRecovery`): it is gone. */
  delete(secretId: string): void {
    this.secrets.splice(this.secrets.indexOf(this.find(secretId)), 1);
  }

  /** The AWSCURRENT version of a secret (name or ARN), read in-process; throws if it holds a binary value. */
  current(secretId: string): { versionId: string; value: string } | undefined {
    const version = this.find(secretId).versions.find((v) => v.stages.has('AWSCURRENT'));
    if (!version?.value) return undefined;
    if (!('string' in version.value)) throw new Error(`secret "${secretId}" holds a binary value (SecretBinary)`);
    return { versionId: version.id, value: version.value.string };
  }

  /** The staging labels of each version of a secret (name or ARN), by version id; `[]` for a deprecated one. */
  stages(secretId: string): Record<string, string[]> {
    return Object.fromEntries(this.find(secretId).versions.map((v) => [v.id, [...v.stages]]));
  }

  /** How many versions a secret (name or ARN) has, labelled or not. */
  versionCount(secretId: string): number {
    return this.find(secretId).versions.length;
  }

  /**
   * The outcome of the latest rotation of a secret (name or ARN), once it has ended. `RotateSecret`
   * answers before its steps run, as on AWS.
   */
  rotation(secretId: string): Promise<RotationOutcome> {
    const rotation = this.rotations.get(this.find(secretId).arn);
    if (!rotation) throw new Error(`secret "${secretId}" was never rotated`);
    return rotation;
  }

  /**
   * Makes the next rotation step `step` fail once after it ran (its calls landed), as a function
   * that did its work and then timed out: the rotation stops there, AWSPENDING left in place.
   */
  crashAfter(step: RotationStep): void {
    this.crashes.add(step);
  }

  /**
   * Runs a failed rotation again, every step from createSecret with the same ClientRequestToken,
   * as Secrets Manager reattempts one; resolves with its outcome.
   */
  async retryRotation(secretId: string): Promise<RotationOutcome> {
    const secret = this.find(secretId);
    const last = await this.rotation(secretId);
    if (last.done) throw new Error(`the last rotation of secret "${secretId}" did not fail`);
    return this.startRotation(secret, last.versionId, ROTATION_STEPS);
  }

  /** Stops the emulator; its secrets are gone, and calls held now are dropped unprocessed. */
  close(): Promise<void> {
    this.holds.close();
    return this.server.close();
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const target = String(request.headers['x-amz-target'] ?? '');
    const action = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : '';
    const answer = (status: number, payload: object) =>
      sendJson(response, status, payload, {
        'content-type': CONTENT_TYPE,
        'x-amzn-requestid': randomUUID(),
        date: new Date(Date.now() + this.clockOffsetMs).toUTCString(),
      });
    try {
      if (!String(request.headers['content-type']).startsWith(CONTENT_TYPE)) {
        throw new AwsError('UnknownOperationException', `expected Content-Type ${CONTENT_TYPE}`);
      }
      const run = this.actions[action];
      if (request.method !== 'POST' || !run)
        throw new AwsError('UnknownOperationException', `unknown operation "${target}"`);
      const input = parseInput(body);
      const secretId = optionalString(input, action === 'CreateSecret' ? 'Name' : 'SecretId');
      const versionStage = optionalString(input, 'VersionStage');
      const call = { action, secretId, ...(versionStage ? { versionStage } : {}) };
      this.calls.push(call);
      if (!(await this.holds.pass(call))) return;
      const fault = this.faults.get(action)?.shift();
      if (fault === 'hang') return;
      if (fault === 'stall') {
        response.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': '4096' }).write('{"ARN":');
        return;
      }
      if (fault !== undefined) {
        answer(fault.status ?? 400, { __type: fault.type, message: fault.message ?? `injected ${fault.type}` });
        return;
      }
      answer(200, run(input));
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      answer(400, { __type: error.type, message: error.message });
    }
  }

  private createSecret(input: Input) {
    const name = requiredString(input, 'Name');
    if (this.secrets.some((secret) => secret.name === name)) {
      throw new AwsError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    }
    const secret: Secret = {
      arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${randomBytes(3).toString('hex')}`,
      name,
      description: optionalString(input, 'Description'),
      created: Date.now(),
      versions: [],
    };
    this.secrets.push(secret);
    const value = secretValue(input, false);
    const version = value === undefined ? undefined : addVersion(secret, requestToken(input), value, ['AWSCURRENT']);
    return { ARN: secret.arn, Name: secret.name, ...(version ? { VersionId: version.id } : {}) };
  }

  private getSecretValue(input: Input) {
    const secret = this.find(requiredString(input, 'SecretId'));
    const versionId = optionalString(input, 'VersionId');
    const stage = optionalString(input, 'VersionStage') ?? (versionId === undefined ? 'AWSCURRENT' : undefined);
    const version = secret.versions.find(
      (v) => (versionId === undefined || v.id === versionId) && (stage === undefined || v.stages.has(stage)),
    );
    if (!version?.value) {
      throw new AwsError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for ${versionId === undefined ? `staging label: ${stage}` : `VersionId: ${versionId}`}`,
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      ...('string' in version.value ? { SecretString: version.value.string } : { SecretBinary: version.value.binary }),
      VersionStages: [...version.stages],
      CreatedDate: seconds(version.created),
    };
  }

  private putSecretValue(input: Input) {
    const secret = this.find(requiredString(input, 'SecretId'));
    const value = secretValue(input, true)!;
    const stages = versionStages(input) ?? ['AWSCURRENT'];
    const token = requestToken(input);
    const existing = secret.versions.find((v) => v.id === token);
    if (existing && existing.value !== undefined && JSON.stringify(existing.value) !== JSON.stringify(value)) {
      throw new AwsError(
        'ResourceExistsException',
        "You can't modify an existing version, you can only create a new version.",
      );
    }
    if (existing?.value === undefined && existing !== undefined) {
      // The empty version RotateSecret labelled AWSPENDING: the rotation function's value fills it.
      existing.value = value;
      for (const stage of stages) moveStage(secret, stage, existing);
    }
    const version = existing ?? addVersion(secret, token, value, stages);
    return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
  }

  /**
   * Moves (`MoveToVersionId`) or removes a staging label. When the label is on another version,
   * `RemoveFromVersionId` must name that version: AWS's compare-and-swap. AWSCURRENT can only be
   * moved, and moving it moves AWSPREVIOUS to the version it left.
   */
  private updateSecretVersionStage(input: Input) {
    const secret = this.find(requiredString(input, 'SecretId'));
    const stage = requiredString(input, 'VersionStage');
    const moveTo = optionalVersion(secret, input, 'MoveToVersionId');
    const removeFrom = optionalVersion(secret, input, 'RemoveFromVersionId');
    const holder = secret.versions.find((v) => v.stages.has(stage));
    if (removeFrom !== undefined && removeFrom !== holder) {
      throw new AwsError(
        'InvalidParameterException',
        `When you move staging label ${stage}, if you specify RemoveFromVersionId, ` +
          `it must be set to the version that currently has the staging label ${stage}.`,
      );
    }
    if (holder !== undefined && holder !== moveTo && removeFrom === undefined) {
      throw new AwsError(
        'InvalidParameterException',
        `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to ` +
          `version ${holder.id}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    }
    if (moveTo !== undefined) moveStage(secret, stage, moveTo);
    else if (stage === 'AWSCURRENT') {
      throw new AwsError(
        'InvalidParameterException',
        'You can only move staging label AWSCURRENT to a different secret version. It can’t be completely removed.',
      );
    } else holder?.stages.delete(stage);
    return { ARN: secret.arn, Name: secret.name };
  }

  private describeSecret(input: Input) {
    const secret = this.find(requiredString(input, 'SecretId'));
    const labelled = secret.versions.filter((v) => v.stages.size > 0);
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description === undefined ? {} : { Description: secret.description }),
      CreatedDate: seconds(secret.created),
      ...describeRotation(secret.rotation),
      VersionIdsToStages: Object.fromEntries(labelled.map((v) => [v.id, [...v.stages]])),
    };
  }

  private listSecretVersionIds(input: Input) {
    const secret = this.find(requiredString(input, 'SecretId'));
    const versions =
      input.IncludeDeprecated === true ? secret.versions : secret.versions.filter((v) => v.stages.size > 0);
    return {
      ARN: secret.arn,
      Name: secret.name,
      Versions: versions.map((v) => ({
        VersionId: v.id,
        VersionStages: [...v.stages],
        CreatedDate: seconds(v.created),
      })),
    };
  }

  /**
   * Stores the rotation configuration (`RotationLambdaARN` and `RotationRules`, each kept from
   * before when not given), labels a new empty version AWSPENDING, and starts the steps after
   * answering: all four, or with `RotateImmediately: false` only testSecret, after which the label
   * is taken off again (AWS's test of the configuration). Refused while AWSPENDING is on a version
   * that is not AWSCURRENT, and without a rotation function.
   */
  private rotateSecret(input: Input) {
    const secret = this.find(requiredString(input, 'SecretId'));
    const token = requestToken(input);
    const lambdaArn = optionalString(input, 'RotationLambdaARN') ?? secret.rotation?.lambdaArn;
    const rules = rotationRules(input) ?? secret.rotation?.rules;
    const immediately = input.RotateImmediately ?? true;
    if (typeof immediately !== 'boolean')
      throw new AwsError('InvalidParameterException', 'RotateImmediately must be a boolean');
    if (lambdaArn === undefined) {
      throw new AwsError('InvalidRequestException', 'No Lambda rotation function ARN is associated with this secret.');
    }
    const pending = secret.versions.find((v) => v.stages.has('AWSPENDING'));
    if (pending && !pending.stages.has('AWSCURRENT'))
      throw new AwsError('InvalidRequestException', PREVIOUS_ROTATION_INCOMPLETE);
    if (secret.versions.some((v) => v.id === token)) {
      throw new AwsError('ResourceExistsException', `A version with ClientRequestToken ${token} already exists.`);
    }
    secret.rotation = { ...secret.rotation, lambdaArn, rules, since: secret.rotation?.since ?? Date.now() };
    addVersion(secret, token, undefined, ['AWSPENDING']);
    void this.startRotation(secret, token, immediately ? ROTATION_STEPS : ['testSecret']);
    return { ARN: secret.arn, Name: secret.name, VersionId: token };
  }

  /** Runs `steps` once this call has answered, and records the rotation's outcome. */
  private startRotation(secret: Secret, token: string, steps: readonly RotationStep[]): Promise<RotationOutcome> {
    const rotation = this.rotationFunction;
    if (!rotation) throw new Error('no rotation function: start the emulator with { rotation }');
    const event = { SecretId: secret.arn, ClientRequestToken: token };
    const run = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => runSteps(rotation, event, steps, this.crashes))
      .then((outcome) => {
        if (!steps.includes('finishSecret')) {
          secret.versions.find((v) => v.id === token)?.stages.delete('AWSPENDING');
        } else if (outcome.done && secret.rotation) {
          const now = Date.now();
          secret.rotation = { ...secret.rotation, since: now, lastRotated: now };
        }
        return outcome;
      });
    this.rotations.set(secret.arn, run);
    return run;
  }

  /**
   * A secret as AWS finds one by `SecretId`: a name matches exactly; an ARN whose name part ends in
   * `-` and six characters is taken as complete and matches exactly; any other ARN is partial and
   * matches the secret it is the complete ARN of, without the suffix. So a partial ARN of
   * `adobe/aem-prod-author` finds nothing, as on AWS.
   */
  private find(secretId: string): Secret {
    const secret = this.secrets.find((s) => {
      if (!secretId.startsWith('arn:')) return s.name === secretId;
      return ARN_LOOKS_COMPLETE.test(secretId) ? s.arn === secretId : s.arn.slice(0, -SUFFIX_LENGTH) === secretId;
    });
    if (!secret) throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }
}

/** Whether a call is one of `action` (for `secretId` as sent, when given). */
function calling(action: string, secretId: string | undefined): (call: EmulatorCall) => boolean {
  return (call) => call.action === action && (secretId === undefined || call.secretId === secretId);
}

/** A new version with `stages`, each moved from the version that had it; the first version is AWSCURRENT too. */
function addVersion(secret: Secret, id: string, value: SecretValue | undefined, stages: readonly string[]): Version {
  const first = secret.versions.length === 0;
  const version: Version = { id, value, created: Date.now(), stages: new Set() };
  secret.versions.push(version);
  for (const stage of first ? new Set(['AWSCURRENT', ...stages]) : stages) moveStage(secret, stage, version);
  return version;
}

/**
 * Attaches `stage` to `to`, taking it from the version that had it; when that moves AWSCURRENT,
 * AWSPREVIOUS moves to the version AWSCURRENT left (the old previous loses it).
 */
function moveStage(secret: Secret, stage: string, to: Version): void {
  const from = secret.versions.find((v) => v.stages.has(stage));
  if (from === to) return;
  from?.stages.delete(stage);
  if (stage === 'AWSCURRENT' && from !== undefined) moveStage(secret, 'AWSPREVIOUS', from);
  // "moves the label AWSCURRENT … which also removes the AWSPENDING label in the same API call"
  // (Secrets Manager User Guide, Lambda rotation functions: finishSecret).
  if (stage === 'AWSCURRENT') to.stages.delete('AWSPENDING');
  to.stages.add(stage);
}

/** `RotationRules` when given, as AWS checks them (`rotationRulesProblem`). */
function rotationRules(input: Input): RotationRules | undefined {
  const rules = input.RotationRules;
  if (rules === undefined) return undefined;
  if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) {
    throw new AwsError('InvalidParameterException', 'RotationRules must be an object');
  }
  const problem = rotationRulesProblem(rules);
  if (problem) throw new AwsError('InvalidParameterException', problem);
  return rules;
}

/** `VersionStages` when given: 1–20 labels of 1–256 characters, as AWS requires. */
function versionStages(input: Input): string[] | undefined {
  const stages = input.VersionStages;
  if (stages === undefined) return undefined;
  const valid = (stage: unknown) => typeof stage === 'string' && stage.length >= 1 && stage.length <= MAX_STAGE_LENGTH;
  if (!Array.isArray(stages) || stages.length < 1 || stages.length > MAX_STAGES || !stages.every(valid)) {
    throw new AwsError(
      'ValidationException',
      `Value at 'versionStages' failed to satisfy constraint: 1-${MAX_STAGES} labels of 1-${MAX_STAGE_LENGTH} characters`,
    );
  }
  return stages as string[];
}

/** The version `key` names, when given; an unknown one is an InvalidParameterException, as on AWS. */
function optionalVersion(secret: Secret, input: Input, key: string): Version | undefined {
  const id = optionalString(input, key);
  if (id === undefined) return undefined;
  const version = secret.versions.find((v) => v.id === id);
  if (!version) throw new AwsError('InvalidParameterException', `Not a valid version: ${id}`);
  return version;
}

/** `ClientRequestToken` (the new version's id): 32–64 characters as AWS requires; generated when absent. */
function requestToken(input: Input): string {
  const token = optionalString(input, 'ClientRequestToken') ?? randomUUID();
  if (token.length < 32 || token.length > 64) {
    throw new AwsError(
      'ValidationException',
      "Value at 'clientRequestToken' failed to satisfy constraint: length 32-64",
    );
  }
  return token;
}

function parseInput(body: string): Input {
  try {
    const input: unknown = JSON.parse(body);
    if (typeof input === 'object' && input !== null && !Array.isArray(input)) return input as Input;
  } catch {
    // answered below
  }
  throw new AwsError('SerializationException', 'the request body is not a JSON object');
}

/**
 * `SecretString` or `SecretBinary` (base64 on the wire), not both, within AWS's 64 KiB; `undefined`
 * when neither is given and `required` is false (CreateSecret without a value).
 */
function secretValue(input: Input, required: boolean): SecretValue | undefined {
  const string = optionalString(input, 'SecretString');
  const binary = optionalString(input, 'SecretBinary');
  if (string !== undefined && binary !== undefined) {
    throw new AwsError(
      'InvalidParameterException',
      "You can't specify both a binary secret value and a string secret value.",
    );
  }
  if (string === undefined && binary === undefined) {
    if (required)
      throw new AwsError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
    return undefined;
  }
  const [member, bytes, value]: [string, number, SecretValue] =
    string !== undefined
      ? ['secretString', Buffer.byteLength(string), { string }]
      : ['secretBinary', Buffer.from(binary!, 'base64').length, { binary: binary! }];
  if (bytes > MAX_SECRET_BYTES) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value at '${member}' failed to satisfy constraint: ` +
        `Member must have length less than or equal to ${MAX_SECRET_BYTES}`,
    );
  }
  return value;
}

function optionalString(input: Input, key: string): string | undefined {
  const value = input[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new AwsError('InvalidParameterException', `${key} must be a string`);
  return value;
}

function requiredString(input: Input, key: string): string {
  const value = optionalString(input, key);
  if (value === undefined || value === '') throw new AwsError('InvalidParameterException', `${key} is required`);
  return value;
}

/** AWS JSON protocols send timestamps as epoch seconds. */
function seconds(ms: number): number {
  return ms / 1000;
}
