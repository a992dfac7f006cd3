import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appCost, measureRuns } from '../../bench/cost.js';
import { ROOT } from '../../scripts/bundle.js';
import { synthesizedFunction } from '../sandbox/bundle.js';
import { read, section } from './markdown.js';

/**
 * Figures the README states, recomputed the way their script computes them, so they cannot drift.
 * Needs `cdk.out` (`npm run synth`, which `npm test` runs first), as test/bench/cost.test.ts does.
 */
describe('README figures', () => {
  it('states the cost per token-month that `npm run cost` computes for the default configuration', async () => {
    const stated = /total \*\*\$(\d+\.\d\d)\*\*\s+per\s+token-month/.exec(section(read('README.md'), 'Operate'))?.[1];
    expect(stated, 'README: "total **$x.xx** per token-month"').toBeDefined();
    const cdkOut = join(ROOT, 'cdk.out');
    const cost = appCost(cdkOut, await measureRuns(synthesizedFunction(cdkOut)));
    // Rounding, and CPU time measured on a shared machine: a cent or two.
    expect(Math.abs(Number(stated) - cost.perToken)).toBeLessThanOrEqual(0.02);
  });
});
