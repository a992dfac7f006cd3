import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** One CONNECT the proxy received. */
export interface ConnectRequest {
  /** `host:port` as asked for. */
  readonly target: string;
  /** The `Proxy-Authorization` header, when sent. */
  readonly authorization: string | undefined;
}

/**
 * How the proxy answers the next CONNECT: `tunnel` (200, then bytes both ways to where `route`
 * sends the target), `hang` (reads the request, never answers), `close` (closes without an
 * answer) or an HTTP status it answers instead (407 with a `Proxy-Authenticate` challenge).
 */
export type ConnectAnswer = 'tunnel' | 'hang' | 'close' | number;

/**
 * A forward proxy double on 127.0.0.1 that speaks HTTP CONNECT, for the proxy agent's unit tests
 * (the end-to-end tests use a real proxy): it records every CONNECT, answers as scripted, and
 * tunnels to `route(target)`, so a test can reach a local server under a name it cannot resolve.
 */
export class ConnectProxy {
  readonly requests: ConnectRequest[] = [];
  private readonly answers: ConnectAnswer[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly route: (target: string) => { host: string; port: number },
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Starts the proxy; `route` maps `host:port` to where the tunnel goes. @default - the target itself */
  static async start(route?: (target: string) => { host: string; port: number }): Promise<ConnectProxy> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new ConnectProxy(server, route ?? splitTarget);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:<port>`, as `HTTPS_PROXY` names it. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Queues answers: each replaces `tunnel` for one of the next CONNECTs, in order. */
  answer(...answers: ConnectAnswer[]): void {
    this.answers.push(...answers);
  }

  /** Stops listening and drops every connection, tunnels and hanging requests included. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.track(socket);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      this.serve(socket, head.subarray(0, end).toString('latin1'));
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  }

  private serve(socket: Socket, head: string): void {
    const [requestLine, ...lines] = head.split('\r\n');
    const target = /^CONNECT (\S+) HTTP\/1\.[01]$/.exec(requestLine)?.[1] ?? '';
    const authorization = lines.find((line) => /^proxy-authorization:/i.test(line))?.replace(/^[^:]*:\s*/, '');
    this.requests.push({ target, authorization });
    const answer = this.answers.shift() ?? 'tunnel';
    if (answer === 'hang') return;
    if (answer === 'close') {
      socket.destroy();
      return;
    }
    if (typeof answer === 'number') {
      const challenge = answer === 407 ? 'Proxy-Authenticate: Basic realm="test"\r\n' : '';
      socket.end(`HTTP/1.1 ${answer} Scripted\r\n${challenge}Content-Length: 0\r\n\r\n`);
      return;
    }
    const upstream = this.track(connect(this.route(target)));
    upstream.once('connect', () => {
      socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
      socket.pipe(upstream).pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
  }

  private track<T extends Socket>(socket: T): T {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }
}

/** `host:port` (a bracketed IPv6 host too) as a place to connect to. */
function splitTarget(target: string): { host: string; port: number } {
  const at = target.lastIndexOf(':');
  return { host: target.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(target.slice(at + 1)) };
}
