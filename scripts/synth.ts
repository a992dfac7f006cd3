/**
 * `npm run synth` (after `npm run bundle`): the repository's own `cdk synth`, off the network as
 * `synthesize` runs it. The app has no default configuration, so each synthesis names a committed
 * file (a `tokens.json` of the user's own is never read):
 * - `EXAMPLE`, the README's example configuration, into cdk.out: what the e2e suites, the sandbox
 *   and the benchmark run the bundle from;
 * - `DEFAULTS`, one token with every default, into cdk.out/default: what the README's cost and the
 *   defaults it states are measured from. Its file lives under test/: it configures no deployment.
 * - `ROTATION`, one OAuth token with `rotateClientSecret`, into cdk.out/rotation: what
 *   `npm run sandbox -- --rotate` runs (synthesized there only).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { synthesize } from '../test/sandbox/bundle.js';
import { ROOT } from './bundle.js';

/** A committed configuration and the cloud assembly directory it is synthesized into. */
export interface RepoSynth {
  /** The configuration file, relative to the repository root (`-c config=…`). */
  readonly config: string;
  /** Where the templates and the bundle are written (`-o …`). */
  readonly cdkOut: string;
}

/** The README's example configuration ("Configure"), kept identical to it by test/docs/readme.test.ts. */
export const EXAMPLE: RepoSynth = { config: 'examples/tokens.json', cdkOut: join(ROOT, 'cdk.out') };

/** One token, every key at its default: the old cdk.json sample, for the figures the docs state. */
export const DEFAULTS: RepoSynth = {
  config: 'test/fixtures/default-config.json',
  cdkOut: join(ROOT, 'cdk.out', 'default'),
};

/** One OAuth token whose client secret rotates every 30 days, at a Developer Console credential's ids. */
export const ROTATION: RepoSynth = {
  config: 'test/fixtures/rotation-config.json',
  cdkOut: join(ROOT, 'cdk.out', 'rotation'),
};

/** Runs `cdk synth` of the repository's app with `synth.config`, into `synth.cdkOut`. */
export function synthesizeRepo(synth: RepoSynth): void {
  synthesize(ROOT, ['-c', `config=${synth.config}`, '-o', synth.cdkOut]);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const synth of [EXAMPLE, DEFAULTS]) {
    synthesizeRepo(synth);
    console.log(`cdk synth -c config=${synth.config}: ${synth.cdkOut.slice(ROOT.length)}`);
  }
}
