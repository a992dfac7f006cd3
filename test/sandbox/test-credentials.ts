import 'reflect-metadata'; // @peculiar/x509 needs it
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { JwtCredentials, OAuthCredentials } from '../../common/credentials.js';
import { registerSecret } from './secret-registry.js';

/** How the private key appears in the credentials JSON (docs/protocol.md §1). */
export type KeyFormat = 'pkcs1-crlf' | 'pkcs8' | 'escaped-newlines';

/** The facts of a generated AEM service credential, for assertions and for the IMS peer. */
export type JwtIntegration = Omit<JwtCredentials, 'type' | 'shape' | 'privateKey'> & {
  /** The integration's certificate (Adobe's `publicKey`), LF line ends. */
  readonly certificatePem: string;
};

/** The facts of a generated OAuth Server-to-Server credential. */
export type OAuthIntegration = Omit<OAuthCredentials, 'type' | 'shape' | 'credentialName'> & {
  /** Its `name` in a Developer Console project download. */
  readonly name: string;
};

const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};
const DAY = 24 * 3_600_000;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const crlf = (pem: string) => pem.replace(/\r?\n/g, '\r\n');
/** Client secrets in Adobe's `p8e-` form, each registered with the leak guard. */
function clientSecrets(count: number): string[] {
  const secrets = Array.from({ length: count }, () => `p8e-${hex(16)}`);
  registerSecret(...secrets);
  return secrets;
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify']);
}

/**
 * A throwaway AEM service credential, as "Get Service Credentials" gives it: a fresh 2048-bit RSA
 * key, a self-signed certificate for it valid from `validFrom` to `validTo` (default: from a day
 * ago for a year), and the JSON with or without the `ok`/`statusCode` wrapper. `mismatchedKey`
 * puts the private key of another key pair next to the certificate. Every secret part is
 * registered with the leak guard. Nothing is written to disk.
 */
export async function generateJwtCredentials(
  options: {
    keyFormat?: KeyFormat;
    wrapped?: boolean;
    imsEndpoint?: string;
    metascopes?: readonly string[];
    validFrom?: Date;
    validTo?: Date;
    mismatchedKey?: boolean;
  } = {},
) {
  const keys = await keyPair();
  const validFrom = options.validFrom ?? new Date(Date.now() - DAY);
  const validTo = options.validTo ?? new Date(validFrom.getTime() + 366 * DAY);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: 'CN=ims-token-refresher test integration',
      keys,
      signingAlgorithm: RSA,
      notBefore: validFrom,
      notAfter: validTo,
    },
    webcrypto,
  );
  const signingKey = options.mismatchedKey ? (await keyPair()).privateKey : keys.privateKey;
  const pkcs8Der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', signingKey));
  const key = createPrivateKey({ key: pkcs8Der, format: 'der', type: 'pkcs8' });
  const pkcs8Pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pkcs1Pem = key.export({ type: 'pkcs1', format: 'pem' }).toString();

  const integration: JwtIntegration = {
    clientId: `cm-p${hex(3)}-e${hex(3)}-integration`,
    clientSecrets: clientSecrets(1),
    org: `${hex(12).toUpperCase()}@AdobeOrg`,
    technicalAccountId: `${hex(12).toUpperCase()}@techacct.adobe.com`,
    imsEndpoint: options.imsEndpoint ?? 'ims-na1.adobelogin.com',
    metascopes: options.metascopes ?? ['ent_aem_cloud_api'],
    certificatePem: certificate.toString('pem'),
    // X.509 keeps whole seconds.
    certificateExpiresAt: Math.floor(validTo.getTime() / 1000) * 1000,
  };
  // Every base64 line of either encoding is a fragment no log may contain.
  registerSecret(...[pkcs1Pem, pkcs8Pem].flatMap((pem) => pem.split('\n').slice(1, -2)));

  const keyFormat = options.keyFormat ?? 'pkcs1-crlf';
  const privateKey =
    keyFormat === 'pkcs8' ? pkcs8Pem : keyFormat === 'pkcs1-crlf' ? crlf(pkcs1Pem) : pkcs1Pem.replace(/\n/g, '\\n');
  const body = {
    imsEndpoint: integration.imsEndpoint,
    metascopes: integration.metascopes.join(','),
    technicalAccount: { clientId: integration.clientId, clientSecret: integration.clientSecrets[0] },
    email: `${hex(8)}@techacct.adobe.com`,
    id: integration.technicalAccountId,
    org: integration.org,
    privateKey,
    publicKey: crlf(integration.certificatePem),
  };
  const document = options.wrapped === false ? body : { ok: true, integration: body, statusCode: 200 };
  return { json: JSON.stringify(document), integration, privateKeyPem: pkcs8Pem };
}

/**
 * A throwaway OAuth Server-to-Server credential, in the simple shape (`clientSecret`, or
 * `clientSecrets` when there are several) or as the Adobe Developer Console project download,
 * where `otherCredentials` adds further OAuth Server-to-Server credentials (other clients).
 */
export function generateOAuthCredentials(
  options: {
    scopes?: readonly string[];
    imsEndpoint?: string;
    shape?: 'simple' | 'project';
    clientSecrets?: number;
    otherCredentials?: number;
  } = {},
): { json: string; integration: OAuthIntegration } {
  const integration: OAuthIntegration = {
    clientId: hex(16),
    clientSecrets: clientSecrets(options.clientSecrets ?? 1),
    scopes: options.scopes ?? ['openid', 'AdobeID', 'read_organizations'],
    imsEndpoint: options.imsEndpoint ?? 'ims-na1.adobelogin.com',
    name: `Credential ${hex(3)}`,
  };
  if (options.shape === 'project') {
    const entry = (client: OAuthIntegration) => ({
      id: hex(8),
      name: client.name,
      integration_type: 'oauth_server_to_server',
      oauth_server_to_server: {
        client_id: client.clientId,
        client_secrets: client.clientSecrets,
        technical_account_email: `${hex(8)}@techacct.adobe.com`,
        technical_account_id: `${hex(12).toUpperCase()}@techacct.adobe.com`,
        scopes: client.scopes,
      },
    });
    const others: OAuthIntegration[] = Array.from(
      { length: options.otherCredentials ?? 0 },
      () => generateOAuthCredentials().integration,
    );
    const document = {
      project: {
        id: hex(8),
        name: 'ims-token-refresher-test',
        org: { id: String(parseInt(hex(3), 16)), name: 'Test org', ims_org_id: `${hex(12).toUpperCase()}@AdobeOrg` },
        workspace: {
          id: hex(8),
          name: 'Production',
          details: { credentials: [entry(integration), ...others.map(entry)] },
        },
      },
    };
    return { json: JSON.stringify(document), integration };
  }
  const [first, ...more] = integration.clientSecrets;
  const document = {
    clientId: integration.clientId,
    ...(more.length === 0 ? { clientSecret: first } : { clientSecrets: integration.clientSecrets }),
    scopes: integration.scopes.join(','),
    ...(options.imsEndpoint ? { imsEndpoint: options.imsEndpoint } : {}),
  };
  return { json: JSON.stringify(document), integration };
}
