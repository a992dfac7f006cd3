/**
 * `npm run build` (also `prepare`: after `npm ci`, before `npm pack`, on an install from git):
 * what the npm package ships, in git-ignored folders.
 * - `assets/refresher/`: the Lambda, bundled once (scripts/bundle.ts);
 * - `dist/esm/`: ES modules and declarations from `tsc -p tsconfig.build.json` (its entries:
 *   the construct, the reader, the CLI, and what they import);
 * - `dist/cjs/`: the same modules as CommonJS (esbuild, one file each) with the same declarations,
 *   marked `"type": "commonjs"` so Node and TypeScript read them as such. `import.meta.url` (the
 *   construct finds its asset with it) becomes the CommonJS file's own URL;
 * - `config.schema.json`: the configuration file's JSON Schema, from the rules that validate it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { configJsonSchema } from '../lib/config/load.js';
import { ASSET_DIR, ROOT, bundleLambda } from './bundle.js';

const DIST = join(ROOT, 'dist');
const ESM = join(DIST, 'esm');
const CJS = join(DIST, 'cjs');

rmSync(DIST, { recursive: true, force: true });
await bundleLambda(join(ROOT, 'lambda', 'handler.ts'), ASSET_DIR);
execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json')], {
  stdio: 'inherit',
});

const emitted = readdirSync(ESM, { recursive: true, encoding: 'utf8' });
const sources = emitted
  .filter((file) => file.endsWith('.js') && !file.startsWith('cli/'))
  .map((file) => join(ROOT, file.replace(/\.js$/, '.ts')));
await build({
  entryPoints: sources,
  outdir: CJS,
  outbase: ROOT,
  bundle: false,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  define: { 'import.meta.url': '__importMetaUrl' },
  // Strict mode first: a banner above esbuild's own "use strict" would make that a plain string.
  banner: { js: '"use strict";\nconst __importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: 'error',
});
for (const file of emitted.filter((name) => name.endsWith('.d.ts') && !name.startsWith('cli/')))
  cpSync(join(ESM, file), join(CJS, file));
writeFileSync(join(CJS, 'package.json'), '{ "type": "commonjs" }\n');
writeFileSync(join(ROOT, 'config.schema.json'), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);

console.log(
  `built ${relative(ROOT, ASSET_DIR)}, ${relative(ROOT, ESM)} and ${relative(ROOT, CJS)} (${sources.length} modules each)`,
);
