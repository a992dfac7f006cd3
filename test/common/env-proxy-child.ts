/**
 * The child process of test/common/env-proxy.test.ts, started with NODE_USE_ENV_PROXY=1 and
 * HTTPS_PROXY: reads one secret from the Secrets Manager at AWS_ENDPOINT_URL_SECRETS_MANAGER the
 * way argv[2] names, and prints its value (or the error) as one JSON line.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseProxyUrl } from '../../common/proxy.js';
import { networkAdapters } from '../../lambda/app.js';

const endpoint = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER!;
const SecretId = process.env.SECRET_ID!;

const reads: Record<string, () => Promise<string | undefined>> = {
  /** The global fetch, speaking Secrets Manager's JSON protocol itself (the emulator needs no signature). */
  fetch: async () => {
    const answer = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
      body: JSON.stringify({ SecretId }),
    });
    return ((await answer.json()) as { SecretString?: string }).SecretString;
  },
  /** A client with the SDK's own request handler (NodeHttpHandler and the https.Agent it makes). */
  sdk: async () => (await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId }))).SecretString,
  /** Our store, as lambda/app.ts builds it with HTTPS_PROXY. */
  store: async () => {
    const proxy = { ...parseProxyUrl(process.env.HTTPS_PROXY!, 'HTTPS_PROXY'), noProxy: [] };
    return (await networkAdapters({ proxy }).store.read(SecretId))?.value;
  },
};

reads[process.argv[2]]().then(
  (value) => console.log(JSON.stringify({ value })),
  (error: Error) => console.log(JSON.stringify({ error: `${error.name}: ${error.message}` })),
);
