/**
 * `ims-token credentials rotate`: starts a rotation of the credentials secret (`RotateSecret`,
 * with the rotation function and schedule the stack configured) and, with `--wait`, follows its
 * staging labels until `AWSCURRENT` moves to the new version. It reads no secret value: only
 * `DescribeSecret`'s labels, and the rotation function's log group for a failure message.
 * @see https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html
 */
import { GetFunctionConfigurationCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeSecretCommand,
  RotateSecretCommand,
  type DescribeSecretCommandOutput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { redactedJson } from '../common/redact.js';
import { describeError, Failure } from './failure.js';

/** How long `--wait` follows a rotation by default: Secrets Manager retries failed steps meanwhile. */
export const DEFAULT_ROTATION_TIMEOUT_SECONDS = 300;
/** The bounds of `--timeout-seconds`. */
export const MAX_ROTATION_TIMEOUT_SECONDS = 3600;
/** How often `--wait` reads the labels. */
export const ROTATION_POLL_MS = 5_000;

/** What `rotate` needs besides its options; the CLI fills in the defaults. */
export interface RotateDeps {
  readonly stdout: { write(text: string): unknown };
  readonly secretsClient: SecretsManagerClient;
  readonly lambdaClient: () => LambdaClient;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface RotateOptions {
  readonly secretId: string;
  readonly wait: boolean;
  readonly timeoutSeconds: number;
  readonly json: boolean;
}

/**
 * Starts the rotation and, with `wait`, reports `createSecret` (the new version holds `AWSPENDING`)
 * and `finishSecret` (`AWSCURRENT` moved to it). Throws a `ROTATION_FAILED` failure, naming the
 * rotation function's log group when the secret names its function, when Secrets Manager refuses
 * (e.g. a previous rotation is not complete) or the rotation does not finish within the timeout.
 */
export async function rotate(options: RotateOptions, deps: RotateDeps): Promise<void> {
  const { secretId } = options;
  const before = await describe(secretId, deps);
  const previousVersionId = holderOf(before, 'AWSCURRENT');
  let versionId: string;
  try {
    // RotateImmediately: the configured function and schedule, rotating now.
    const out = await deps.secretsClient.send(new RotateSecretCommand({ SecretId: secretId, RotateImmediately: true }));
    versionId = out.VersionId ?? '';
  } catch (error) {
    throw await rotationFailed(
      before,
      `Secrets Manager refused to rotate secret "${secretId}": ${describeError(error)}${stuck(before, secretId)}`,
      deps,
    );
  }
  const report: Record<string, unknown> = { secretId, versionId, previousVersionId, waited: options.wait };
  const say = (line: string) => options.json || deps.stdout.write(`${line}\n`);
  say(`rotation started: secret "${secretId}", new version ${versionId} (current: ${previousVersionId ?? 'none'})`);
  if (options.wait) {
    const started = deps.now();
    await follow(secretId, versionId, started + options.timeoutSeconds * 1000, deps, (step) => {
      report[step] = 'succeeded';
      say(
        step === 'createSecret'
          ? `createSecret: version ${versionId} is AWSPENDING`
          : `finishSecret: AWSCURRENT moved to version ${versionId}`,
      );
    });
    report.elapsedSeconds = Math.round((deps.now() - started) / 1000);
  }
  if (options.json) deps.stdout.write(`${redactedJson(report)}\n`);
}

/** Reads the labels until AWSCURRENT is on `versionId`, calling `reached` once per step seen. */
async function follow(
  secretId: string,
  versionId: string,
  deadline: number,
  deps: RotateDeps,
  reached: (step: 'createSecret' | 'finishSecret') => void,
): Promise<void> {
  let pendingSeen = false;
  for (;;) {
    const described = await describe(secretId, deps);
    const stages = described.VersionIdsToStages?.[versionId] ?? [];
    if (!pendingSeen && (stages.includes('AWSPENDING') || stages.includes('AWSCURRENT'))) {
      pendingSeen = true;
      reached('createSecret');
    }
    if (stages.includes('AWSCURRENT')) return reached('finishSecret');
    if (!stages.includes('AWSPENDING')) {
      throw await rotationFailed(
        described,
        `version ${versionId} of secret "${secretId}" is not AWSPENDING and did not become AWSCURRENT: the rotation was cancelled or replaced`,
        deps,
      );
    }
    const left = deadline - deps.now();
    if (left <= 0) {
      throw await rotationFailed(
        described,
        `the rotation of secret "${secretId}" did not finish in time: version ${versionId} is still AWSPENDING ` +
          '(Secrets Manager retries failed steps; run again with a longer --timeout-seconds to keep waiting)',
        deps,
      );
    }
    await deps.sleep(Math.min(ROTATION_POLL_MS, left));
  }
}

async function describe(secretId: string, deps: RotateDeps): Promise<DescribeSecretCommandOutput> {
  try {
    return await deps.secretsClient.send(new DescribeSecretCommand({ SecretId: secretId }));
  } catch (error) {
    throw new Failure(
      'ROTATION_FAILED',
      `could not describe secret "${secretId}" (secretsmanager:DescribeSecret): ${describeError(error)}`,
    );
  }
}

/**
 * How to end a rotation that keeps failing (its new secret refused for good: Secrets Manager retries it
 * with the same version, and refuses a new one while that version is `AWSPENDING`).
 */
function stuck(described: DescribeSecretCommandOutput, secretId: string): string {
  const pending = holderOf(described, 'AWSPENDING');
  if (!pending || pending === holderOf(described, 'AWSCURRENT')) return '';
  return (
    ` (version ${pending} is AWSPENDING; if its rotation keeps failing, end it with "aws secretsmanager ` +
    `update-secret-version-stage --secret-id ${secretId} --version-stage AWSPENDING --remove-from-version-id ${pending}", ` +
    'then rotate again: the next createSecret deletes its secret at Adobe)'
  );
}

/** The version holding `stage`, if any. */
function holderOf(described: DescribeSecretCommandOutput, stage: string): string | undefined {
  const stages = described.VersionIdsToStages ?? {};
  return Object.keys(stages).find((id) => stages[id].includes(stage));
}

/** A `ROTATION_FAILED` failure: `reason`, then where the rotation function logs, when the secret names it. */
async function rotationFailed(
  described: DescribeSecretCommandOutput,
  reason: string,
  deps: RotateDeps,
): Promise<Failure> {
  const functionArn = described.RotationLambdaARN;
  if (!functionArn) return new Failure('ROTATION_FAILED', `${reason}; the secret names no rotation function`);
  const logGroup = await logGroupOf(functionArn, deps);
  return new Failure(
    'ROTATION_FAILED',
    `${reason}; see the rotation function's log group ${logGroup} (function ${functionArn})`,
  );
}

/**
 * The function's log group: its `LoggingConfig` (the construct gives it a log group of its own),
 * else Lambda's default `/aws/lambda/<name>` (also when the configuration cannot be read).
 */
async function logGroupOf(functionArn: string, deps: RotateDeps): Promise<string> {
  const name = /^arn:[^:]+:lambda:[^:]+:\d+:function:([^:]+)/.exec(functionArn)?.[1] ?? functionArn;
  try {
    const out = await deps.lambdaClient().send(new GetFunctionConfigurationCommand({ FunctionName: functionArn }));
    return out.LoggingConfig?.LogGroup ?? `/aws/lambda/${name}`;
  } catch {
    return `/aws/lambda/${name}`;
  }
}
