import type { IncomingMessage } from 'node:http';
import { request, type Agent } from 'node:https';
import { Readable } from 'node:stream';
import type { Fetch } from './ims.js';

/** Statuses whose `Response` must have no body. */
const NULL_BODY = new Set([204, 205, 304]);

/**
 * The part of `fetch` the IMS exchange and the I/O Management API use (`https:` URLs, a form body or none, no redirects followed,
 * `signal`) over `node:https` with `agent`: the global `fetch` takes no agent, and
 * Node's own proxy support for it (`NODE_USE_ENV_PROXY`) cannot be given credentials read at run
 * time. As with `fetch`, an aborted request rejects with the signal's reason (a `TimeoutError`
 * for `AbortSignal.timeout`), also while its body is read. An `http:` URL, which the configuration
 * allows for a loopback `IMS_BASE_URL` only, goes to the global `fetch`: no proxy can reach this
 * machine's loopback.
 */
export function fetchVia(agent: Agent): Fetch {
  return (url, init) => (new URL(url).protocol === 'http:' ? fetch(url, init) : viaAgent(agent, url, init));
}

function viaAgent(agent: Agent, url: string, init: Parameters<Fetch>[1]): Promise<Response> {
  return new Promise((resolve, reject) => {
    const body = init.body?.toString();
    const headers = {
      ...Object.fromEntries(new Headers(init.headers)),
      ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
    };
    let answer: IncomingMessage | undefined;
    const outgoing = request(url, { method: init.method ?? 'GET', headers, agent }, (incoming) => {
      answer = incoming;
      const status = incoming.statusCode ?? 0;
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(incoming.headers))
        for (const item of [value ?? []].flat()) responseHeaders.append(name, item);
      if (status < 200 || status > 599) {
        // What a `Response` cannot hold; `fetch` fails on it too.
        incoming.destroy();
        reject(new TypeError(`the answer's HTTP status ${status} is outside 200-599`));
        return;
      }
      const stream = NULL_BODY.has(status) ? null : (Readable.toWeb(incoming) as ReadableStream);
      resolve(new Response(stream, { status, headers: responseHeaders }));
    });
    const signal = init.signal;
    const abort = () => {
      answer?.destroy(signal?.reason as Error);
      outgoing.destroy(signal?.reason as Error);
    };
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort, { once: true });
    outgoing.once('close', () => signal?.removeEventListener('abort', abort));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
