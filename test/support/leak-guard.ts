/**
 * Vitest setup file: captures everything the code under test writes (console and the process
 * streams Powertools writes to) and fails the file if any registered secret appears in it. The
 * output is kept out of the test report (the code under test logs a JSON line per run); set
 * `TEST_LOGS=1` to see it.
 */
import { afterAll } from 'vitest';
import { assertNoSecrets } from '../sandbox/secret-registry.js';

export { registerSecret } from '../sandbox/secret-registry.js';

const captured: string[] = [];
const show = process.env.TEST_LOGS === '1';

/** Everything logged so far in this test file (for tests that assert on log lines). */
export function capturedOutput(): string {
  return captured.join('');
}

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = (chunk: unknown, ...rest: unknown[]) => {
    captured.push(String(chunk));
    return show ? write(chunk, ...rest) : true;
  };
}
for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    captured.push(args.map((arg) => (typeof arg === 'string' ? arg : (JSON.stringify(arg) ?? String(arg)))).join(' '));
    if (show) original(...args);
  };
}

afterAll(() => assertNoSecrets(captured.join('\n')));
