import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'ims-token-refresher';

/**
 * The refresher's Lambda code, bundled at build time (`npm run bundle`) into `assets/refresher` at
 * the package root. Found by walking up from this module to our package.json, so it works from the
 * sources, from either compiled output (dist/esm, dist/cjs) and from a copied or linked install.
 * Never relative to the working directory: @see https://github.com/aws/aws-cdk/issues/22603
 */
export function refresherAsset(): string {
  const here = fileURLToPath(import.meta.url);
  for (let dir = path.dirname(here); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME
    ) {
      const asset = path.join(dir, 'assets', 'refresher');
      if (!existsSync(path.join(asset, 'index.js'))) {
        throw new Error(`the refresher's Lambda bundle is missing at ${asset}: run "npm run bundle" in ${dir}`);
      }
      return asset;
    }
    if (path.dirname(dir) === dir) throw new Error(`${PACKAGE_NAME}: package.json not found above ${here}`);
  }
}
