import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProxyAgent } from '../../common/proxy.js';
import { SecretsManagerStore, secretsManagerClient } from '../../common/secrets-manager-store.js';
import { ConnectProxy } from '../sandbox/connect-proxy.js';

/**
 * `AWS_USE_FIPS_ENDPOINT=true` (the construct's `fips`) is the AWS SDK's own setting: the clients
 * this project builds must leave it in effect. The endpoint a call resolves to is read where it
 * shows without any network: in the CONNECT a proxy double receives (and refuses).
 */
describe('FIPS endpoints', () => {
  let proxy: ConnectProxy;
  let agent: ProxyAgent;

  beforeEach(async () => {
    proxy = await ConnectProxy.start();
    agent = new ProxyAgent({ host: '127.0.0.1', port: proxy.port, noProxy: [] }, { call: 'Secrets Manager' });
    vi.stubEnv('AWS_ENDPOINT_URL', undefined);
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', undefined);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    agent.destroy();
    await proxy.close();
  });

  /** The host a read in `region` connects to. */
  async function endpointHost(region: string): Promise<string> {
    proxy.answer(403);
    const client = secretsManagerClient(
      { region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
      agent,
    );
    await new SecretsManagerStore(client).read('ims/token').catch(() => undefined);
    return proxy.requests.at(-1)!.target;
  }

  it.each([
    ['us-east-1', 'secretsmanager-fips.us-east-1.amazonaws.com:443'],
    ['ca-central-1', 'secretsmanager-fips.ca-central-1.amazonaws.com:443'],
    ['us-gov-west-1', 'secretsmanager-fips.us-gov-west-1.amazonaws.com:443'],
  ])('with AWS_USE_FIPS_ENDPOINT=true a client in %s calls %s', async (region, target) => {
    vi.stubEnv('AWS_USE_FIPS_ENDPOINT', 'true');
    await expect(endpointHost(region)).resolves.toBe(target);
  });

  it('without it, the regional endpoint', async () => {
    vi.stubEnv('AWS_USE_FIPS_ENDPOINT', undefined);
    await expect(endpointHost('us-east-1')).resolves.toBe('secretsmanager.us-east-1.amazonaws.com:443');
  });
});
