import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { SecretStoreError } from './errors.js';
import type { SecretStore, SecretVersion } from './store.js';

/**
 * A Secrets Manager client with timeouts, so a hung connection fails one attempt (the SDK then
 * retries) instead of running into the Lambda's own timeout with nothing logged.
 */
export function secretsManagerClient(config: SecretsManagerClientConfig = {}): SecretsManagerClient {
  return new SecretsManagerClient({ requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 }, ...config });
}

/** The `SecretStore` port on AWS Secrets Manager. Errors are wrapped once; values never logged. */
export class SecretsManagerStore implements SecretStore {
  constructor(private readonly client: SecretsManagerClient) {}

  async read(secretId: string): Promise<SecretVersion | undefined> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (out.SecretString === undefined || out.VersionId === undefined) return undefined;
      return { value: out.SecretString, versionId: out.VersionId };
    } catch (error) {
      // A secret created without a value has no AWSCURRENT version yet: that is "no value".
      if (error instanceof ResourceNotFoundException) return undefined;
      throw new SecretStoreError('SECRET_READ_FAILED', `could not read secret "${secretId}"`, error, retryable(error));
    }
  }

  async write(secretId: string, value: string, requestToken: string): Promise<{ duplicate: boolean }> {
    try {
      await this.client.send(
        new PutSecretValueCommand({ SecretId: secretId, SecretString: value, ClientRequestToken: requestToken }),
      );
      return { duplicate: false };
    } catch (error) {
      if (error instanceof ResourceExistsException) return { duplicate: true };
      throw new SecretStoreError('TOKEN_WRITE_FAILED', `could not write token secret "${secretId}"`, error, retryable(error));
    }
  }
}

/** Waiting may help unless AWS refused the request (a 4xx fault) for a reason other than throttling. */
function retryable(error: unknown): boolean {
  const { $fault, $retryable } = error as { $fault?: string; $retryable?: { throttling?: boolean } };
  return $fault !== 'client' || $retryable?.throttling === true || /Throttl|TooManyRequests/.test((error as Error).name);
}
