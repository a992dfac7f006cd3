/**
 * The refresher's alarms (four, three for OAuth, one more with rotation) and the metrics they watch. Each alarm's name says whose it is; its
 * description says what to do, with the names an on-call person needs (secret ARN, function name,
 * log group, queue), within CloudWatch's 1,024 characters at every length the configuration allows.
 */
import { Annotations, Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { secretId } from './secret-refs.js';

/** Metric namespace of every refresher; each refresher's metrics carry `service` = its name. */
export const METRIC_NAMESPACE = 'ImsTokenRefresher';

/** The period of a refresher's metrics and alarms: its schedule period, at most a day. */
export function metricPeriod(schedule: Duration): Duration {
  return Duration.seconds(Math.min(schedule.toSeconds(), 86_400));
}

/** A metric the refresher with `serviceName` publishes (dimension `service`). */
export function refresherMetric(serviceName: string, metricName: string, statistic: string, period: Duration) {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { service: serviceName },
    statistic,
    period,
  });
}

/** What the alarms watch and what their descriptions name. */
export interface AlarmInputs {
  /** The `service` dimension, and the prefix of each alarm's name. */
  readonly serviceName: string;
  readonly fn: lambda.IFunction;
  readonly logGroup: logs.ILogGroup;
  readonly credentialsSecret: secretsmanager.ISecret;
  /** The schedule's dead-letter queue, named by `notRunning`. */
  readonly scheduleFailures: sqs.IQueue;
  readonly period: Duration;
  /** The token time left below which `expiring` fires. */
  readonly expiryFloor: Duration;
  /** The certificate time left below which `credentialsExpiring` fires; without it, no such alarm. */
  readonly credentialsWarning: Duration | undefined;
  /** The rotation function and its log group, with `rotateClientSecret`; without them, no rotation alarm. */
  readonly rotation: { readonly fn: lambda.IFunction; readonly logGroup: logs.ILogGroup } | undefined;
}

/** The refresher's alarms. */
export interface RefresherAlarms {
  readonly permanentFailure: cloudwatch.Alarm;
  readonly expiring: cloudwatch.Alarm;
  readonly notRunning: cloudwatch.Alarm;
  /** Absent for OAuth credentials: they have no certificate. */
  readonly credentialsExpiring: cloudwatch.Alarm | undefined;
  /** Present with `rotateClientSecret` only. */
  readonly rotationFailed: cloudwatch.Alarm | undefined;
}

/** Creates the alarms in `scope` (the refresher), named `<serviceName> <what>`: four, three for OAuth, one more with rotation. */
export function createAlarms(scope: Construct, inputs: AlarmInputs): RefresherAlarms {
  return {
    permanentFailure: permanentFailureAlarm(scope, inputs),
    expiring: expiringAlarm(scope, inputs),
    notRunning: notRunningAlarm(scope, inputs),
    credentialsExpiring:
      inputs.credentialsWarning && credentialsExpiringAlarm(scope, inputs, inputs.credentialsWarning),
    rotationFailed: inputs.rotation && rotationFailedAlarm(scope, inputs, inputs.rotation),
  };
}

/**
 * Sends each alarm's alarm and OK notifications to `topic`; without one, warns that nobody is
 * told and acknowledges the guard rule that asks for an action.
 */
export function notifyAlarms(scope: Construct, alarms: cloudwatch.Alarm[], topic: sns.ITopic | undefined): void {
  if (topic) {
    for (const alarm of alarms) {
      alarm.addAlarmAction(new actions.SnsAction(topic));
      alarm.addOkAction(new actions.SnsAction(topic));
    }
    return;
  }
  Annotations.of(scope).addWarningV2(
    'ims-token-refresher:alarmsNotifyNobody',
    'the alarms notify nobody: set `alarmTopic` (configuration: "alarmTopicArn" or "alarmEmail")',
  );
  for (const alarm of alarms) {
    Validations.of(alarm).acknowledge({
      id: 'cdk-validator-cfnguard::cloudwatch_alarm_action_check',
      reason: 'no alarmTopic was given, and synth warns that these alarms notify nobody',
    });
  }
}

/** The alarms that exist, in a fixed order. */
export function allAlarms(alarms: RefresherAlarms): cloudwatch.Alarm[] {
  const { permanentFailure, expiring, notRunning, credentialsExpiring, rotationFailed } = alarms;
  return [
    permanentFailure,
    expiring,
    notRunning,
    ...(credentialsExpiring ? [credentialsExpiring] : []),
    ...(rotationFailed ? [rotationFailed] : []),
  ];
}

/** Names an on-call person can read in a notification's subject; unique per account and region, like serviceName. */
function alarmName(inputs: AlarmInputs, what: string): string {
  return `${inputs.serviceName} ${what}`;
}

function permanentFailureAlarm(scope: Construct, inputs: AlarmInputs): cloudwatch.Alarm {
  const { fn, credentialsSecret } = inputs;
  return fn.metricErrors({ period: inputs.period, statistic: 'Sum' }).createAlarm(scope, 'PermanentFailureAlarm', {
    alarmName: alarmName(inputs, 'permanent failure'),
    alarmDescription:
      'A refresh failed for a reason retrying cannot fix (the function errs only then); its "refresh failed" log ' +
      'line names it: errorCode and imsError. CREDENTIALS_INVALID: upload working credentials with ims-token ' +
      `credentials put --secret-id ${secretId(credentialsSecret)} --file <json> --refresh --function ${fn.functionName}; ` +
      'IMS_REJECTED: fix the integration in the Adobe Developer Console.',
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

function expiringAlarm(scope: Construct, inputs: AlarmInputs): cloudwatch.Alarm {
  const { fn, expiryFloor } = inputs;
  const metric = refresherMetric(inputs.serviceName, 'TokenSecondsToExpiry', 'Minimum', inputs.period);
  return metric.createAlarm(scope, 'ExpiringAlarm', {
    alarmName: alarmName(inputs, 'token expiring'),
    alarmDescription:
      `The token expires in less than ${expiryFloor.toHumanString()} and the refresher could not ` +
      'renew it (transient failures: IMS or Secrets Manager unavailable). See the "refresh failed" lines in the ' +
      `log group ${inputs.logGroup.logGroupName}; once the cause is gone, force a run: aws lambda invoke ` +
      `--function-name ${fn.functionName} --payload '{"force":true}' --cli-binary-format raw-in-base64-out /dev/stdout`,
    threshold: expiryFloor.toSeconds(),
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 1,
    // Sent only by runs that refreshed or failed: between them, keep the state.
    treatMissingData: cloudwatch.TreatMissingData.IGNORE,
  });
}

function notRunningAlarm(scope: Construct, inputs: AlarmInputs): cloudwatch.Alarm {
  const metric = inputs.fn.metricInvocations({ period: inputs.period, statistic: 'Sum' });
  return metric.createAlarm(scope, 'NotRunningAlarm', {
    alarmName: alarmName(inputs, 'not running'),
    alarmDescription:
      'The function was not invoked for two schedule periods. Check that its EventBridge ' +
      `schedule is enabled and the schedule's dead-letter queue (${inputs.scheduleFailures.queueName}) for failed ` +
      'deliveries.',
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 2,
    // No data is the failure this alarm exists for.
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });
}

function credentialsExpiringAlarm(
  scope: Construct,
  inputs: AlarmInputs,
  credentialsWarning: Duration,
): cloudwatch.Alarm {
  const { fn } = inputs;
  const metric = refresherMetric(inputs.serviceName, 'CredentialsSecondsToExpiry', 'Minimum', inputs.period);
  return metric.createAlarm(scope, 'CredentialsExpiringAlarm', {
    alarmName: alarmName(inputs, 'certificate expiring'),
    alarmDescription:
      'The certificate in the credentials expires in less than ' +
      `${credentialsWarning.toHumanString()} (see credentialsExpiresAt in the logs). AEM Developer Console → ` +
      'Integrations → refresh the credentials, then upload the new JSON: ims-token credentials put --secret-id ' +
      `${secretId(inputs.credentialsSecret)} --file <json> --refresh --function ${fn.functionName}`,
    threshold: credentialsWarning.toSeconds(),
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 1,
    // Sent by runs that refreshed or failed, and only for credentials with a certificate: between them, keep the state.
    treatMissingData: cloudwatch.TreatMissingData.IGNORE,
  });
}

/**
 * A rotation step or a retire check failed: the rotation function's `Errors` (it errs only then;
 * Secrets Manager retries the step, and the current secret keeps working meanwhile).
 */
function rotationFailedAlarm(
  scope: Construct,
  inputs: AlarmInputs,
  rotation: NonNullable<AlarmInputs['rotation']>,
): cloudwatch.Alarm {
  const secret = secretId(inputs.credentialsSecret);
  return rotation.fn
    .metricErrors({ period: inputs.period, statistic: 'Sum' })
    .createAlarm(scope, 'RotationFailedAlarm', {
      alarmName: alarmName(inputs, 'rotation failed'),
      alarmDescription:
        'A client secret rotation step or retire check failed; the current secret still works. Log group ' +
        `${rotation.logGroup.logGroupName}: step, errorCode, Adobe's x-request-id. Adobe 403: add the I/O ` +
        'Management API and scopes read_client_secret, manage_client_secrets to the project. Then: ims-token ' +
        `credentials rotate --secret-id ${secret} --wait`,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
}
