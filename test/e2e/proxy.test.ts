/**
 * End-to-end through a real forward proxy (Debian's squid, started by the test): the bundled
 * function reaches IMS and Secrets Manager by their real host names, which this machine cannot
 * resolve but squid routes to the local TLS emulators (a test CA through NODE_EXTRA_CA_CERTS), so
 * a stored token proves every call went through the proxy, and squid's access log lists each
 * CONNECT. Then a proxy that is down, one that refuses the credentials (407), and one that never
 * answers CONNECT (a bare socket: no real proxy can be told to hang). And the locked-down
 * configuration of issue 23 (`vpc`, `secretsManagerEndpoint: "create"`, `httpsProxy`), synthesized
 * here, run with its template's environment: IMS through squid, Secrets Manager directly at a
 * stand-in for the endpoint's private DNS. Every output is scanned for the proxy credentials and
 * the other secrets. Skipped, saying what to install, without squid.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseTokenRecord } from '../../common/token.js';
import { parseAppConfig } from '../../lib/config/load.js';
import { ImsTokenStack } from '../../lib/ims-token-stack.js';
import { synthesizedFunction, synthesizedFunctions, type SynthesizedFunction } from '../sandbox/bundle.js';
import type { LocalRefresher, Run } from '../sandbox/local-refresher.js';
import { IMS_HOST, RealNames, SECRETS_MANAGER_HOST } from '../sandbox/real-names.js';
import { resolvingPreload } from '../sandbox/resolve-preload.js';
import { countSecrets, registerSecret } from '../sandbox/secret-registry.js';
import { squidMissing, type Squid } from '../sandbox/squid.js';
import { generateJwtCredentials } from '../sandbox/test-credentials.js';

const PROXY_CREDENTIALS = { username: 'refresher-proxy-user', password: 'proxy-password-e2e-7a1f9c' };
/** Issue 23's locked-down token, as a configuration file gives it; its proxy credentials secret is the emulator's. */
const LOCKED_DOWN = {
  name: 'locked',
  vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'] },
  secretsManagerEndpoint: 'create',
  httpsProxy: 'http://proxy.corp.example.com:3128',
  proxyCredentialsSecret: 'proxy/credentials',
};
const missing = squidMissing();
if (missing) console.warn(`test/e2e/proxy.test.ts skipped: ${missing}`);

let names: RealNames;
let local: LocalRefresher;
let squid: Squid | undefined;
let proxyCredentialsSecretId: string;
let lockedDown: SynthesizedFunction;

beforeAll(async () => {
  registerSecret(PROXY_CREDENTIALS.password);
  names = await RealNames.start(synthesizedFunction(), await generateJwtCredentials({}));
  local = names.local;
  proxyCredentialsSecretId = local.emulator.create('proxy/credentials', JSON.stringify(PROXY_CREDENTIALS));
  lockedDown = synthesizeLockedDown(join(names.dir, 'cdk.out'));
});
afterAll(async () => {
  await names?.close();
});
afterEach(async () => {
  await squid?.stop();
  squid = undefined;
});

const port = (url: string) => new URL(url).port;

const startSquid = () => names.squid(PROXY_CREDENTIALS);

/**
 * The token of LOCKED_DOWN synthesized in us-east-1 by the stack the app builds, into `outdir`: its
 * function, with the template's environment. (That this template passes the guard rules with
 * CT.LAMBDA.PR.3 unacknowledged is test/bin/guard-rules.test.ts's and templates.test.ts's.)
 */
function synthesizeLockedDown(outdir: string): SynthesizedFunction {
  const app = new App({ outdir });
  new ImsTokenStack(app, 'LockedDown', {
    tokens: parseAppConfig({ tokens: [LOCKED_DOWN] }).tokens,
    env: { region: 'us-east-1' },
  });
  app.synth();
  return synthesizedFunctions(outdir, 'LockedDown')[0];
}

/** The proxy settings typed here: every call through `proxyUrl`, with the proxy credentials. */
const throughProxy = (proxyUrl: string) => ({
  HTTPS_PROXY: proxyUrl,
  NO_PROXY: '',
  PROXY_CREDENTIALS_SECRET_ID: proxyCredentialsSecretId,
});

/** One invocation (of `runFn`: default the bundle in cdk.out), the emulators addressed by their real host names; no secret in any output. */
async function run(env: Record<string, string>, runFn?: SynthesizedFunction): Promise<Run> {
  const result = await local.invoke({ force: true }, { fn: runFn, env: { ...names.env(), ...env } });
  expect(countSecrets(result.logs), 'secrets in the function output').toBe(0);
  expect(countSecrets(JSON.stringify(result.result ?? null)), 'secrets in the result').toBe(0);
  expect(countSecrets(JSON.stringify(result.error ?? null)), 'secrets in the error').toBe(0);
  return result;
}

describe.skipIf(missing !== undefined)('the bundled refresher through a real forward proxy (squid)', () => {
  it('mints and stores a token with every call through the proxy, which logs each CONNECT', async () => {
    squid = await startSquid();

    const result = await run(throughProxy(squid.url));

    expect(result.result).toMatchObject({ outcome: 'refreshed', reason: 'forced' });
    const stored = parseTokenRecord(local.emulator.current(local.tokenSecretId)!.value);
    expect(stored.access_token).toBe(local.peer.issued.at(-1));
    const connects = squid.connects();
    expect(connects.every((connect) => connect.result === 'TCP_TUNNEL/200')).toBe(true);
    expect(new Set(connects.map((connect) => connect.target))).toEqual(
      new Set([`${IMS_HOST}:${port(local.peer.url)}`, `${SECRETS_MANAGER_HOST}:${port(local.emulator.url)}`]),
    );
    // The proxy credentials were sent: squid names the user it authenticated for the IMS tunnel.
    expect(connects.find((connect) => connect.target.startsWith(IMS_HOST))?.user).toBe(PROXY_CREDENTIALS.username);
    expect(countSecrets(squid.accessLog())).toBe(0);
  });
});

describe.skipIf(missing !== undefined)('the locked-down configuration, synthesized (vpc, endpoint, proxy)', () => {
  it("mints and stores a token with the template's environment: IMS through the proxy, Secrets Manager at the endpoint", async () => {
    squid = await startSquid();
    // The template's HTTPS_PROXY with only its host and port made squid's; its NO_PROXY and
    // PROXY_CREDENTIALS_SECRET_ID as they are. Without an endpoint NO_PROXY is absent
    // (test/lib/network.test.ts) and every call goes through the proxy (the first test above).
    const proxyUrl = new URL(lockedDown.environment.HTTPS_PROXY);
    proxyUrl.host = `127.0.0.1:${squid.port}`;
    expect(lockedDown.environment.NO_PROXY).toBe(SECRETS_MANAGER_HOST);

    // The endpoint's private DNS: only Secrets Manager's host resolves in the function's process, to the emulator.
    const result = await run(
      { HTTPS_PROXY: proxyUrl.href, NODE_OPTIONS: resolvingPreload(names.dir, [SECRETS_MANAGER_HOST]) },
      lockedDown,
    );

    expect(result.result).toMatchObject({ outcome: 'refreshed', reason: 'forced' });
    const stored = parseTokenRecord(local.emulator.current(local.tokenSecretId)!.value);
    expect(stored.access_token).toBe(local.peer.issued.at(-1));
    expect(result.secretsManagerCalls.map((call) => call.action)).toContain('PutSecretValue');
    // Squid carried the IMS call alone, for the user of the template's proxy credentials secret.
    expect(squid.connects()).toEqual([
      { target: `${IMS_HOST}:${port(local.peer.url)}`, result: 'TCP_TUNNEL/200', user: PROXY_CREDENTIALS.username },
    ]);
  });
});

describe('proxy failures end the run with PROXY_FAILED, never blamed on IMS or Secrets Manager', () => {
  it.skipIf(missing !== undefined)('answers 407 to wrong credentials', async () => {
    squid = await startSquid();
    const wrong = local.emulator.create(
      'proxy/wrong-credentials',
      JSON.stringify({ ...PROXY_CREDENTIALS, password: 'not-the-proxy-password-31337' }),
    );
    registerSecret('not-the-proxy-password-31337');

    const result = await run({ ...throughProxy(squid.url), PROXY_CREDENTIALS_SECRET_ID: wrong });

    expect(result.result).toMatchObject({ outcome: 'failed', errorCode: 'PROXY_FAILED' });
    expect(String((result.result as { errorMessage: string }).errorMessage)).toMatch(
      new RegExp(`^proxy 127\\.0\\.0\\.1:${squid.port} answered CONNECT with 407 .*\\(carrying the IMS call\\)$`),
    );
  });

  it('reports a proxy that is down', async () => {
    const port = await closedPort();

    const result = await run(throughProxy(`http://127.0.0.1:${port}`));

    expect(result.result).toMatchObject({
      outcome: 'failed',
      errorCode: 'PROXY_FAILED',
      errorMessage: `proxy 127.0.0.1:${port} could not be reached (ECONNREFUSED) (carrying the Secrets Manager call)`,
    });
  });

  it('reports a proxy that never answers CONNECT, within its timeout', async () => {
    const silent = await silentServer();
    try {
      const result = await run(throughProxy(`http://127.0.0.1:${silent.port}`));

      expect(result.result).toMatchObject({
        outcome: 'failed',
        errorCode: 'PROXY_FAILED',
        errorMessage: `proxy 127.0.0.1:${silent.port} did not answer CONNECT within 1500 ms (carrying the Secrets Manager call)`,
      });
    } finally {
      await silent.close();
    }
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = await silentServer();
  await server.close();
  return server.port;
}

/** A TCP server on 127.0.0.1 that accepts connections and never says a word. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
