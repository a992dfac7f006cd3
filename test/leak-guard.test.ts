import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { capturedOutput, registerSecret } from './support/leak-guard.js';
import { countSecrets, registeredSecrets } from './support/secret-registry.js';

/**
 * The leak guard (test/support/leak-guard.ts) fails any test file whose output contains a
 * registered secret. This proves it is live: it sees what Powertools writes and finds a canary.
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

  it('ignores values too short to be secrets, so common words cannot trip it', () => {
    registerSecret('bearer', undefined, '');
    expect([...registeredSecrets]).not.toContain('bearer');
  });
});
