/**
 * `credentials put` checks where the credentials would go before it uploads them: never into a
 * token secret, whose value every token reader may read (and which keeps the value as
 * `AWSPREVIOUS` after the next refresh).
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { secretKindOf } from '../common/rules.js';
import { parseTokenRecord } from '../common/token.js';
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

/** Whether the secret's current value is a token record; `false` when it cannot be read or has no value. */
async function holdsTokenRecord(client: SecretsManagerClient, secretId: string): Promise<boolean> {
  try {
    const { SecretString: value } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    parseTokenRecord(value ?? '');
    return true;
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
