import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CREDENTIALS_EXPIRY_WARNING_DAYS, DEFAULT_REFRESH_THRESHOLD } from '../../common/rules.js';
import { MAX_ACCESS_TOKEN_LENGTH, TOKEN_LIFETIME_MS } from '../../common/token.js';
import { DEFAULT_MIN_VALIDITY_MS } from '../../reader/index.js';
import { DEFAULTS } from '../../scripts/synth.js';
import { read } from './markdown.js';

// The README's cost per token-month is checked in test/bench/cost.test.ts, from the same measurement.

/** The row of a markdown table whose first cell is `` `key` ``. */
function row(markdown: string, key: string): string {
  const line = markdown.split('\n').find((candidate) => candidate.startsWith(`| \`${key}\` |`));
  if (!line) throw new Error(`no row for ${key}`);
  return line;
}

describe('defaults and limits the documentation states', () => {
  const readme = read('README.md');
  const design = read('docs/design.md');
  const resources = Object.values(
    (
      JSON.parse(readFileSync(join(DEFAULTS.cdkOut, 'ImsTokenRefresher.template.json'), 'utf8')) as {
        Resources: Record<string, { Type: string; Properties: any }>;
      }
    ).Resources,
  );
  const fn = resources.find(
    (resource) =>
      resource.Type === 'AWS::Lambda::Function' && resource.Properties.Environment?.Variables?.TOKEN_SECRET_ID,
  )!;

  it('match the configuration rules', () => {
    expect(row(readme, 'refreshThreshold')).toContain(`(${DEFAULT_REFRESH_THRESHOLD})`);
    const { default: days, min, max } = CREDENTIALS_EXPIRY_WARNING_DAYS;
    expect(row(readme, 'credentialsExpiryWarning')).toContain(`${min}–${max} (${days})`);
    expect(readme).toContain(`expires within ${days} days`);
  });

  it('match the reader and the token contract', () => {
    expect(readme).toContain(`until ${DEFAULT_MIN_VALIDITY_MS / 60_000} minutes before \`expires_at\``);
    expect(row(readme, 'TOKEN_EXPIRED')).toContain(`within ${DEFAULT_MIN_VALIDITY_MS / 60_000} minutes`);
    expect(design).toContain(`at most ${MAX_ACCESS_TOKEN_LENGTH.toLocaleString('en-US')} characters`);
    expect(design).toContain(`${TOKEN_LIFETIME_MS.min / 3_600_000} h to ${TOKEN_LIFETIME_MS.max / 86_400_000} days`);
  });

  it('match the synthesized default template', () => {
    expect(design).toContain(`its ${fn.Properties.Timeout} s timeout`);
    const schedule = resources.find((resource) => resource.Type === 'AWS::Scheduler::Schedule')!;
    expect(schedule.Properties.ScheduleExpression).toBe('rate(1 hour)');
    expect(row(readme, 'scheduleMinutes')).toContain('(60)');
    const logs = resources.find((resource) => resource.Type === 'AWS::Logs::LogGroup')!;
    expect(row(readme, 'logRetentionDays')).toContain(`(${logs.Properties.RetentionInDays})`);
  });
});
