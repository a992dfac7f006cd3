import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { capturedOutput, registerSecret } from './support/leak-guard.js';
import { assertNoSecrets, countSecrets, registeredSecrets } from './sandbox/secret-registry.js';

/**
 * The leak guard (test/support/leak-guard.ts) fails any test file whose output contains a
 * registered secret. This proves it is live: it sees what Powertools writes, finds a canary in
 * it, and fails on it without repeating the value.
 */
describe('leak guard', () => {
  it('captures Powertools log output and finds a registered secret in it', () => {
    // Prepare
    const canary = `canary-${randomUUID()}`;
    registerSecret(canary);
    const before = countSecrets(capturedOutput());
    // Act
    new Logger({ serviceName: 'leak-guard-test' }).info('a careless line', { value: canary });
    // Assess
    expect(countSecrets(capturedOutput())).toBe(before + 1);
    // Unregister, or this file's own scan would (rightly) fail.
    registeredSecrets.delete(canary);
  });

  it('fails with a count, never the value, when output holds a registered secret', () => {
    const canary = `canary-${randomUUID()}`;
    registerSecret(canary);
    try {
      expect(() => assertNoSecrets(`a log line with ${canary} in it`)).toThrow(
        /^1 secret value\(s\) appeared in log output \(values withheld\)$/,
      );
      expect(() => assertNoSecrets('a clean log line')).not.toThrow();
    } finally {
      registeredSecrets.delete(canary);
    }
  });

  it('ignores values too short to be secrets, so common words cannot trip it', () => {
    registerSecret('bearer', undefined, '');
    expect([...registeredSecrets]).not.toContain('bearer');
  });
});
