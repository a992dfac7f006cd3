/**
 * Secrets Manager's rotation, as the emulator (secrets-manager-emulator.ts) runs it: the
 * configuration `RotateSecret` stores and `DescribeSecret` shows, and the run of a rotation's
 * steps through an injected rotation function.
 * @see https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html
 * @see https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda.html
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

/** The steps of a rotation, in the order Secrets Manager invokes them. */
export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** What Secrets Manager invokes the rotation function with; `SecretId` is the secret's ARN. */
export interface RotationEvent {
  readonly Step: RotationStep;
  readonly SecretId: string;
  readonly ClientRequestToken: string;
}

/** The rotation function: a step fails by rejecting. Tests wire it to the bundled function or a fake. */
export type RotationFunction = (event: RotationEvent) => Promise<void>;

/** `RotationRules` as `RotateSecret` takes it and `DescribeSecret` shows it. */
export interface RotationRules {
  readonly AutomaticallyAfterDays?: number;
  readonly Duration?: string;
  readonly ScheduleExpression?: string;
}

/** A secret's rotation configuration, once `RotateSecret` set it. */
export interface RotationConfig {
  readonly lambdaArn: string;
  readonly rules: RotationRules | undefined;
  /** Epoch ms of the last rotation that finished, or of the configuration when none has. */
  readonly since: number;
  readonly lastRotated?: number;
}

/** How one rotation ended (or is still going: `done` false and no `failedStep`). */
export interface RotationOutcome {
  /** The pending version: `RotateSecret`'s `VersionId` and the event's `ClientRequestToken`. */
  readonly versionId: string;
  /** The steps that returned normally, in order. */
  readonly completed: RotationStep[];
  /** The step that failed, when one did: the rotation stopped there. */
  failedStep?: RotationStep;
  /** Why it failed (the function's error, or `injected crash after <step>`). */
  error?: string;
  /** Whether every step it ran succeeded. */
  done: boolean;
}

const DAY_MS = 24 * 3_600_000;

/**
 * Runs `steps` in order through `rotation`, stopping at the first that fails. `crashAfter` (taken
 * once) makes that step fail after it ran, as a function that did its work and then timed out.
 */
export async function runSteps(
  rotation: RotationFunction,
  event: Omit<RotationEvent, 'Step'>,
  steps: readonly RotationStep[],
  crashAfter: Set<RotationStep>,
): Promise<RotationOutcome> {
  const outcome: RotationOutcome = { versionId: event.ClientRequestToken, completed: [], done: false };
  for (const step of steps) {
    try {
      await rotation({ Step: step, ...event });
    } catch (error) {
      return { ...outcome, failedStep: step, error: error instanceof Error ? error.message : String(error) };
    }
    if (crashAfter.delete(step)) return { ...outcome, failedStep: step, error: `injected crash after ${step}` };
    outcome.completed.push(step);
  }
  return { ...outcome, done: true };
}

/** `DescribeSecret`'s rotation fields: none for a secret never configured for rotation. */
export function describeRotation(config: RotationConfig | undefined): Record<string, unknown> {
  if (!config) return {};
  const days = config.rules?.AutomaticallyAfterDays;
  return {
    RotationEnabled: true,
    RotationLambdaARN: config.lambdaArn,
    ...(config.rules ? { RotationRules: config.rules } : {}),
    ...(config.lastRotated === undefined ? {} : { LastRotatedDate: config.lastRotated / 1000 }),
    // A ScheduleExpression's next date is not modelled; AutomaticallyAfterDays counts from the last rotation.
    ...(days === undefined ? {} : { NextRotationDate: (config.since + days * DAY_MS) / 1000 }),
  };
}

/**
 * The problem with `RotationRules` as AWS checks it, or `undefined`: `AutomaticallyAfterDays`
 * 1–1000 (whole days) or `ScheduleExpression`, not both; `Duration` as `<hours>h`.
 */
export function rotationRulesProblem(rules: RotationRules): string | undefined {
  const days = rules.AutomaticallyAfterDays;
  if (days !== undefined && rules.ScheduleExpression !== undefined) {
    return 'You can specify AutomaticallyAfterDays or ScheduleExpression in RotationRules, but not both.';
  }
  if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 1000)) {
    return "Value at 'rotationRules.automaticallyAfterDays' failed to satisfy constraint: 1-1000";
  }
  if (rules.Duration !== undefined && !/^\d{1,2}h$/.test(rules.Duration)) {
    return "Value at 'rotationRules.duration' failed to satisfy constraint: <hours>h";
  }
  return undefined;
}

/**
 * A rotation function that does what AWS's rotation templates do, through `client`: createSecret
 * puts `value(token)` as AWSPENDING unless the pending version holds a value already; finishSecret
 * moves AWSCURRENT to it unless it is there; setSecret and testSecret do nothing. For tests of the
 * emulator and its clients; the bundled rotation function is the real one.
 */
export function templateRotation(client: SecretsManagerClient, value: (token: string) => string): RotationFunction {
  return async ({ Step, SecretId, ClientRequestToken }) => {
    if (Step === 'createSecret') {
      const pending = await client
        .send(new GetSecretValueCommand({ SecretId, VersionId: ClientRequestToken, VersionStage: 'AWSPENDING' }))
        .catch((error: unknown) => {
          if (error instanceof ResourceNotFoundException) return undefined;
          throw error;
        });
      if (pending) return;
      const SecretString = value(ClientRequestToken);
      await client.send(
        new PutSecretValueCommand({ SecretId, ClientRequestToken, SecretString, VersionStages: ['AWSPENDING'] }),
      );
    }
    if (Step === 'finishSecret') {
      const { VersionIdsToStages = {} } = await client.send(new DescribeSecretCommand({ SecretId }));
      const current = Object.keys(VersionIdsToStages).find((id) => VersionIdsToStages[id].includes('AWSCURRENT'));
      if (current === ClientRequestToken) return;
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: ClientRequestToken,
          RemoveFromVersionId: current,
        }),
      );
    }
  };
}
