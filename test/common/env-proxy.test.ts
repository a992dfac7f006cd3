/**
 * Node's own proxy support (`NODE_USE_ENV_PROXY=1` with `HTTPS_PROXY`, Node 24) against what the
 * refresher does, each in a child process started with both: the global `fetch` goes through the
 * proxy; an AWS SDK client with the SDK's own handler does not (the `https.Agent` it makes ignores
 * the variables) and connects directly; our store's client, built as lambda/app.ts builds it with
 * the proxy, goes through it. Secrets Manager's real host name resolves in the child to the
 * emulator (a preload), so a direct connection succeeds too, and only the proxy's record tells them apart.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectProxy } from '../sandbox/connect-proxy.js';
import { resolvingPreload } from '../sandbox/resolve-preload.js';
import { SecretsManagerEmulator } from '../sandbox/secrets-manager-emulator.js';
import { testCertificate } from '../sandbox/test-tls.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECRETS_MANAGER_HOST = 'secretsmanager.us-east-1.amazonaws.com';

let dir: string;
let emulator: SecretsManagerEmulator;
let proxy: ConnectProxy;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'env-proxy-'));
  const certificate = await testCertificate([SECRETS_MANAGER_HOST]);
  writeFileSync(join(dir, 'ca.pem'), certificate.certPem);
  emulator = await SecretsManagerEmulator.start({ tls: certificate });
  const port = new URL(emulator.url).port;
  proxy = await ConnectProxy.start(() => ({ host: '127.0.0.1', port: Number(port) }));
  env = {
    PATH: process.env.PATH ?? '',
    NODE_USE_ENV_PROXY: '1',
    HTTPS_PROXY: proxy.url,
    NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'),
    NODE_OPTIONS: resolvingPreload(dir, [SECRETS_MANAGER_HOST]),
    AWS_ENDPOINT_URL_SECRETS_MANAGER: `https://${SECRETS_MANAGER_HOST}:${port}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'env-proxy',
    AWS_SECRET_ACCESS_KEY: 'env-proxy',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    SECRET_ID: emulator.create('env-proxy/value', 'read'),
  };
});
afterAll(async () => {
  await Promise.all([proxy?.close(), emulator?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** Runs test/common/env-proxy-child.ts with `how` in this Node binary (the scripts' Node 24). */
function childRead(how: string): Promise<{ value?: string; error?: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'test/common/env-proxy-child.ts', how],
      { cwd: ROOT, env, encoding: 'utf8' },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
  });
}

describe('NODE_USE_ENV_PROXY=1 with HTTPS_PROXY (Node 24)', () => {
  it.each([
    ['the global fetch goes through the proxy', 'fetch', true],
    ["an AWS SDK client with the SDK's own request handler connects directly: the proxy records nothing", 'sdk', false],
    ["our store's client, built as lambda/app.ts builds it with the proxy, goes through it", 'store', true],
  ])('%s', async (_title, how, throughProxy) => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
    const before = proxy.requests.length;

    const read = await childRead(how);

    expect(read).toEqual({ value: 'read' });
    expect(proxy.requests.slice(before).map((request) => request.target)).toEqual(
      throughProxy ? [`${SECRETS_MANAGER_HOST}:${new URL(emulator.url).port}`] : [],
    );
  });
});
