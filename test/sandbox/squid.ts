import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's squid package puts the proxy and its Basic authentication helper. */
const SQUID = '/usr/sbin/squid';
const BASIC_AUTH_HELPER = '/usr/lib/squid/basic_ncsa_auth';

/** Why squid cannot run here (what to install), or undefined when it can. */
export function squidMissing(): string | undefined {
  const found = spawnSync(SQUID, ['-v'], { encoding: 'utf8' });
  if (found.status === 0 && spawnSync('openssl', ['version']).status === 0) return undefined;
  return `squid or openssl is not installed: run "apt-get update && apt-get install -y squid openssl" (as root)`;
}

/**
 * A real forward proxy (Debian's squid) on 127.0.0.1 for the end-to-end tests: it resolves the
 * host names in `hosts` to 127.0.0.1 (its `hosts_file`), so a process that cannot resolve them
 * reaches local servers under them only through it, allows CONNECT to any port, and with
 * `credentials` requires them (Basic) except for `openHosts`. Its access log lists every CONNECT.
 */
export class Squid {
  private constructor(
    private readonly process: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async start(options: {
    readonly hosts: readonly string[];
    readonly credentials?: { readonly username: string; readonly password: string };
    /** Hosts reached without credentials (as a corporate proxy may let AWS endpoints through). */
    readonly openHosts?: readonly string[];
  }): Promise<Squid> {
    const dir = mkdtempSync(join(tmpdir(), 'squid-'));
    const port = await freePort();
    writeFileSync(join(dir, 'hosts'), `127.0.0.1 ${options.hosts.join(' ')}\n`);
    const open = options.openHosts?.length
      ? [`acl open dstdomain ${options.openHosts.join(' ')}`, 'http_access allow local open']
      : [];
    const auth = options.credentials ? authConfig(dir, options.credentials) : ['http_access allow local'];
    writeFileSync(
      join(dir, 'squid.conf'),
      [
        `http_port 127.0.0.1:${port}`,
        `hosts_file ${join(dir, 'hosts')}`,
        'dns_nameservers 127.0.0.1',
        `pid_filename ${join(dir, 'squid.pid')}`,
        `access_log stdio:${join(dir, 'access.log')}`,
        `cache_log ${join(dir, 'cache.log')}`,
        'cache deny all',
        'pinger_enable off',
        'shutdown_lifetime 0 seconds',
        'acl local src 127.0.0.1',
        ...open,
        ...auth,
        'http_access deny all',
        '',
      ].join('\n'),
    );
    // Squid drops to its own user: it must read the files and write its logs here.
    chmodSync(dir, 0o777);
    const child = spawn(SQUID, ['-N', '-d', '1', '-f', join(dir, 'squid.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    await ready(child);
    return new Squid(child, dir, port);
  }

  /** `http://127.0.0.1:<port>`, as `HTTPS_PROXY` names it. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * The CONNECTs in the access log, in order: `host:port`, squid's result (e.g. `TCP_TUNNEL/200`,
   * `TCP_DENIED/407`) and the proxy user it authenticated (`-`: none).
   */
  connects(): { readonly target: string; readonly result: string; readonly user: string }[] {
    return this.accessLog()
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[5] === 'CONNECT')
      .map((fields) => ({ target: fields[6], result: fields[3], user: fields[7] }));
  }

  /** The access log as written (for leak scans). */
  accessLog(): string {
    try {
      return readFileSync(join(this.dir, 'access.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null) {
      const exited = new Promise((resolve) => this.process.once('exit', resolve));
      this.process.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Basic authentication against a password file (an APR1 hash made by openssl). */
function authConfig(dir: string, credentials: { readonly username: string; readonly password: string }): string[] {
  const hash = spawnSync('openssl', ['passwd', '-apr1', '-stdin'], { input: credentials.password, encoding: 'utf8' });
  writeFileSync(join(dir, 'passwd'), `${credentials.username}:${hash.stdout.trim()}\n`);
  return [
    `auth_param basic program ${BASIC_AUTH_HELPER} ${join(dir, 'passwd')}`,
    'auth_param basic children 1',
    'acl authenticated proxy_auth REQUIRED',
    'http_access allow local authenticated',
  ];
}

/** Resolves once squid accepts connections; rejects with its output if it exits first. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Accepting HTTP Socket connections')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`squid exited with ${code}:\n${output.slice(-2000)}`)));
  });
}

/** A port free on 127.0.0.1 now (squid cannot be told to take an ephemeral one and report it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
