import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/bundle.js';
import { read, section } from './markdown.js';

/** The codes of `common/errors.ts`: the `ErrorCode` union. */
function errorCodes(): string[] {
  const union = /export type ErrorCode =([^;]+);/.exec(read('common/errors.ts'))?.[1] ?? '';
  return [...union.matchAll(/'([A-Z_]+)'/g)].map((match) => match[1]);
}

/** The codes only the CLI prints: `new Failure('CODE', …)` and `fail(deps, 'CODE', …)`, in any of its modules. */
function cliCodes(): string[] {
  const source = readdirSync(join(ROOT, 'cli'))
    .map((file) => read(join('cli', file)))
    .join('\n');
  return [...source.matchAll(/(?:new Failure\(|fail\(deps,)\s*'([A-Z_]+)'/g)].map((match) => match[1]);
}

/** The first cell of each row of the Troubleshoot table. */
function documentedCodes(): string[] {
  return [...section(read('README.md'), 'Troubleshoot').matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
}

describe('README troubleshooting', () => {
  it('finds the codes it checks', () => {
    expect(errorCodes()).toContain('CREDENTIALS_INVALID');
    expect(cliCodes()).toContain('REFRESH_FAILED');
    expect(cliCodes()).toContain('WRONG_SECRET');
  });

  it('has a row for every error code the function, the reader and the CLI can print, and none they cannot', () => {
    const codes = new Set([...errorCodes(), ...cliCodes()]);
    expect(new Set(documentedCodes())).toEqual(codes);
  });
});
