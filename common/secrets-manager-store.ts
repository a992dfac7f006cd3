import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import type { Agent as HttpsAgent } from 'node:https';
import { RefresherError, SecretStoreError } from './errors.js';
import { redact } from './redact.js';
import {
  PENDING_STAGE,
  type ReadOptions,
  type SecretStore,
  type SecretVersion,
  type StageOptions,
  type StoreCallOptions,
} from './store.js';

/**
 * Each Secrets Manager call's own deadline: a connection within 2 s, the answer's headers within
 * 5 s, and no 5 s without a byte while the body arrives (`socketTimeout`: the SDK clears the
 * request timeout once headers are in, and its default for an idle socket is minutes), each
 * attempt; the SDK retries a timed-out attempt (3 attempts in all), so one call ends within about
 * 25 s even when every attempt hangs. `throwOnRequestTimeout` matters: without it the SDK's
 * handler only logs a warning when `requestTimeout` passes and keeps waiting.
 */
export const STORE_TIMEOUTS = { connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 3 } as const;

/**
 * A Secrets Manager client with the timeouts above, so a hung call fails instead of running into
 * the Lambda's timeout. `httpsAgent` makes its connections (a `ProxyAgent`: the SDK's own agent
 * ignores `HTTPS_PROXY` and `NODE_USE_ENV_PROXY`). The SDK itself honours `AWS_USE_FIPS_ENDPOINT`
 * and `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
 */
export function secretsManagerClient(
  config: SecretsManagerClientConfig = {},
  httpsAgent?: HttpsAgent,
): SecretsManagerClient {
  return new SecretsManagerClient({
    maxAttempts: STORE_TIMEOUTS.maxAttempts,
    requestHandler: {
      connectionTimeout: STORE_TIMEOUTS.connectionTimeoutMs,
      requestTimeout: STORE_TIMEOUTS.requestTimeoutMs,
      socketTimeout: STORE_TIMEOUTS.requestTimeoutMs,
      throwOnRequestTimeout: true,
      ...(httpsAgent ? { httpsAgent } : {}),
    },
    ...config,
  });
}

/** The `SecretStore` port on AWS Secrets Manager. Errors are wrapped once; values never logged. */
export class SecretsManagerStore implements SecretStore {
  constructor(private readonly client: SecretsManagerClient) {}

  async read(secretId: string, options: ReadOptions = {}): Promise<SecretVersion | undefined> {
    const call = { abortSignal: options.signal };
    try {
      const out = await this.client.send(
        new GetSecretValueCommand({
          SecretId: secretId,
          VersionStage: options.versionStage,
          VersionId: options.versionId,
        }),
        call,
      );
      if (out.SecretString === undefined && out.SecretBinary !== undefined) {
        throw new SecretStoreError(
          'SECRET_READ_FAILED',
          `secret "${secretId}" holds a binary value (SecretBinary); store the JSON as the secret's text (SecretString)`,
          undefined,
          false,
        );
      }
      if (out.SecretString === undefined || out.VersionId === undefined) return undefined;
      return {
        value: out.SecretString,
        versionId: out.VersionId,
        arn: out.ARN ?? secretId,
        ...(out.VersionStages ? { stages: out.VersionStages } : {}),
      };
    } catch (error) {
      // Not found: either no version with the label (no value yet, no previous one), or no such secret at all.
      if (error instanceof ResourceNotFoundException) {
        if (await this.exists(secretId, call)) return undefined;
        throw new SecretStoreError(
          'SECRET_READ_FAILED',
          `secret "${secretId}" does not exist (deleted?); create it or correct the secret id`,
          error,
          false,
        );
      }
      throw storeFailed('SECRET_READ_FAILED', secretId, error);
    }
  }

  async stage(
    secretId: string,
    value: string,
    versionId: string,
    options: StageOptions = {},
  ): Promise<{ duplicate: boolean }> {
    const label = options.label ?? PENDING_STAGE;
    try {
      await this.client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          SecretString: value,
          ClientRequestToken: versionId,
          VersionStages: [label],
        }),
        { abortSignal: options.signal },
      );
      return { duplicate: false };
    } catch (error) {
      if (error instanceof ResourceExistsException) return { duplicate: true };
      throw storeFailed('TOKEN_WRITE_FAILED', secretId, error, label === PENDING_STAGE ? 'token secret' : 'secret');
    }
  }

  async promote(
    secretId: string,
    versionId: string,
    expectedCurrent: string | undefined,
    options: StoreCallOptions = {},
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: versionId,
          RemoveFromVersionId: expectedCurrent,
        }),
        { abortSignal: options.signal },
      );
      return true;
    } catch (error) {
      // Secrets Manager's refusal when AWSCURRENT is not on `RemoveFromVersionId` (or is on a version and none was named).
      if (error instanceof InvalidParameterException) return false;
      throw storeFailed('TOKEN_WRITE_FAILED', secretId, error);
    }
  }

  /** Whether the secret exists; a failure to tell is the read's failure. */
  private async exists(secretId: string, call: { abortSignal: AbortSignal | undefined }): Promise<boolean> {
    try {
      await this.client.send(new DescribeSecretCommand({ SecretId: secretId }), call);
      return true;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return false;
      throw storeFailed('SECRET_READ_FAILED', secretId, error);
    }
  }
}

/**
 * A failed call as the port reports it: which secret, and the SDK error's message (redacted) after
 * it. An error of ours stays as it is: a binary secret's, or the HTTPS proxy's (`ProxyError`, or
 * why the proxy credentials could not be had), which the SDK passes on from its agent.
 */
function storeFailed(
  code: 'SECRET_READ_FAILED' | 'TOKEN_WRITE_FAILED',
  secretId: string,
  error: unknown,
  written = 'token secret',
): RefresherError {
  if (error instanceof RefresherError) return error;
  const what = code === 'SECRET_READ_FAILED' ? 'read secret' : `write ${written}`;
  return new SecretStoreError(code, `could not ${what} "${secretId}"${why(error)}`, error, retryable(error));
}

/** Waiting may help unless AWS refused the request (a 4xx fault) for a reason other than throttling. */
function retryable(error: unknown): boolean {
  const { $fault, $retryable } = error as { $fault?: string; $retryable?: { throttling?: boolean } };
  return (
    $fault !== 'client' || $retryable?.throttling === true || /Throttl|TooManyRequests/.test((error as Error).name)
  );
}

/** Longest part of an SDK error's message an error message carries (AWS's own are one sentence). */
const MAX_CAUSE_LENGTH = 300;

/**
 * Why a call failed, for the end of the message: the SDK error's own message (`Region is
 * missing`, `connect ECONNREFUSED 127.0.0.1:1`, AWS's reason for a refusal), redacted, on one line
 * and bounded, since it is text from outside; a timeout first says so. The SDK error itself stays
 * the `cause`. (A call aborted by the run's signal never gets here: the core reports it first, see
 * `bounded` in refresh.ts.)
 */
function why(error: unknown): string {
  const { name, message } = error instanceof Error ? error : { name: '', message: String(error) };
  const reason = redact(message || name, MAX_CAUSE_LENGTH);
  return name === 'TimeoutError' ? `: no answer in time (${reason})` : reason ? `: ${reason}` : '';
}
