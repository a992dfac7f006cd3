import { describe, expect, it } from 'vitest';
import { evaluate, type AlarmDefinition } from './alarms.js';

const HOUR = 3_600_000;
const alarm = (overrides: Partial<AlarmDefinition>): AlarmDefinition => ({
  name: 'test',
  namespace: 'Test',
  metricName: 'M',
  statistic: 'Minimum',
  periodMs: HOUR,
  threshold: 10,
  comparison: 'LessThanThreshold',
  evaluationPeriods: 1,
  treatMissingData: 'ignore',
  ...overrides,
});
const at = (hour: number, value: number) => ({ at: hour * HOUR + 1, value });

describe('the alarm evaluator the soak test relies on', () => {
  it('"ignore" keeps the state through hours without data; the minimum of an hour decides', () => {
    expect(evaluate(alarm({}), [at(1, 20), at(3, 5), at(3, 30), at(6, 11)], 0, 8)).toEqual([
      'INSUFFICIENT_DATA',
      'OK',
      'OK',
      'ALARM',
      'ALARM',
      'ALARM',
      'OK',
      'OK',
    ]);
  });

  it('"breaching" alarms after evaluationPeriods hours without data, and only then', () => {
    const states = evaluate(
      alarm({ statistic: 'Sum', threshold: 1, evaluationPeriods: 2, treatMissingData: 'breaching' }),
      [at(0, 1), at(1, 1), at(4, 1)],
      0,
      6,
    );
    expect(states).toEqual(['OK', 'OK', 'OK', 'ALARM', 'OK', 'OK']);
  });

  it('"notBreaching" sums an hour against a ≥ threshold', () => {
    const states = evaluate(
      alarm({
        statistic: 'Sum',
        threshold: 1,
        comparison: 'GreaterThanOrEqualToThreshold',
        treatMissingData: 'notBreaching',
      }),
      [at(1, 0), at(2, 1), at(2, 0)],
      0,
      4,
    );
    expect(states).toEqual(['OK', 'OK', 'ALARM', 'OK']);
  });
});
