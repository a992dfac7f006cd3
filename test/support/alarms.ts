import type { Template } from 'aws-cdk-lib/assertions';

/** A CloudWatch alarm as the template defines it: what the evaluator below needs. */
export interface AlarmDefinition {
  readonly name: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly statistic: 'Sum' | 'Minimum';
  readonly periodMs: number;
  readonly threshold: number;
  readonly comparison: 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold';
  readonly evaluationPeriods: number;
  readonly treatMissingData: 'breaching' | 'notBreaching' | 'ignore' | 'missing';
}

/** The alarms of a synthesized template. */
export function alarmsOf(template: Template): AlarmDefinition[] {
  return Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(({ Properties: p }) => ({
    name: p.AlarmName,
    namespace: p.Namespace,
    metricName: p.MetricName,
    statistic: p.Statistic,
    periodMs: p.Period * 1000,
    threshold: p.Threshold,
    comparison: p.ComparisonOperator,
    evaluationPeriods: p.EvaluationPeriods,
    treatMissingData: p.TreatMissingData,
  }));
}

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/**
 * The alarm's state at the end of each period from `start` over `periods`, given the datapoints
 * sent to its metric, as CloudWatch evaluates an M-of-M alarm: the last `evaluationPeriods`
 * periods, each aggregated by the statistic, a missing one treated per `treatMissingData`
 * ("ignore" keeps the state when no period in the window has data).
 */
export function evaluate(
  alarm: AlarmDefinition,
  datapoints: readonly { at: number; value: number }[],
  start: number,
  periods: number,
): AlarmState[] {
  const buckets: (number | undefined)[] = Array.from({ length: periods }, () => undefined);
  for (const { at, value } of datapoints) {
    const index = Math.floor((at - start) / alarm.periodMs);
    if (index < 0 || index >= periods) continue;
    const old = buckets[index];
    buckets[index] = old === undefined ? value : alarm.statistic === 'Sum' ? old + value : Math.min(old, value);
  }
  const breaches = (value: number) =>
    alarm.comparison === 'LessThanThreshold' ? value < alarm.threshold : value >= alarm.threshold;
  let state: AlarmState = 'INSUFFICIENT_DATA';
  return buckets.map((_, index) => {
    const window = buckets.slice(Math.max(0, index - alarm.evaluationPeriods + 1), index + 1);
    const verdicts = window.map((value) =>
      value !== undefined
        ? breaches(value)
        : alarm.treatMissingData === 'breaching'
          ? true
          : alarm.treatMissingData === 'notBreaching'
            ? false
            : undefined,
    );
    const known = verdicts.filter((verdict) => verdict !== undefined);
    if (known.length === 0) state = alarm.treatMissingData === 'ignore' ? state : 'INSUFFICIENT_DATA';
    else
      state = known.length === window.length && known.every(Boolean) ? 'ALARM' : known.some((v) => !v) ? 'OK' : state;
    return state;
  });
}
