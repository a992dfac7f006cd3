import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packageVersion } from '../../cli/version.js';

/** A folder tree under the OS temp dir: each path relative to its root, with its package.json contents. */
function tree(manifests: Record<string, object>): string {
  const root = mkdtempSync(join(tmpdir(), 'ims-cli-version-'));
  for (const [folder, manifest] of Object.entries(manifests)) {
    mkdirSync(join(root, folder), { recursive: true });
    writeFileSync(join(root, folder, 'package.json'), JSON.stringify(manifest));
  }
  return root;
}

describe('packageVersion', () => {
  it("is this repository's version when run from the sources", () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(packageVersion()).toBe(version);
  });

  it("finds the package's own package.json above a build folder's nameless one, as installed", () => {
    const root = tree({
      'node_modules/ims-token-refresher': { name: 'ims-token-refresher', version: '9.8.7' },
      'node_modules/ims-token-refresher/dist/cjs': { type: 'commonjs' },
    });
    const module = join(root, 'node_modules/ims-token-refresher/dist/cjs/cli/version.js');
    expect(packageVersion(pathToFileURL(module).href)).toBe('9.8.7');
  });

  it('throws when no package.json above is this package', () => {
    const root = tree({ app: { name: 'some-app', version: '1.0.0' } });
    const from = pathToFileURL(join(root, 'app', 'cli', 'version.js')).href;
    expect(() => packageVersion(from)).toThrow(`no package.json of ims-token-refresher above ${from}`);
  });
});
