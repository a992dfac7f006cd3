import 'reflect-metadata'; // @peculiar/x509 needs it
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { JwtCredentials, OAuthCredentials } from '../lambda/credentials.js';
import { registerSecret } from './secret-registry.js';

/** How the private key appears in the credentials JSON (ims-protocol.md §1). */
export type KeyFormat = 'pkcs1-crlf' | 'pkcs8' | 'escaped-newlines';

/** The facts of a generated AEM service credential, for assertions and for the IMS peer. */
export type JwtIntegration = Omit<JwtCredentials, 'type' | 'privateKey'> & {
  /** The integration's certificate (Adobe's `publicKey`), LF line ends. */
  readonly certificatePem: string;
};

/** The facts of a generated OAuth Server-to-Server credential. */
export type OAuthIntegration = Omit<OAuthCredentials, 'type'>;

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const crlf = (pem: string) => pem.replace(/\r?\n/g, '\r\n');

/**
 * A throwaway AEM service credential, as "Get Service Credentials" gives it: a fresh 2048-bit RSA
 * key, a self-signed certificate for it, and the JSON with or without the `ok`/`statusCode`
 * wrapper. Every secret part is registered with the leak guard. Nothing is written to disk.
 */
export async function generateJwtCredentials(options: {
  keyFormat?: KeyFormat;
  wrapped?: boolean;
  imsEndpoint?: string;
  metascopes?: readonly string[];
}) {
  const keys = (await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    { name: 'CN=ims-token-refresher test integration', keys, signingAlgorithm: RSA },
    webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1],
  );
  const pkcs8Der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: pkcs8Der, format: 'der', type: 'pkcs8' });
  const pkcs8Pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pkcs1Pem = key.export({ type: 'pkcs1', format: 'pem' }).toString();

  const integration: JwtIntegration = {
    clientId: `cm-p${hex(3)}-e${hex(3)}-integration`,
    clientSecret: `p8e-${hex(16)}`,
    org: `${hex(12).toUpperCase()}@AdobeOrg`,
    technicalAccountId: `${hex(12).toUpperCase()}@techacct.adobe.com`,
    imsEndpoint: options.imsEndpoint ?? 'ims-na1.adobelogin.com',
    metascopes: options.metascopes ?? ['ent_aem_cloud_api'],
    certificatePem: certificate.toString('pem'),
  };
  // Every base64 line of either encoding is a fragment no log may contain.
  registerSecret(integration.clientSecret, ...[pkcs1Pem, pkcs8Pem].flatMap((pem) => pem.split('\n').slice(1, -2)));

  const keyFormat = options.keyFormat ?? 'pkcs1-crlf';
  const privateKey =
    keyFormat === 'pkcs8' ? pkcs8Pem : keyFormat === 'pkcs1-crlf' ? crlf(pkcs1Pem) : pkcs1Pem.replace(/\n/g, '\\n');
  const body = {
    imsEndpoint: integration.imsEndpoint,
    metascopes: integration.metascopes.join(','),
    technicalAccount: { clientId: integration.clientId, clientSecret: integration.clientSecret },
    email: `${hex(8)}@techacct.adobe.com`,
    id: integration.technicalAccountId,
    org: integration.org,
    privateKey,
    publicKey: crlf(integration.certificatePem),
  };
  const document = options.wrapped === false ? body : { ok: true, integration: body, statusCode: 200 };
  return { json: JSON.stringify(document), integration, privateKeyPem: pkcs8Pem };
}

/** A throwaway OAuth Server-to-Server credential in this project's documented shape. */
export function generateOAuthCredentials(options: { scopes?: readonly string[]; imsEndpoint?: string }) {
  const integration: OAuthIntegration = {
    clientId: hex(16),
    clientSecret: `p8e-${hex(16)}`,
    scopes: options.scopes ?? ['openid', 'AdobeID', 'read_organizations'],
    imsEndpoint: options.imsEndpoint ?? 'ims-na1.adobelogin.com',
  };
  registerSecret(integration.clientSecret);
  const document = {
    clientId: integration.clientId,
    clientSecret: integration.clientSecret,
    scopes: integration.scopes.join(','),
    ...(options.imsEndpoint ? { imsEndpoint: options.imsEndpoint } : {}),
  };
  return { json: JSON.stringify(document), integration };
}
