/**
 * `credentials put` checks where the credentials would go before it uploads them: never into a
 * token secret, whose value every token reader may read (and which keeps the value as
 * `AWSPREVIOUS` after the next refresh).
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { secretKindOf } from '../common/rules.js';
import { describeError, Failure } from './failure.js';

/**
 * Throws a `WRONG_SECRET` failure when `secretId` is a token secret: its description is the one
 * the construct gives token secrets, or (for a secret the construct did not describe as its
 * credentials secret) its current value is a token record. A secret that cannot be described
 * fails closed; a value that cannot be read (the credentials secret's policy denies reading to all
 * but the refresher) leaves the decision to the description.
 */
export async function refuseTokenSecret(client: SecretsManagerClient, secretId: string): Promise<void> {
  let description: string | undefined;
  try {
    ({ Description: description } = await client.send(new DescribeSecretCommand({ SecretId: secretId })));
  } catch (error) {
    throw new Failure(
      'CREDENTIALS_WRITE_FAILED',
      `could not check that secret "${secretId}" is not a token secret (secretsmanager:DescribeSecret), so nothing was uploaded: ${describeError(error)}`,
    );
  }
  const kind = secretKindOf(description);
  if (kind === 'token') throw wrongSecret(secretId, 'its description says so');
  if (kind === undefined && (await holdsTokenRecord(client, secretId))) {
    throw wrongSecret(secretId, 'it holds a token record');
  }
}

/**
 * Whether the secret's current value looks like a token record: JSON with an `access_token`
 * field, valid or not, or a binary value (the credentials are text). `false` when reading is
 * denied or there is no value yet; any other failure to read fails closed.
 */
async function holdsTokenRecord(client: SecretsManagerClient, secretId: string): Promise<boolean> {
  let value: string | undefined;
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (out.SecretBinary !== undefined) return true;
    value = out.SecretString;
  } catch (error) {
    // Secrets Manager does not model AccessDeniedException: the SDK raises a generic error with that name.
    if (error instanceof ResourceNotFoundException || (error as Error).name === 'AccessDeniedException') return false;
    throw new Failure(
      'CREDENTIALS_WRITE_FAILED',
      `could not check that secret "${secretId}" is not a token secret, so nothing was uploaded: ${describeError(error)}`,
    );
  }
  try {
    const parsed: unknown = JSON.parse(value ?? '');
    return typeof parsed === 'object' && parsed !== null && 'access_token' in parsed;
  } catch {
    return false;
  }
}

function wrongSecret(secretId: string, because: string): Failure {
  return new Failure(
    'WRONG_SECRET',
    `secret "${secretId}" is a token secret (${because}), which token readers read; nothing was uploaded: ` +
      'put the credentials into the credentials secret (stack output …CredentialsSecretId)',
  );
}
