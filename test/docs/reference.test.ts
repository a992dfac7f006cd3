import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogLevel } from 'typedoc';
import { describe, expect, it } from 'vitest';
import { REFERENCE_DIR, filesUnder, generateReference } from '../../scripts/docs.js';

/** The first line where two texts differ, for the failure message. */
function firstDifference(committed: string, generated: string): string {
  const a = committed.split('\n');
  const b = generated.split('\n');
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line === -1 ? a.length : line;
  return `line ${at + 1}: committed ${JSON.stringify(a[at] ?? '<end>')}, generated ${JSON.stringify(b[at] ?? '<end>')}`;
}

describe('docs/reference', () => {
  it('is what npm run docs generates from the current code', async () => {
    // Prepare
    const out = mkdtempSync(join(tmpdir(), 'reference-'));
    try {
      // Act
      await generateReference(out, LogLevel.Error);

      // Assess
      const generated = filesUnder(out);
      const committed = existsSync(REFERENCE_DIR) ? filesUnder(REFERENCE_DIR) : [];
      const problems = [
        ...generated.filter((file) => !committed.includes(file)).map((file) => `${file}: generated but not committed`),
        ...committed.filter((file) => !generated.includes(file)).map((file) => `${file}: committed but not generated`),
        ...generated
          .filter((file) => committed.includes(file))
          .flatMap((file) => {
            const before = readFileSync(join(REFERENCE_DIR, file), 'utf8');
            const after = readFileSync(join(out, file), 'utf8');
            return before === after ? [] : [`${file}: differs at ${firstDifference(before, after)}`];
          }),
      ];
      expect(generated.length).toBeGreaterThan(0);
      if (problems.length > 0) expect.fail(`docs/reference is stale: run npm run docs\n${problems.join('\n')}`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
