import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SynthesizedFunction } from './bundle.js';
import { LocalRefresher } from './local-refresher.js';
import { Squid } from './squid.js';
import type { JwtIntegration, OAuthIntegration } from './test-credentials.js';
import { testCertificate } from './test-tls.js';

export const IMS_HOST = 'ims-na1.adobelogin.com';
export const SECRETS_MANAGER_HOST = 'secretsmanager.us-east-1.amazonaws.com';

/**
 * The refresher's emulators under IMS's and Secrets Manager's real host names, for runs through a
 * forward proxy (test/e2e/proxy.test.ts and `npm run sandbox -- --proxy`): they speak TLS with a
 * test CA, and the names, which this machine does not resolve, reach them only through squid (its
 * `hosts_file`) or a preload (resolve-preload.ts).
 */
export class RealNames {
  private constructor(
    readonly local: LocalRefresher,
    /** A temporary directory holding the test CA (`ca.pem`), removed by `close`. */
    readonly dir: string,
  ) {}

  /** Starts the emulators with `credentials` stored (see `LocalRefresher.start`). */
  static async start(
    fn: SynthesizedFunction,
    credentials: { readonly json: string; readonly integration: JwtIntegration | OAuthIntegration },
  ): Promise<RealNames> {
    const certificate = await testCertificate([IMS_HOST, SECRETS_MANAGER_HOST]);
    const dir = mkdtempSync(join(tmpdir(), 'real-names-'));
    writeFileSync(join(dir, 'ca.pem'), certificate.certPem);
    return new RealNames(await LocalRefresher.start(fn, credentials, { tls: certificate }), dir);
  }

  /** The function's environment that addresses the emulators by the real names and trusts the test CA. */
  env(): Record<string, string> {
    const port = (url: string) => new URL(url).port;
    return {
      IMS_BASE_URL: `https://${IMS_HOST}:${port(this.local.peer.url)}`,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: `https://${SECRETS_MANAGER_HOST}:${port(this.local.emulator.url)}`,
      NODE_EXTRA_CA_CERTS: join(this.dir, 'ca.pem'),
    };
  }

  /**
   * Squid resolving both names to the emulators, wanting `credentials` for IMS; Secrets Manager is
   * let through without them, as the proxy credentials are read from it.
   */
  squid(credentials: { readonly username: string; readonly password: string }): Promise<Squid> {
    return Squid.start({
      hosts: [IMS_HOST, SECRETS_MANAGER_HOST],
      credentials,
      openHosts: [SECRETS_MANAGER_HOST],
    });
  }

  async close(): Promise<void> {
    await this.local.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
