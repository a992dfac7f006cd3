/**
 * `npm run bundle`: builds the refresher's Lambda code once, at build time, into
 * `assets/refresher/` (shipped in the package; the construct loads it with `Code.fromAsset`), so
 * nobody's synth needs esbuild, Docker or TypeScript. The AWS SDK and Powertools Logger are bundled
 * at the versions our lockfile pins, not the runtime's.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ASSET_DIR = join(ROOT, 'assets', 'refresher');

/**
 * Bundles `entry` into `outDir` as `index.js` (handler `index.handler`): one minified CommonJS
 * file for node24 with nothing external, and a source map without sources.
 * The directory is marked CommonJS, so the bundle runs as such wherever it sits.
 */
export async function bundleLambda(entry: string, outDir: string): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [entry],
    outfile: join(outDir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'error',
  });
  writeFileSync(join(outDir, 'package.json'), '{ "type": "commonjs" }\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundleLambda(join(ROOT, 'lambda', 'handler.ts'), ASSET_DIR);
}
