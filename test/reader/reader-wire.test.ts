import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTokenReader, DEFAULT_MIN_VALIDITY_MS, ProxyError } from '../../reader/index.js';
import { secretsManagerClient } from '../../common/secrets-manager-store.js';
import { fakeClock } from '../support/fakes.js';
import { tokenSecretValue } from '../support/token-secret.js';
import { SecretsManagerEmulator } from '../sandbox/secrets-manager-emulator.js';
import { listen } from '../sandbox/loopback-server.js';
import { ConnectProxy } from '../sandbox/connect-proxy.js';
import { registerSecret } from '../support/leak-guard.js';

// The real SDK client over the wire (this file mocks nothing): what the reader sees of AWS's clock and failures.

const HOUR = 3_600_000;
const MINUTE = 60_000;
const DAY = 24 * HOUR;

const opened: { emulator?: SecretsManagerEmulator; client?: SecretsManagerClient; close?: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const { emulator, client, close } of opened.splice(0)) {
    client?.destroy();
    await emulator?.close();
    await close?.();
  }
  vi.unstubAllEnvs();
});

/**
 * A reader on this host (its clock `clock`), reading secret "token" from a Secrets Manager whose
 * clock is `aheadMs` ahead of this host's; the secret holds a token the refresher, on Secrets
 * Manager's time, issued `issuedAgoMs` ago.
 */
async function skewed(aheadMs: number, issuedAgoMs: number) {
  const emulator = await SecretsManagerEmulator.start({ clockOffsetMs: aheadMs });
  const client = emulator.client();
  opened.push({ emulator, client });
  const clock = fakeClock();
  emulator.create('token', tokenSecretValue('skewed-reader-token', clock.time + aheadMs - issuedAgoMs));
  return { emulator, clock, reader: createTokenReader({ secretId: 'token', client, now: clock.now }) };
}

describe('the reader judges the token by Secrets Manager clock, not its host clock', () => {
  it('takes a token issued just now while its host clock is 10 minutes behind', async () => {
    const { reader } = await skewed(10 * MINUTE, 0);
    await expect(reader.getAccessToken()).resolves.toBe('skewed-reader-token');
  });

  it('refuses a token that expired 10 minutes ago while its host clock is 20 minutes behind', async () => {
    const { reader } = await skewed(20 * MINUTE, DAY + 10 * MINUTE);
    await expect(reader.get()).rejects.toMatchObject({
      name: 'TokenExpiredError',
      message: expect.stringContaining('expired at'),
    });
  });

  it('stops serving its cached token at the margin by Secrets Manager clock while its host clock is 20 minutes behind', async () => {
    const { emulator, clock, reader } = await skewed(20 * MINUTE, 0);
    await reader.get();
    // By Secrets Manager's clock the token is now 2 s inside the margin (the Date header has whole
    // seconds); by this host's, 20 minutes behind, it still has 25 minutes left.
    clock.advance(DAY - DEFAULT_MIN_VALIDITY_MS + 2_000);

    await expect(reader.get()).rejects.toMatchObject({ name: 'TokenExpiredError' });
    expect(emulator.count('GetSecretValue')).toBe(2);
  });

  it('hands out a token with 15 minutes left while its host clock is 20 minutes ahead', async () => {
    const { reader } = await skewed(-20 * MINUTE, DAY - 15 * MINUTE);
    await expect(reader.getAccessToken()).resolves.toBe('skewed-reader-token');
  });
});

describe('a failed read says why', () => {
  it('names a missing region', async () => {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/dev/null');
    const reader = createTokenReader({ secretId: 'token' }); // the reader's own default client

    await expect(reader.get()).rejects.toMatchObject({
      code: 'SECRET_READ_FAILED',
      message: 'could not read secret "token": Region is missing',
    });
  });

  it('names a refused connection', async () => {
    const closed = await listen(() => Promise.resolve());
    await closed.close();
    const client = secretsManagerClient({
      endpoint: closed.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    opened.push({ client });

    await expect(createTokenReader({ secretId: 'token', client }).get()).rejects.toMatchObject({
      code: 'SECRET_READ_FAILED',
      message: `could not read secret "token": connect ECONNREFUSED ${new URL(closed.url).host}`,
    });
  });
});

describe('the reader through an HTTPS proxy (httpsProxy)', () => {
  it('sends its calls through the proxy with its credentials, and rejects with ProxyError when the proxy refuses', async () => {
    const proxy = await ConnectProxy.start();
    opened.push({ close: () => proxy.close() });
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'reader-test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'reader-test');
    vi.stubEnv('AWS_ENDPOINT_URL', undefined);
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', undefined);
    const proxyCredentials = { username: 'reader-proxy-user', password: 'reader-proxy-password-1234' };
    registerSecret(proxyCredentials.password);
    proxy.answer(407);

    const reader = createTokenReader({ secretId: 'token', httpsProxy: proxy.url, proxyCredentials });

    await expect(reader.get()).rejects.toThrow(ProxyError);
    expect(proxy.requests).toEqual([
      {
        target: 'secretsmanager.us-east-1.amazonaws.com:443',
        authorization: `Basic ${Buffer.from('reader-proxy-user:reader-proxy-password-1234').toString('base64')}`,
      },
    ]);
  });

  it.each([
    ['an https proxy', { httpsProxy: 'https://proxy:3128' }, '"httpsProxy" must be http://host:port'],
    ['a bad noProxy entry', { httpsProxy: 'http://proxy:3128', noProxy: ['a b'] }, '"noProxy" entry 1 is not'],
    ['noProxy alone', { noProxy: ['.example.com'] }, '"noProxy" and "proxyCredentials" need "httpsProxy"'],
    ['a proxy and a client', { httpsProxy: 'http://proxy:3128', client: secretsManagerClient() }, 'not with "client"'],
  ])('refuses %s, naming the option', (_name, options, message) => {
    expect(() => createTokenReader({ secretId: 'token', ...options })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining(message) }),
    );
  });
});
