import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCredentials, type Credentials } from '../../common/credentials.js';
import { ImsError, ProxyError } from '../../common/errors.js';
import { ProxyAgent } from '../../common/proxy.js';
import { fetchVia } from '../../lambda/fetch-via.js';
import { exchange } from '../../lambda/ims.js';
import { ConnectProxy } from '../sandbox/connect-proxy.js';
import { ImsPeer } from '../sandbox/ims-peer.js';
import { generateOAuthCredentials } from '../sandbox/test-credentials.js';
import { rejection } from '../support/rejection.js';
import { testCertificate, type TestCertificate } from '../sandbox/test-tls.js';

/** IMS's real host: this process cannot reach it, only the proxy double's route does. */
const IMS_HOST = 'ims-na1.adobelogin.com';

let certificate: TestCertificate;
let credentials: Credentials;
let peer: ImsPeer;
let proxy: ConnectProxy;
let agent: ProxyAgent;

beforeAll(async () => {
  certificate = await testCertificate([IMS_HOST]);
  const oauth = generateOAuthCredentials();
  credentials = parseCredentials(oauth.json, {});
  peer = await ImsPeer.start({ tls: certificate });
  peer.register(oauth.integration);
});
afterAll(() => peer.close());
beforeEach(async () => {
  proxy = await ConnectProxy.start(() => ({ host: '127.0.0.1', port: peerPort() }));
  agent = new ProxyAgent(
    { host: '127.0.0.1', port: proxy.port, noProxy: [] },
    { call: 'IMS', agentOptions: { ca: certificate.certPem } },
  );
});
afterEach(async () => {
  agent.destroy();
  await proxy.close();
});

const peerPort = () => Number(new URL(peer.url).port);
const imsUrl = () => `https://${IMS_HOST}:${peerPort()}`;
const mint = (timeoutMs = 10_000, clientSecret = credentials.clientSecrets[0]) =>
  exchange(credentials, clientSecret, {
    fetch: fetchVia(agent),
    now: Date.now(),
    baseUrl: imsUrl(),
    timeoutMs,
  });

describe('fetchVia', () => {
  it('sends an http: loopback IMS_BASE_URL (tests only) directly: no proxy can reach this loopback', async () => {
    const plain = await ImsPeer.start();
    const oauth = generateOAuthCredentials();
    plain.register(oauth.integration);
    const unreachable = new ProxyAgent({ host: '127.0.0.1', port: 9, noProxy: [] }, { call: 'IMS' });
    try {
      const token = await exchange(parseCredentials(oauth.json, {}), oauth.integration.clientSecrets[0], {
        fetch: fetchVia(unreachable),
        now: Date.now(),
        baseUrl: plain.url,
        timeoutMs: 10_000,
      });
      expect(token.accessToken).toBe(plain.issued.at(-1));
    } finally {
      unreachable.destroy();
      await plain.close();
    }
  });

  it('carries the IMS exchange through the proxy to a host this process cannot resolve', async () => {
    const token = await mint();

    expect(token.accessToken).toBe(peer.issued.at(-1));
    expect(proxy.requests.map((request) => request.target)).toEqual([`${IMS_HOST}:${peerPort()}`]);
    expect(peer.requests.at(-1)).toMatchObject({ path: '/ims/token/v3', form: { grant_type: 'client_credentials' } });
  });

  it("passes IMS's error answers on as fetch would: status, headers and body", async () => {
    peer.fail({ status: 503, retryAfter: '7' });

    const error = await rejection<ImsError>(mint());

    expect(error).toBeInstanceOf(ImsError);
    expect(error).toMatchObject({ code: 'IMS_UNAVAILABLE', status: 503, retryAfterSeconds: 7 });
    const refusal = await rejection<ImsError>(mint(10_000, 'p8e-not-a-secret-of-this-client'));
    expect(refusal).toMatchObject({ code: 'IMS_REJECTED', status: 401, imsError: 'invalid_client' });
    expect(refusal.debugId).toMatch(/^[\w-]+$/);
  });

  it("rejects with the signal's reason when IMS never answers, as fetch does", async () => {
    peer.fail('hang');

    const error = await rejection<ImsError>(mint(50));

    expect(error).toMatchObject({
      code: 'IMS_UNAVAILABLE',
      message: 'IMS request to /ims/token/v3: no answer within 50 ms',
    });
  });

  it('reports the proxy failure as PROXY_FAILED, not as IMS being unavailable', async () => {
    proxy.answer(407);
    const reachedIms = peer.requests.length;

    const error = await rejection<ProxyError>(mint());

    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({ code: 'PROXY_FAILED', transient: true, call: 'IMS', status: 407 });
    expect(peer.requests).toHaveLength(reachedIms);
  });
});
