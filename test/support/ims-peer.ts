import { createPublicKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { listen, readBody, sendJson, type LoopbackServer } from './loopback-server.js';
import { registerSecret } from './secret-registry.js';
import type { JwtIntegration, OAuthIntegration } from './test-credentials.js';

/** A request the peer received: its path and form fields (secrets included: never print them). */
export interface ImsRequest {
  readonly path: string;
  readonly form: Readonly<Record<string, string>>;
}

/**
 * What the next request gets instead of a normal answer: an HTTP status (5xx, or 429 with
 * `Retry-After`), `hang` (no answer until the peer closes), `reset` (the connection is destroyed),
 * or a 200 with a malformed body (`html`, `truncated-json`).
 */
export type Fault = { readonly status: number; readonly retryAfter?: string } | 'hang' | 'reset' | 'html' | 'truncated-json';

/** IMS's success lifetimes (ims-protocol.md §1, §2): milliseconds for the JWT exchange, seconds for OAuth. */
export const JWT_EXPIRES_IN_MS = 86_399_999;
export const OAUTH_EXPIRES_IN_SECONDS = 86_399;

const DAY_SECONDS = 24 * 3600;

type Client =
  | { readonly kind: 'jwt'; readonly integration: JwtIntegration; readonly certificate: KeyObject }
  | { readonly kind: 'oauth'; readonly integration: OAuthIntegration };

/** An IMS error answer (ims-protocol.md §3). */
class Rejection extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

/**
 * An Adobe IMS test peer on 127.0.0.1 that verifies what IMS verifies (ims-protocol.md):
 * `POST /ims/exchange/jwt` checks the client, its secret, the JWT's RS256 signature against the
 * integration's certificate, `aud`, `iss`, `sub`, `exp` and the metascope claims;
 * `POST /ims/token/v3` checks the client, its secret and the scopes. Errors are IMS's
 * `{ error, error_description }` with an `X-Debug-Id`. Faults can be queued for the next requests.
 * Every client secret, JWT and access token it sees is registered with the leak guard.
 */
export class ImsPeer {
  /** Every request received, in order, faulted ones included. */
  readonly requests: ImsRequest[] = [];
  /** Every access token issued, in order. */
  readonly issued: string[] = [];
  private readonly clients = new Map<string, Client>();
  private readonly faults: Fault[] = [];

  private constructor(
    private readonly server: LoopbackServer,
    private readonly now: () => number,
  ) {}

  /** Starts a peer on an ephemeral port; `now` is its clock for `exp` checks. */
  static async start(options: { now?: () => number } = {}): Promise<ImsPeer> {
    let peer: ImsPeer | undefined;
    const server = await listen((request, response) => peer!.serve(request, response));
    peer = new ImsPeer(server, options.now ?? Date.now);
    return peer;
  }

  /** `http://127.0.0.1:<port>`: what the refresher's `IMS_BASE_URL` points at. */
  get url(): string {
    return this.server.url;
  }

  /** Registers an integration: AEM service credentials (it has a certificate) or an OAuth client. */
  register(integration: JwtIntegration | OAuthIntegration): void {
    registerSecret(integration.clientSecret);
    const client: Client =
      'certificatePem' in integration
        ? { kind: 'jwt', integration, certificate: createPublicKey(integration.certificatePem) }
        : { kind: 'oauth', integration };
    this.clients.set(integration.clientId, client);
  }

  /** Queues faults: each one replaces the answer to one of the next requests, in order. */
  fail(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  /** Stops the peer; requests left hanging by a fault end without an answer. */
  close(): Promise<void> {
    return this.server.close();
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    const form = Object.fromEntries(new URLSearchParams(await readBody(request)));
    registerSecret(form.client_secret, form.jwt_token);
    this.requests.push({ path, form });

    const fault = this.faults.shift();
    if (fault !== undefined) return injectFault(fault, request, response);

    const debugId = randomUUID();
    const answer = (status: number, body: object) =>
      sendJson(response, status, body, { 'content-type': 'application/json;charset=UTF-8', 'x-debug-id': debugId });
    try {
      if (request.method !== 'POST') throw new Rejection(405, 'method_not_allowed', 'use POST');
      if (!String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
        throw new Rejection(400, 'bad_request', 'expected an application/x-www-form-urlencoded body');
      }
      if (path === '/ims/exchange/jwt') {
        const client = await this.verifyJwtExchange(form);
        answer(200, { token_type: 'bearer', access_token: this.issue(client, JWT_EXPIRES_IN_MS), expires_in: JWT_EXPIRES_IN_MS });
      } else if (path === '/ims/token/v3') {
        const client = this.verifyClientCredentials(form);
        const lifetimeMs = OAUTH_EXPIRES_IN_SECONDS * 1000;
        answer(200, { access_token: this.issue(client, lifetimeMs), token_type: 'bearer', expires_in: OAUTH_EXPIRES_IN_SECONDS });
      } else {
        throw new Rejection(404, 'not_found', 'no such endpoint');
      }
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      answer(error.status, { error: error.error, error_description: error.description });
    }
  }

  /** The client named by `client_id`, if its secret matches and it may use this flow. */
  private client<K extends Client['kind']>(form: Record<string, string>, kind: K): Extract<Client, { kind: K }> {
    const client = this.clients.get(form.client_id ?? '');
    if (!client) throw new Rejection(400, 'invalid_client', 'invalid client_id parameter');
    if (form.client_secret !== client.integration.clientSecret) {
      throw new Rejection(401, 'invalid_client', 'invalid client_secret parameter');
    }
    if (client.kind !== kind) throw new Rejection(401, 'invalid_client', 'client is not allowed this grant');
    return client as Extract<Client, { kind: K }>;
  }

  private async verifyJwtExchange(form: Record<string, string>): Promise<Client> {
    const client = this.client(form, 'jwt');
    const { integration } = client;
    const host = integration.imsEndpoint;
    const claims = await this.verifySignature(form.jwt_token ?? '', client.certificate);
    if (claims.aud !== `https://${host}/c/${integration.clientId}`) {
      throw new Rejection(400, 'invalid_client', 'aud does not match client_id');
    }
    if (claims.iss !== integration.org) throw new Rejection(400, 'bad_request', 'iss is not the organization');
    if (claims.sub !== integration.technicalAccountId) throw new Rejection(400, 'bad_request', 'sub is not the technical account');
    if (claims.exp === undefined) throw new Rejection(400, 'bad_request', 'exp is missing');
    if (claims.exp > this.now() / 1000 + DAY_SECONDS) throw new Rejection(400, 'bad_request', 'exp is more than 24 h ahead');

    const prefix = `https://${host}/s/`;
    const metascopes = Object.keys(claims).filter((claim) => claim.startsWith(prefix));
    const granted = (claim: string) => claims[claim] === true && integration.metascopes.includes(claim.slice(prefix.length));
    if (metascopes.length === 0 || !metascopes.every(granted)) {
      throw new Rejection(400, 'invalid_scope', 'metascopes are missing or not a subset of the integration\'s');
    }
    return client;
  }

  /** RS256 against the certificate, and `exp` not passed (jose checks it when present). */
  private async verifySignature(jwt: string, certificate: KeyObject): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(jwt, certificate, { algorithms: ['RS256'], currentDate: new Date(this.now()) });
      return payload;
    } catch (error) {
      if (error instanceof errors.JWSSignatureVerificationFailed) {
        throw new Rejection(400, 'invalid_signature', 'signature matches no certificate of the integration');
      }
      if (error instanceof errors.JWTExpired) throw new Rejection(400, 'invalid_token', 'JWT expired');
      if (error instanceof errors.JWTClaimValidationFailed) throw new Rejection(400, 'bad_request', `${error.claim} is malformed`);
      throw new Rejection(400, 'invalid_token', 'JWT cannot be decoded');
    }
  }

  private verifyClientCredentials(form: Record<string, string>): Client {
    if (form.grant_type !== 'client_credentials') throw new Rejection(400, 'bad_request', 'unsupported grant_type');
    const client = this.client(form, 'oauth');
    const scopes = (form.scope ?? '').split(',').map((scope) => scope.trim()).filter(Boolean);
    if (!scopes.every((scope) => client.integration.scopes.includes(scope))) {
      throw new Rejection(400, 'invalid_scope', 'scopes are not a subset of the client\'s');
    }
    return client;
  }

  /** An access token shaped like IMS's (a JWT whose payload carries ms strings), unique per call. */
  private issue(client: Client, lifetimeMs: number): string {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const token = [
      part({ alg: 'RS256', x5u: 'ims_na1-key-at-1.cer', kid: 'ims_na1-key-at-1', itt: 'at' }),
      part({
        id: `${this.now()}_${randomUUID()}_ue1`,
        type: 'access_token',
        client_id: client.integration.clientId,
        as: 'ims-na1',
        created_at: String(this.now()),
        expires_in: String(lifetimeMs),
      }),
      randomBytes(128).toString('base64url'),
    ].join('.');
    registerSecret(token);
    this.issued.push(token);
    return token;
  }
}

function injectFault(fault: Fault, request: IncomingMessage, response: ServerResponse): void {
  if (fault === 'hang') return;
  if (fault === 'reset') {
    request.socket.destroy();
  } else if (fault === 'html') {
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><html><body>Service maintenance</body></html>');
  } else if (fault === 'truncated-json') {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"token_type":"bearer","access_tok');
  } else {
    const headers = { 'content-type': 'text/plain', ...(fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }) };
    response.writeHead(fault.status, headers).end(`HTTP ${fault.status}`);
  }
}
