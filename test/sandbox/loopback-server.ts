import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestCertificate } from './test-tls.js';

/** An HTTP server on 127.0.0.1 at an ephemeral port; the base of the wire-level test doubles. */
export interface LoopbackServer {
  /** `http://127.0.0.1:<port>` (`https://` with TLS) */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops every open connection, including requests left hanging. */
  close(): Promise<void>;
}

/**
 * Starts `handle` on 127.0.0.1, over TLS with `tls` (HTTPS, as the real services speak it); a
 * handler that throws answers 500 so a double's bug is never a hang.
 */
export async function listen(
  handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
  tls?: TestCertificate,
): Promise<LoopbackServer> {
  const serve = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  };
  const server: Server = tls ? createTlsServer({ cert: tls.certPem, key: tls.keyPem }, serve) : createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The request body as text. */
export async function readBody(request: IncomingMessage): Promise<string> {
  let body = '';
  request.setEncoding('utf8');
  for await (const chunk of request) body += chunk;
  return body;
}

/** Answers with a JSON body. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string>,
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
