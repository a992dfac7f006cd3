import { readFileSync } from 'node:fs';

const PACKAGE_NAME = 'ims-token-refresher';

/**
 * This package's version, from its package.json: the first one named `ims-token-refresher` up from
 * `from` (this module). The sources (`cli/`), the ES module build (`dist/esm/cli/`) and an installed
 * copy sit at different depths below it, and a build folder may hold a package.json of its own
 * (`dist/cjs/package.json`, without a name).
 */
export function packageVersion(from: string = import.meta.url): string {
  for (let url = new URL('package.json', from); ; url = new URL('../package.json', url)) {
    const manifest = readManifest(url);
    if (manifest?.name === PACKAGE_NAME && typeof manifest.version === 'string') return manifest.version;
    if (new URL('../package.json', url).href === url.href) {
      throw new Error(`no package.json of ${PACKAGE_NAME} above ${from}`);
    }
  }
}

function readManifest(url: URL): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(url, 'utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
