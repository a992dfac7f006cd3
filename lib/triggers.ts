/**
 * What runs the refresher function: its schedule, the rule that runs it when the credentials
 * change, and the encrypted dead-letter queues for runs that could not be delivered or failed.
 */
import { Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** What a schedule sends and says, and the prefix of its construct ids. */
export interface ScheduledRunsOptions {
  /** Prefix of the ids `<prefix>Schedule`, `<prefix>ScheduleRole` and `<prefix>ScheduleFailures` (the refresher's is empty). */
  readonly prefix?: string;
  readonly description: string;
  /** The event each run receives. */
  readonly input: scheduler.ScheduleTargetInput;
}

/** Runs `fn` every `period`, with retries and a dead-letter queue (`ScheduleFailures`) for failed deliveries. */
export function scheduleRuns(
  scope: Construct,
  fn: lambda.Function,
  period: Duration,
  { prefix = '', description, input }: ScheduledRunsOptions,
): { schedule: scheduler.Schedule; scheduleFailures: sqs.IQueue } {
  const scheduleFailures = deadLetterQueue(scope, `${prefix}ScheduleFailures`);
  // A role per schedule (not the stack-wide singleton) so the acknowledgement below stays narrow.
  const scheduleRole = new iam.Role(scope, `${prefix}ScheduleRole`, {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
  });
  const functionLogicalId = Stack.of(scope).getLogicalId(fn.node.defaultChild as CfnElement);
  Validations.of(scheduleRole).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${functionLogicalId}.Arn>:*]`,
    reason: 'lambda:InvokeFunction on this one function and its versions (ARN:*), as the scheduler target grants it',
  });
  const schedule = new scheduler.Schedule(scope, `${prefix}Schedule`, {
    description,
    schedule: scheduler.ScheduleExpression.rate(period),
    target: new targets.LambdaInvoke(fn, {
      input,
      retryAttempts: 3,
      maxEventAge: Duration.seconds(Math.max(60, Math.min(period.toSeconds() / 2, 3600))),
      deadLetterQueue: scheduleFailures,
      role: scheduleRole,
    }),
  });
  return { schedule, scheduleFailures };
}

/** The refresher's own schedule: a check of the token every `period`. */
export function scheduleRefreshes(scope: Construct, fn: lambda.Function, period: Duration) {
  return scheduleRuns(scope, fn, period, {
    description: `Checks the Adobe IMS token of ${scope.node.path}`,
    // Equal for duplicate deliveries of one occurrence: the write is idempotent on it.
    input: scheduler.ScheduleTargetInput.fromObject({ scheduledTime: scheduler.ContextAttribute.scheduledTime }),
  });
}

/**
 * Runs `fn` as soon as `credentialsSecret` changes (CloudTrail management events through
 * EventBridge; needs a trail in the account): a new value put, or another version made current (a
 * rotation's last step). The run itself compares versions, so without a
 * trail the next scheduled run still picks the change up. For a secret known by name only, the
 * rule matches `<partial ARN>-` and any suffix: EventBridge cannot count the six characters, so a
 * secret named `<name>-<more>` runs the function too, which then finds nothing new and skips.
 */
export function runOnCredentialsChange(
  scope: Construct,
  fn: lambda.IFunction,
  credentialsSecret: secretsmanager.ISecret,
): void {
  const arn = credentialsSecret.secretFullArn;
  new events.Rule(scope, 'CredentialsChanged', {
    description: `Refreshes the token of ${scope.node.path} when its credentials secret changes`,
    eventPattern: {
      source: ['aws.secretsmanager'],
      detailType: ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['secretsmanager.amazonaws.com'],
        // UpdateSecretVersionStage: a rotation's finishSecret makes its new version current.
        eventName: ['PutSecretValue', 'UpdateSecret', 'RotateSecret', 'UpdateSecretVersionStage'],
        // The response names the complete ARN whatever the caller passed.
        responseElements: { arn: arn ? [arn] : events.Match.prefix(`${credentialsSecret.secretArn}-`) },
      },
    },
    targets: [
      new eventTargets.LambdaFunction(fn, {
        event: events.RuleTargetInput.fromObject({ reason: 'credentials-changed' }),
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
      }),
    ],
  });
}

/** An encrypted, TLS-only queue that keeps failed events for 14 days. */
export function deadLetterQueue(scope: Construct, id: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    // SQS's default, stated: it marks the queue as a dead-letter queue (Control Tower's CT.SQS.PR.1).
    redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'this queue is itself a dead-letter queue (Lambda on-failure destination or schedule DLQ)',
  });
  return queue;
}
