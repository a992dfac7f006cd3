import type { ClientRequestArgs } from 'node:http';
import { Agent, type AgentOptions } from 'node:https';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { ConfigurationError, ProxyError, type ProxiedCall } from './errors.js';
import { rememberSecret } from './redact.js';

/**
 * An HTTP CONNECT proxy for HTTPS calls, written by hand rather than taken from a library:
 * Node's own (`https.Agent`'s `proxyEnv`, Node 24.5+) takes credentials only inside the proxy URL
 * when the agent is made, has no deadline for the proxy's answer, and its failures cannot be told
 * from the destination's; `https-proxy-agent` hands a proxy's 407 to the caller as if the
 * destination had answered it; `undici`'s agents would add their weight to the bundle and cover
 * `fetch` only. Here one agent carries both the AWS SDK's calls (`requestHandler.httpsAgent`) and
 * IMS's (`fetchVia`), and every way the proxy fails is a `ProxyError` (`PROXY_FAILED`).
 *
 * @module
 */

/** Where the proxy is, and the hosts that bypass it. */
export interface ProxyRoute {
  readonly host: string;
  readonly port: number;
  /** Host suffixes (`.example.com` or `example.com`: the host and its subdomains; `*`: every host) reached directly. */
  readonly noProxy: readonly string[];
}

/** The proxy's own credentials (Basic, in `Proxy-Authorization` only). */
export interface ProxyCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * How long the proxy has to accept the connection and answer CONNECT: shorter than the Secrets
 * Manager client's connection timeout and IMS's attempt timeout, so a silent proxy is reported as
 * such before either call's own deadline would blame the destination.
 */
export const PROXY_CONNECT_TIMEOUT_MS = 1_500;
/** Largest CONNECT answer head read (a proxy's is a few hundred bytes). */
const MAX_ANSWER_HEAD_BYTES = 16 * 1024;

const PROXY_URL = /^http:\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+):(\d{1,5})\/?$/i;
const NO_PROXY_ENTRY = /^(\*|\.?[a-z0-9-]+(\.[a-z0-9-]+)*)$/i;

/**
 * The proxy in `value` (`http://host:port`, nothing else), or a `ConfigurationError` naming
 * `name`. The value is never echoed: a URL with credentials in it is refused without repeating them.
 */
export function parseProxyUrl(value: string, name: string): Pick<ProxyRoute, 'host' | 'port'> {
  const trimmed = value.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(trimmed)) {
    throw new ConfigurationError(`${name} must not contain credentials; keep them in the proxy credentials secret`);
  }
  const match = PROXY_URL.exec(trimmed);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65_535) {
    throw new ConfigurationError(`${name} must be http://host:port (an HTTP CONNECT proxy: no path, query or https)`);
  }
  return { host: match[1].replace(/^\[|\]$/g, '').toLowerCase(), port };
}

/** The host suffixes of a `NO_PROXY`-style list, or a `ConfigurationError` naming `name` and the entry's position. */
export function parseNoProxy(entries: readonly string[], name: string): string[] {
  return entries
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry, index) => {
      if (entry !== '' && !NO_PROXY_ENTRY.test(entry)) {
        throw new ConfigurationError(`${name} entry ${index + 1} is not a host name, a domain suffix or *`);
      }
      return entry !== '';
    });
}

/** Whether `host` bypasses the proxy: it equals an entry (without its leading dot) or is a subdomain of one. */
export function bypassesProxy(host: string, noProxy: readonly string[]): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return noProxy.some((entry) => {
    const suffix = entry.replace(/^\./, '');
    return entry === '*' || name === suffix || name.endsWith(`.${suffix}`);
  });
}

/** What a `ProxyAgent` needs besides the route. */
export interface ProxyAgentOptions {
  /** Which call the agent carries, for its errors. */
  readonly call: ProxiedCall;
  /**
   * The proxy's credentials, asked for before each tunnel (cache them; a rejection fails the call
   * with that error). @default - no `Proxy-Authorization`
   */
  readonly credentials?: () => Promise<ProxyCredentials | undefined>;
  /** Called when the proxy answers CONNECT with 407, so cached credentials are read again next time. */
  readonly credentialsRefused?: () => void;
  /** @default PROXY_CONNECT_TIMEOUT_MS */
  readonly connectTimeoutMs?: number;
  /** Passed to `https.Agent` (e.g. `keepAlive`). */
  readonly agentOptions?: AgentOptions;
}

/** How Node's agent takes a connection made asynchronously. */
type Callback = (error: Error | null, socket?: Duplex) => void;

/**
 * An `https.Agent` that opens each connection through the proxy with CONNECT (TLS then runs
 * end to end through the tunnel: the proxy sees host names, never the traffic), except to hosts
 * in `noProxy`, which it reaches directly.
 */
export class ProxyAgent extends Agent {
  private readonly proxy: string;

  constructor(
    private readonly route: ProxyRoute,
    private readonly settings: ProxyAgentOptions,
  ) {
    super(settings.agentOptions);
    this.proxy = `${isIP(route.host) === 6 ? `[${route.host}]` : route.host}:${route.port}`;
  }

  /** Node's agent calls this for each new connection; the tunnel is handed over through `callback`. */
  override createConnection(options: ClientRequestArgs, callback: Callback): Duplex | null | undefined {
    const host = options.host ?? 'localhost';
    if (bypassesProxy(host, this.route.noProxy)) return super.createConnection(options, callback);
    this.tunnel(host, Number(options.port ?? 443)).then(
      (socket) => callback(null, connectTls({ ...(options as ConnectionOptions), socket })),
      (error: Error) => callback(error),
    );
    return undefined;
  }

  /** A socket to `host:port` through the proxy, once it answered CONNECT with 2xx. */
  private async tunnel(host: string, port: number): Promise<Socket> {
    const credentials = await this.settings.credentials?.();
    const target = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    const headers = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`];
    if (credentials) headers.push(`Proxy-Authorization: ${basic(credentials)}`);
    return this.connect(`${headers.join('\r\n')}\r\n\r\n`);
  }

  /** Connects to the proxy, sends `request` and waits for the head of its answer, within the timeout. */
  private connect(request: string): Promise<Socket> {
    const settings = this.settings;
    const { call, connectTimeoutMs = PROXY_CONNECT_TIMEOUT_MS } = settings;
    return new Promise((resolve, reject) => {
      const socket = connectTcp({ host: this.route.host, port: this.route.port });
      let head = Buffer.alloc(0);
      const fail = (what: string, details: { status?: number; cause?: unknown } = {}) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new ProxyError(this.proxy, call, what, details));
      };
      const timer = setTimeout(() => fail(`did not answer CONNECT within ${connectTimeoutMs} ms`), connectTimeoutMs);
      socket.once('connect', () => socket.write(request));
      socket.on('error', (error: NodeJS.ErrnoException) =>
        fail(`could not be reached (${error.code ?? error.name})`, { cause: error }),
      );
      socket.once('end', () => fail('closed the connection before answering CONNECT'));
      socket.on('data', function onData(chunk: Buffer) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > MAX_ANSWER_HEAD_BYTES) fail(`answered CONNECT with over ${MAX_ANSWER_HEAD_BYTES} bytes`);
          return;
        }
        socket.off('data', onData);
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'))?.[1]);
        if (status === 407) settings.credentialsRefused?.();
        if (!(status >= 200 && status < 300)) return fail(answered(status), { status: status || undefined });
        clearTimeout(timer);
        socket.removeAllListeners('error').removeAllListeners('end');
        resolve(socket);
      });
    });
  }
}

/** The `Proxy-Authorization` value; the credentials and the header are remembered for redaction first. */
function basic({ username, password }: ProxyCredentials): string {
  const value = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  rememberSecret(username, password, value);
  return value;
}

/** What the proxy's non-2xx answer to CONNECT means (the status only: its reason phrase is not repeated). */
function answered(status: number): string {
  if (!status) return 'answered CONNECT with something other than HTTP';
  if (status === 407) return 'answered CONNECT with 407 (proxy authentication required: check the proxy credentials)';
  return `answered CONNECT with HTTP ${status}`;
}
