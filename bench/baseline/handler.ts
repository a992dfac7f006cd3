/**
 * The benchmark's reference: the least code that does one refresh (read → sign → POST → write)
 * with jose and the Secrets Manager client. No validation, retries, logs or metrics: what a
 * hand-written cron would be. Never deployed; bundled by bench/run.ts with the refresher's
 * esbuild settings so the two are compared like for like.
 */
import { createPrivateKey } from 'node:crypto';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SignJWT } from 'jose';

const client = new SecretsManagerClient({});

export const handler = async (): Promise<{ expiresAt: string }> => {
  const secret = await client.send(new GetSecretValueCommand({ SecretId: process.env.CREDENTIALS_SECRET_ID }));
  const { integration: i } = JSON.parse(secret.SecretString!);
  const host = i.imsEndpoint;
  const claims: Record<string, unknown> = {
    iss: i.org,
    sub: i.id,
    aud: `https://${host}/c/${i.technicalAccount.clientId}`,
  };
  for (const scope of i.metascopes.split(',')) claims[`https://${host}/s/${scope}`] = true;
  const jwt = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256' })
    .setExpirationTime('5m')
    .sign(createPrivateKey(i.privateKey.replace(/\\n/g, '\n')));

  const response = await fetch(`${process.env.IMS_BASE_URL ?? `https://${host}`}/ims/exchange/jwt`, {
    method: 'POST',
    body: new URLSearchParams({
      client_id: i.technicalAccount.clientId,
      client_secret: i.technicalAccount.clientSecret,
      jwt_token: jwt,
    }),
  });
  if (!response.ok) throw new Error(`IMS answered ${response.status}`);
  const token = (await response.json()) as { access_token: string; token_type: string; expires_in: number };
  const now = Date.now();
  const expiresAt = new Date(now + token.expires_in).toISOString();
  await client.send(
    new PutSecretValueCommand({
      SecretId: process.env.TOKEN_SECRET_ID,
      SecretString: JSON.stringify({ ...token, issued_at: new Date(now).toISOString(), expires_at: expiresAt }),
    }),
  );
  return { expiresAt };
};
