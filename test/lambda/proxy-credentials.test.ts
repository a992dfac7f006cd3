import { describe, expect, it, vi } from 'vitest';
import { ConfigurationError, SecretStoreError } from '../../common/errors.js';
import { redact, REDACTED } from '../../common/redact.js';
import { parseProxyCredentials, proxyCredentials } from '../../lambda/proxy-credentials.js';
import { MemoryStore } from '../support/fakes.js';
import { registerSecret } from '../support/leak-guard.js';

const ROUTE = { host: '127.0.0.1', port: 3128, noProxy: [] };
const SECRET = 'proxy/credentials';

describe('proxy credentials', () => {
  it('reads the secret once, when first asked, and remembers the values for redaction', async () => {
    const store = new MemoryStore();
    const password = 'proxy-password-from-the-secret';
    registerSecret(password);
    store.put(SECRET, JSON.stringify({ username: 'refresher-proxy-user', password }));
    const credentials = proxyCredentials(ROUTE, SECRET, store);
    expect(store.count('read')).toBe(0);

    await expect(credentials()).resolves.toEqual({ username: 'refresher-proxy-user', password });
    await credentials();

    expect(store.count('read', SECRET)).toBe(1);
    expect(redact(`user refresher-proxy-user, password ${password}`)).toBe(`user ${REDACTED}, password ${REDACTED}`);
  });

  it('reads again after a failed read: a failure is not kept', async () => {
    const store = new MemoryStore();
    const failure = new SecretStoreError('SECRET_READ_FAILED', 'could not read secret "proxy/credentials"', undefined);
    store.put(SECRET, JSON.stringify({ username: 'u', password: 'p' }));
    vi.spyOn(store, 'read').mockRejectedValueOnce(failure);
    const credentials = proxyCredentials(ROUTE, SECRET, store);

    await expect(credentials()).rejects.toBe(failure);
    await expect(credentials()).resolves.toEqual({ username: 'u', password: 'p' });
  });

  it('reads again once told the proxy refused them (a changed password), not before', async () => {
    const store = new MemoryStore();
    store.put(SECRET, JSON.stringify({ username: 'u', password: 'old' }));
    const credentials = proxyCredentials(ROUTE, SECRET, store);
    await credentials();
    store.put(SECRET, JSON.stringify({ username: 'u', password: 'new' }));
    await expect(credentials()).resolves.toEqual({ username: 'u', password: 'old' });

    credentials.forget();

    await expect(credentials()).resolves.toEqual({ username: 'u', password: 'new' });
    expect(store.count('read', SECRET)).toBe(2);
  });

  it('refuses a secret with no value yet', async () => {
    const store = new MemoryStore();
    await expect(proxyCredentials(ROUTE, SECRET, store)()).rejects.toThrow(
      new ConfigurationError('proxy credentials secret "proxy/credentials" has no value yet'),
    );
  });

  it.each([
    ['username: secret-value-not-json', 'it is not JSON'],
    ['[]', '"username" is missing or not a string'],
    ['{"username": "u", "password": 42}', '"password" is missing or not a string'],
    ['{"username": "u", "password": ""}', '"password" is missing or not a string'],
    [
      '{"username": "a:b", "password": "secret-value-with-colon"}',
      '"username" contains ":", which Basic authentication cannot carry',
    ],
  ])('refuses %s naming the field, never a value', (text, why) => {
    registerSecret('secret-value-not-json', 'secret-value-with-colon');
    expect(() => parseProxyCredentials(text, SECRET)).toThrow(
      new ConfigurationError(
        `proxy credentials secret "proxy/credentials" must hold JSON {"username": "...", "password": "..."}: ${why}`,
      ),
    );
  });
});
