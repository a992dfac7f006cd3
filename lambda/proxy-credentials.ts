import { ConfigurationError } from '../common/errors.js';
import { ProxyAgent, type ProxyCredentials, type ProxyRoute } from '../common/proxy.js';
import { rememberSecret } from '../common/redact.js';
import { SecretsManagerStore, secretsManagerClient } from '../common/secrets-manager-store.js';
import type { SecretStore } from '../common/store.js';

/** Proxy credentials read once and kept; `forget` drops them, so the next connection reads them again. */
export type KeptProxyCredentials = (() => Promise<ProxyCredentials>) & { readonly forget: () => void };

/**
 * The proxy's credentials from the secret `secretId`, read when the first proxied connection
 * needs them and kept for the life of the sandbox (once per cold start); a failed read is not
 * kept, so the next connection tries again, and neither are credentials the proxy refused (407:
 * the password was changed), once `forget` is called. The read has a Secrets Manager client of its own
 * (the same timeouts) whose connections go through the proxy without credentials, since they
 * are what it reads, or directly when Secrets Manager's host is in `noProxy`, where the construct
 * puts it by default with proxy credentials: a proxy that wants credentials for every tunnel would
 * refuse this read.
 */
export function proxyCredentials(
  route: ProxyRoute,
  secretId: string,
  store: SecretStore = new SecretsManagerStore(
    secretsManagerClient({}, new ProxyAgent(route, { call: 'Secrets Manager' })),
  ),
): KeptProxyCredentials {
  let reading: Promise<ProxyCredentials> | undefined;
  const get = () => {
    reading ??= read(store, secretId).catch((error: unknown) => {
      reading = undefined;
      throw error;
    });
    return reading;
  };
  return Object.assign(get, { forget: () => (reading = undefined) });
}

async function read(store: SecretStore, secretId: string): Promise<ProxyCredentials> {
  const secret = await store.read(secretId);
  if (!secret) throw new ConfigurationError(`proxy credentials secret "${secretId}" has no value yet`);
  return parseProxyCredentials(secret.value, secretId);
}

/**
 * `{"username": "...", "password": "..."}`, both remembered for redaction at once; a
 * `ConfigurationError` names the field that is wrong, never a value (not even a JSON parser's
 * message, which quotes the text).
 */
export function parseProxyCredentials(text: string, secretId: string): ProxyCredentials {
  const refuse = (why: string) =>
    new ConfigurationError(
      `proxy credentials secret "${secretId}" must hold JSON {"username": "...", "password": "..."}: ${why}`,
    );
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw refuse('it is not JSON');
  }
  const fields = typeof document === 'object' && document !== null ? (document as Record<string, unknown>) : {};
  for (const name of ['username', 'password']) {
    if (typeof fields[name] !== 'string' || fields[name] === '') throw refuse(`"${name}" is missing or not a string`);
  }
  const { username, password } = fields as { username: string; password: string };
  rememberSecret(username, password);
  if (username.includes(':')) throw refuse('"username" contains ":", which Basic authentication cannot carry');
  return { username, password };
}
