import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A preload for a child Node process (`NODE_OPTIONS=--require …`) that resolves `hosts` to
 * 127.0.0.1 and leaves every other name to the system resolver: what a VPC endpoint's private DNS
 * does for its service's name, so the child reaches a local emulator under the real host name
 * directly, without a proxy. It wraps `dns.lookup`, which `net` and `tls` connections use. Written
 * to `dir`; returns the `NODE_OPTIONS` value.
 */
export function resolvingPreload(dir: string, hosts: readonly string[]): string {
  const file = join(dir, 'resolve-preload.cjs');
  writeFileSync(
    file,
    `const dns = require('node:dns');
const hosts = new Set(${JSON.stringify(hosts.map((host) => host.toLowerCase()))});
const lookup = dns.lookup;
dns.lookup = function (hostname, options, callback) {
  if (!hosts.has(String(hostname).toLowerCase())) return lookup.apply(this, arguments);
  const done = typeof options === 'function' ? options : callback;
  const all = typeof options === 'object' && options !== null && options.all;
  process.nextTick(() => (all ? done(null, [{ address: '127.0.0.1', family: 4 }]) : done(null, '127.0.0.1', 4)));
};
`,
  );
  return `--require ${file}`;
}
