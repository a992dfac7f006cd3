import 'reflect-metadata'; // @peculiar/x509 needs it
import { createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** A throwaway certificate (its own CA) and its key, PEM. */
export interface TestCertificate {
  /** Trust it (`ca`, or a file in `NODE_EXTRA_CA_CERTS`) to accept the servers that use it. */
  readonly certPem: string;
  readonly keyPem: string;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const HOUR = 3_600_000;

/**
 * A self-signed certificate for `hosts` (DNS names; 127.0.0.1 always) that is its own CA, valid
 * for a day around now: a test's TLS servers present it, its clients trust it. Nothing on disk.
 */
export async function testCertificate(hosts: readonly string[]): Promise<TestCertificate> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: 'CN=ims-token-refresher test CA',
      keys,
      signingAlgorithm: EC,
      notBefore: new Date(Date.now() - HOUR),
      notAfter: new Date(Date.now() + 24 * HOUR),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.SubjectAlternativeNameExtension([
          ...hosts.map((value) => ({ type: 'dns' as const, value })),
          { type: 'ip', value: '127.0.0.1' },
        ]),
      ],
    },
    webcrypto,
  );
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' });
  return { certPem: certificate.toString('pem'), keyPem: keyPem.toString() };
}
