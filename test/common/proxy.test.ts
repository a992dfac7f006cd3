import { get, type Agent } from 'node:https';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, ProxyError } from '../../common/errors.js';
import {
  bypassesProxy,
  parseNoProxy,
  parseProxyUrl,
  PROXY_CONNECT_TIMEOUT_MS,
  ProxyAgent,
  type ProxyAgentOptions,
} from '../../common/proxy.js';
import { redact, REDACTED } from '../../common/redact.js';
import { SecretsManagerStore, STORE_TIMEOUTS, secretsManagerClient } from '../../common/secrets-manager-store.js';
import { ConnectProxy } from '../sandbox/connect-proxy.js';
import { listen, type LoopbackServer } from '../sandbox/loopback-server.js';
import { countSecrets } from '../sandbox/secret-registry.js';
import { testCertificate, type TestCertificate } from '../sandbox/test-tls.js';
import { registerSecret } from '../support/leak-guard.js';
import { rejection } from '../support/rejection.js';

/** A name this process cannot resolve: only the proxy double knows where it goes. */
const UNRESOLVABLE = 'ims.proxy-test.invalid';

describe('parseProxyUrl', () => {
  it.each([
    ['http://proxy.corp.example:3128', { host: 'proxy.corp.example', port: 3128 }],
    ['http://10.0.0.5:8080/', { host: '10.0.0.5', port: 8080 }],
    [' http://[fd00::1]:3128 ', { host: 'fd00::1', port: 3128 }],
  ])('reads %s', (value, expected) => {
    expect(parseProxyUrl(value, 'HTTPS_PROXY')).toEqual(expected);
  });

  it.each([
    'https://proxy.corp.example:3128',
    'http://proxy.corp.example',
    'http://proxy.corp.example:0',
    'http://proxy.corp.example:70000',
    'http://proxy.corp.example:3128/path',
    'http://proxy.corp.example:3128?x=1',
    'socks5://proxy.corp.example:1080',
    'proxy.corp.example:3128',
  ])('refuses %s with a ConfigurationError naming the variable', (value) => {
    expect(() => parseProxyUrl(value, 'HTTPS_PROXY')).toThrow(
      new ConfigurationError('HTTPS_PROXY must be http://host:port (an HTTP CONNECT proxy: no path, query or https)'),
    );
  });

  it('refuses credentials in the URL without repeating them', () => {
    const password = 'proxy-password-in-the-url';
    for (const value of [`http://someone:${password}@proxy:3128`, `https://someone:${password}@proxy:3128/`]) {
      expect(() => parseProxyUrl(value, 'HTTPS_PROXY')).toThrow(
        new ConfigurationError('HTTPS_PROXY must not contain credentials; keep them in the proxy credentials secret'),
      );
    }
  });
});

describe('NO_PROXY', () => {
  it('reads host suffixes, skipping empty entries, and refuses others by position', () => {
    expect(parseNoProxy([' .Amazonaws.com', '', 'secretsmanager.us-east-1.amazonaws.com', '*'], 'NO_PROXY')).toEqual([
      '.amazonaws.com',
      'secretsmanager.us-east-1.amazonaws.com',
      '*',
    ]);
    expect(() => parseNoProxy(['example.com', 'host:443'], 'NO_PROXY')).toThrow(
      new ConfigurationError('NO_PROXY entry 2 is not a host name, a domain suffix or *'),
    );
  });

  it.each([
    ['secretsmanager.us-east-1.amazonaws.com', ['secretsmanager.us-east-1.amazonaws.com'], true],
    ['secretsmanager.us-east-1.amazonaws.com', ['.amazonaws.com'], true],
    ['secretsmanager.us-east-1.amazonaws.com', ['amazonaws.com'], true],
    ['SecretsManager.US-East-1.amazonaws.com.', ['amazonaws.com'], true],
    ['ims-na1.adobelogin.com', ['*'], true],
    ['ims-na1.adobelogin.com', ['.amazonaws.com'], false],
    ['notamazonaws.com', ['amazonaws.com'], false],
    ['ims-na1.adobelogin.com', [], false],
  ])('%s with %j bypasses the proxy: %s', (host, noProxy, expected) => {
    expect(bypassesProxy(host, noProxy)).toBe(expected);
  });
});

describe('ProxyAgent', () => {
  let certificate: TestCertificate;
  let server: LoopbackServer;
  let serverPort: number;
  let proxy: ConnectProxy;
  const agents: Agent[] = [];

  beforeAll(async () => {
    certificate = await testCertificate([UNRESOLVABLE]);
    server = await listen(async (request, response) => {
      response.end(`hello from ${request.headers.host}`);
    }, certificate);
    serverPort = server.port;
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    proxy = await ConnectProxy.start((target) => ({
      host: '127.0.0.1',
      port: target.startsWith(`${UNRESOLVABLE}:`) ? serverPort : Number(target.split(':').pop()),
    }));
  });
  afterEach(async () => {
    for (const agent of agents.splice(0)) agent.destroy();
    await proxy.close();
  });

  function agent(options: Partial<ProxyAgentOptions> = {}, noProxy: string[] = [], port = proxy.port): ProxyAgent {
    const made = new ProxyAgent(
      { host: '127.0.0.1', port, noProxy },
      { call: 'IMS', agentOptions: { ca: certificate.certPem }, ...options },
    );
    agents.push(made);
    return made;
  }

  function fetchText(via: Agent, url: string): Promise<string> {
    return new Promise((resolve, reject) => {
      get(url, { agent: via }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve(body));
      }).on('error', reject);
    });
  }

  it('reaches a host only the proxy can resolve, TLS end to end through a CONNECT tunnel', async () => {
    const url = `https://${UNRESOLVABLE}:${serverPort}/`;

    await expect(fetchText(agent(), url)).resolves.toBe(`hello from ${UNRESOLVABLE}:${serverPort}`);

    expect(proxy.requests).toEqual([{ target: `${UNRESOLVABLE}:${serverPort}`, authorization: undefined }]);
  });

  it('sends the proxy credentials in Proxy-Authorization (Basic) and remembers them for redaction', async () => {
    const credentials = { username: 'proxy-user-4711-long', password: 'proxy-password-0815-secret' };
    registerSecret(credentials.password);

    await fetchText(agent({ credentials: async () => credentials }), `https://${UNRESOLVABLE}:${serverPort}/`);

    const header = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    expect(proxy.requests.map((request) => request.authorization)).toEqual([header]);
    expect(redact(`${credentials.username} ${credentials.password} ${header}`)).toBe(
      `${REDACTED} ${REDACTED} ${REDACTED}`,
    );
  });

  it('says when the proxy refuses the credentials (407), and only then, so they can be read again', async () => {
    let refused = 0;
    const withCredentials = () =>
      agent({ credentials: async () => ({ username: 'u', password: 'p' }), credentialsRefused: () => refused++ });
    proxy.answer(502);
    await rejection(fetchText(withCredentials(), `https://${UNRESOLVABLE}:${serverPort}/`));
    expect(refused).toBe(0);
    proxy.answer(407);
    await rejection(fetchText(withCredentials(), `https://${UNRESOLVABLE}:${serverPort}/`));
    expect(refused).toBe(1);
  });

  it('connects directly to a host in noProxy', async () => {
    await expect(fetchText(agent({}, ['127.0.0.1']), `https://127.0.0.1:${serverPort}/`)).resolves.toBe(
      `hello from 127.0.0.1:${serverPort}`,
    );
    expect(proxy.requests).toEqual([]);
  });

  it.each([
    [407, /answered CONNECT with 407 \(proxy authentication required: check the proxy credentials\)/],
    [403, /answered CONNECT with HTTP 403$/],
    [502, /answered CONNECT with HTTP 502$/],
    ['close', /closed the connection before answering CONNECT$/],
  ] as const)('fails with PROXY_FAILED when the proxy answers %s', async (answer, message) => {
    const credentials = { username: 'proxy-user-4711', password: 'proxy-password-never-shown' };
    registerSecret(credentials.password);
    proxy.answer(answer);

    const error = await rejection<ProxyError>(
      fetchText(agent({ credentials: async () => credentials }), `https://${UNRESOLVABLE}:${serverPort}/`),
    );

    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({
      code: 'PROXY_FAILED',
      transient: true,
      call: 'IMS',
      proxy: `127.0.0.1:${proxy.port}`,
    });
    expect(error.message).toMatch(new RegExp(`^proxy 127\\.0\\.0\\.1:${proxy.port} `));
    expect(error.message).toMatch(new RegExp(`${message.source.replace(/\$$/, '')} \\(carrying the IMS call\\)$`));
    expect(countSecrets(JSON.stringify({ ...error, message: error.message }))).toBe(0);
  });

  it('fails with PROXY_FAILED when nothing listens at the proxy address', async () => {
    const closed = await ConnectProxy.start();
    const port = closed.port;
    await closed.close();

    const error = await rejection<ProxyError>(fetchText(agent({}, [], port), `https://${UNRESOLVABLE}:${serverPort}/`));

    expect(error).toBeInstanceOf(ProxyError);
    expect(error.message).toBe(`proxy 127.0.0.1:${port} could not be reached (ECONNREFUSED) (carrying the IMS call)`);
  });

  it('fails with PROXY_FAILED when the proxy never answers CONNECT, after its timeout', async () => {
    proxy.answer('hang');

    const error = await rejection<ProxyError>(
      fetchText(agent({ connectTimeoutMs: 50 }), `https://${UNRESOLVABLE}:${serverPort}/`),
    );

    expect(error).toBeInstanceOf(ProxyError);
    expect(error.message).toBe(
      `proxy 127.0.0.1:${proxy.port} did not answer CONNECT within 50 ms (carrying the IMS call)`,
    );
    expect(proxy.requests).toHaveLength(1);
  });

  describe('as the AWS SDK agent', () => {
    const store = (credentials?: ProxyAgentOptions['credentials']) =>
      new SecretsManagerStore(
        secretsManagerClient(
          {
            region: 'us-east-1',
            credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
          },
          agent({ call: 'Secrets Manager', credentials }),
        ),
      );

    it('carries the calls: a refusal is the proxy failure, not a Secrets Manager one', async () => {
      proxy.answer(407);

      const error = await rejection<ProxyError>(store().read('ims/token'));

      expect(error).toBeInstanceOf(ProxyError);
      expect(error.message).toMatch(
        /^proxy 127\.0\.0\.1:\d+ answered CONNECT with 407 .*\(carrying the Secrets Manager call\)$/,
      );
      expect(proxy.requests).toEqual([
        { target: 'secretsmanager.us-east-1.amazonaws.com:443', authorization: undefined },
      ]);
    });

    it("reports a proxy that never answers before the SDK's own connection timeout blames Secrets Manager", async () => {
      expect(PROXY_CONNECT_TIMEOUT_MS).toBeLessThan(STORE_TIMEOUTS.connectionTimeoutMs);
      proxy.answer('hang');

      const error = await rejection<ProxyError>(store().read('ims/token'));

      expect(error).toBeInstanceOf(ProxyError);
      expect(error.message).toMatch(/did not answer CONNECT within 1500 ms \(carrying the Secrets Manager call\)$/);
    });

    it('fails the call with the error of the proxy credentials when they cannot be had', async () => {
      const unavailable = new ConfigurationError('proxy credentials secret "p" has no value yet');

      const error = await rejection<ProxyError>(store(() => Promise.reject(unavailable)).read('ims/token'));

      expect(error).toBe(unavailable);
      expect(proxy.requests).toEqual([]);
    });
  });
});
