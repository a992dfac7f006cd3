import { randomBytes, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { Holds, type Hold } from './holds.js';
import type { TestCertificate } from './test-tls.js';
import { listen, readBody, sendJson, type LoopbackServer } from './loopback-server.js';
import { registerSecret } from './secret-registry.js';
import { CredentialRegistry, IoManagementApi, type IssuedToken } from './io-management-api.js';
import type { JwtIntegration, OAuthIntegration } from './test-credentials.js';

/** A request the peer received: its path and form fields (secrets included: never print them). */
export interface ImsRequest {
  readonly path: string;
  readonly form: Readonly<Record<string, string>>;
}

/**
 * What the next request gets instead of a normal answer:
 * - an HTTP status (5xx, or 429 with `Retry-After`), `hang` (no answer until the peer closes),
 *   `reset` (the connection is destroyed), or a 200 with a malformed body (`html`, `truncated-json`);
 * - hostile answers: `echo` (a 400 that quotes the request, see `echo`), `{ token }` (a 200 whose
 *   JSON is a normal token answer with these fields replaced), `{ redirect }` (a 3xx with a
 *   `Location`, by default `/moved` on this peer), `huge` (a 200 of `HUGE_ANSWER_BYTES` streamed
 *   without a content-length: a token answer padded with filler).
 */
export type Fault =
  | { readonly status: number; readonly retryAfter?: string }
  | { readonly token: Readonly<Record<string, unknown>> }
  | { readonly redirect: 301 | 302 | 303 | 307 | 308; readonly location?: string }
  | 'hang'
  | 'reset'
  | 'html'
  | 'truncated-json'
  | 'echo'
  | 'huge';

/** A log line in the refresher's format that the `echo` fault appends after a CR/LF, as a log forger would. */
export const FORGED_LOG_LINE = JSON.stringify({
  level: 'INFO',
  message: 'token refreshed',
  outcome: 'refreshed',
  forged: true,
});

/** Size of the `huge` answer: far above any IMS answer (about 2 KB). */
export const HUGE_ANSWER_BYTES = 1024 * 1024;

/** IMS's success lifetimes (docs/protocol.md §1, §2): milliseconds for the JWT exchange, seconds for OAuth. */
export const JWT_EXPIRES_IN_MS = 86_399_999;
export const OAUTH_EXPIRES_IN_SECONDS = 86_399;

const DAY_SECONDS = 24 * 3600;

type Client =
  | { readonly kind: 'jwt'; readonly integration: JwtIntegration; readonly certificate: X509Certificate }
  | { readonly kind: 'oauth'; readonly integration: OAuthIntegration };

/** An IMS error answer (docs/protocol.md §3). */
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
 * An Adobe IMS test peer on 127.0.0.1 that verifies what IMS verifies (docs/protocol.md):
 * `POST /ims/exchange/jwt` checks the client, its secret (any of the integration's), the
 * certificate's validity at the peer's `now`, the JWT's RS256 signature against the certificate,
 * `aud`, `iss`, `sub`, `exp` and the metascope claims;
 * `POST /ims/token/v3` checks the client, its secret (any of the integration's) and the scopes.
 * Errors are IMS's `{ error, error_description }` with an `X-Debug-Id`. Faults can be queued for
 * the next requests, and requests held until released.
 * It also serves Adobe's I/O Management API for client secrets (`console`, io-management-api.ts):
 * an OAuth client's secrets live in `credentials`, shared by both, so a deleted secret no longer
 * mints and a mint moves the secret's `last_used_at`.
 * Every client secret, JWT and access token it sees is registered with the leak guard.
 */
export class ImsPeer {
  /** Every request received, in order, faulted ones included. */
  readonly requests: ImsRequest[] = [];
  /** Every access token issued, in order. */
  readonly issued: string[] = [];
  /** The OAuth clients' secrets, with their uuids and dates: what the token endpoint accepts. */
  readonly credentials = new CredentialRegistry();
  /** The I/O Management API: its calls, and its faults (`console.fail`). */
  readonly console: IoManagementApi;
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly clients = new Map<string, Client>();
  private readonly faults: Fault[] = [];
  private readonly holds = new Holds<ImsRequest>();

  private constructor(
    private readonly server: LoopbackServer,
    private readonly now: () => number,
  ) {
    this.console = new IoManagementApi(this.credentials, (bearer) => this.tokens.get(bearer), now);
  }

  /**
   * Starts a peer on an ephemeral port; `now` is its clock for `exp` and certificate validity
   * checks; with `tls` it speaks HTTPS, as IMS does.
   */
  static async start(options: { now?: () => number; tls?: TestCertificate } = {}): Promise<ImsPeer> {
    let peer: ImsPeer | undefined;
    const server = await listen((request, response) => peer!.serve(request, response), options.tls);
    peer = new ImsPeer(server, options.now ?? Date.now);
    return peer;
  }

  /** `http://127.0.0.1:<port>` (`https:` with TLS): what the refresher's `IMS_BASE_URL` points at. */
  get url(): string {
    return this.server.url;
  }

  /**
   * Registers an integration: AEM service credentials (it has a certificate) or an OAuth client.
   * Any of its `clientSecrets` is accepted. Registering a `clientId` again replaces the integration,
   * its secrets included: that is how a test revokes a secret during a rotation. An OAuth client is
   * also a credential of the I/O Management API, at `console` (generated unless given: `uuids` parallel
   * to `clientSecrets`); `credentials.get(clientId)` has its ids and secrets.
   */
  register(
    integration: JwtIntegration | OAuthIntegration,
    console: { orgId?: string; credentialId?: string; uuids?: readonly string[] } = {},
  ): void {
    registerSecret(...integration.clientSecrets);
    if ('certificatePem' in integration) {
      const certificate = new X509Certificate(integration.certificatePem);
      this.clients.set(integration.clientId, { kind: 'jwt', integration, certificate });
    } else {
      this.clients.set(integration.clientId, { kind: 'oauth', integration });
      this.credentials.register(integration.clientId, integration.clientSecrets, this.now(), console);
    }
  }

  /** Queues faults: each one replaces the answer to one of the next requests, in order. */
  fail(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  /**
   * Holds the next request: it is recorded, then waits unanswered until released, and is processed
   * (a queued fault included) only then.
   */
  hold(): Hold {
    return this.holds.add(() => true);
  }

  /** Stops the peer; requests left hanging by a fault, or held, end without an answer. */
  close(): Promise<void> {
    this.holds.close();
    return this.server.close();
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0].replace(/\/+$/, '');
    const body = await readBody(request);
    const form = Object.fromEntries(new URLSearchParams(body));
    registerSecret(form.client_secret, form.jwt_token);
    const received = { path, form };
    this.requests.push(received);
    if (!(await this.holds.pass(received))) return;
    if (IoManagementApi.serves(path)) return this.console.serve(request, response, path);

    const fault = this.faults.shift();
    if (fault !== undefined) return this.injectFault(fault, { request, response, path, form, body });

    const debugId = randomUUID();
    const answer = (status: number, json: object) =>
      sendJson(response, status, json, { 'content-type': 'application/json;charset=UTF-8', 'x-debug-id': debugId });
    try {
      if (request.method !== 'POST') throw new Rejection(405, 'method_not_allowed', 'use POST');
      if (!String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
        throw new Rejection(400, 'bad_request', 'expected an application/x-www-form-urlencoded body');
      }
      if (path === '/ims/exchange/jwt') {
        answer(200, this.tokenAnswer(path, (await this.verifyJwtExchange(form)).integration.clientId));
      } else if (path === '/ims/token/v3') {
        const { clientId } = this.verifyClientCredentials(form).integration;
        answer(200, this.tokenAnswer(path, clientId, {}, requestedScopes(form)));
      } else {
        throw new Rejection(404, 'not_found', 'no such endpoint');
      }
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      answer(error.status, { error: error.error, error_description: error.description });
    }
  }

  /**
   * IMS's success answer for `path` (`expires_in` in milliseconds for the JWT exchange, seconds for
   * OAuth) with `fields` replaced; a token (granting `scopes`) is issued unless `fields` brings its
   * own `access_token`.
   */
  private tokenAnswer(
    path: string,
    clientId: string,
    fields: Readonly<Record<string, unknown>> = {},
    scopes: readonly string[] = [],
  ): Record<string, unknown> {
    const jwt = path === '/ims/exchange/jwt';
    const expiresIn = jwt ? JWT_EXPIRES_IN_MS : OAUTH_EXPIRES_IN_SECONDS;
    const lifetimeMs = jwt ? expiresIn : expiresIn * 1000;
    return {
      token_type: 'bearer',
      ...('access_token' in fields ? {} : { access_token: this.issue(clientId, lifetimeMs, scopes) }),
      expires_in: expiresIn,
      ...fields,
    };
  }

  private injectFault(fault: Fault, received: Received): void | Promise<void> {
    const { request, response } = received;
    const clientId = received.form.client_id ?? 'unknown-client';
    if (fault === 'hang') return;
    if (fault === 'reset') {
      request.socket.destroy();
    } else if (fault === 'html') {
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!DOCTYPE html><html><body>Service maintenance</body></html>');
    } else if (fault === 'truncated-json') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"token_type":"bearer","access_tok');
    } else if (fault === 'echo') {
      echo(received);
    } else if (fault === 'huge') {
      return huge(response, this.tokenAnswer(received.path, clientId));
    } else if ('token' in fault) {
      const json = this.tokenAnswer(received.path, clientId, fault.token);
      if (typeof json.access_token === 'string') registerToken(json.access_token);
      sendJson(response, 200, json, { 'content-type': 'application/json;charset=UTF-8', 'x-debug-id': randomUUID() });
    } else if ('redirect' in fault) {
      response
        .writeHead(fault.redirect, { location: fault.location ?? `${this.url}/moved`, 'x-debug-id': randomUUID() })
        .end();
    } else {
      const headers = {
        'content-type': 'text/plain',
        ...(fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }),
      };
      response.writeHead(fault.status, headers).end(`HTTP ${fault.status}`);
    }
  }

  /** The client named by `client_id`, if its secret matches and it may use this flow. */
  private client<K extends Client['kind']>(form: Record<string, string>, kind: K): Extract<Client, { kind: K }> {
    const client = this.clients.get(form.client_id ?? '');
    if (!client) throw new Rejection(400, 'invalid_client', 'invalid client_id parameter');
    const secret = form.client_secret ?? '';
    const held =
      client.kind === 'oauth'
        ? this.credentials.holds(client.integration.clientId, secret)
        : client.integration.clientSecrets.includes(secret);
    if (!held) {
      throw new Rejection(401, 'invalid_client', 'invalid client_secret parameter');
    }
    if (client.kind !== kind) throw new Rejection(401, 'invalid_client', 'client is not allowed this grant');
    return client as Extract<Client, { kind: K }>;
  }

  private async verifyJwtExchange(form: Record<string, string>): Promise<Client> {
    const client = this.client(form, 'jwt');
    const { integration } = client;
    const host = integration.imsEndpoint;
    this.verifyCertificateValidity(client.certificate);
    const claims = await this.verifySignature(form.jwt_token ?? '', client.certificate.publicKey);
    if (claims.aud !== `https://${host}/c/${integration.clientId}`) {
      throw new Rejection(400, 'invalid_client', 'aud does not match client_id');
    }
    if (claims.iss !== integration.org) throw new Rejection(400, 'bad_request', 'iss is not the organization');
    if (claims.sub !== integration.technicalAccountId)
      throw new Rejection(400, 'bad_request', 'sub is not the technical account');
    if (claims.exp === undefined) throw new Rejection(400, 'bad_request', 'exp is missing');
    if (claims.exp > this.now() / 1000 + DAY_SECONDS)
      throw new Rejection(400, 'bad_request', 'exp is more than 24 h ahead');

    const prefix = `https://${host}/s/`;
    const metascopes = Object.keys(claims).filter((claim) => claim.startsWith(prefix));
    const granted = (claim: string) =>
      claims[claim] === true && integration.metascopes.includes(claim.slice(prefix.length));
    if (metascopes.length === 0 || !metascopes.every(granted)) {
      throw new Rejection(400, 'invalid_scope', "metascopes are missing or not a subset of the integration's");
    }
    return client;
  }

  /**
   * The integration's certificate must be valid now. What the real IMS answers for an expired
   * certificate is not documented (docs/protocol.md §5): this peer says `invalid_signature`, as for
   * a signature that matches no certificate; the refresher must handle any 4xx rejection alike.
   */
  private verifyCertificateValidity(certificate: X509Certificate): void {
    const now = this.now();
    if (now > Date.parse(certificate.validTo)) {
      throw new Rejection(400, 'invalid_signature', 'certificate of the integration has expired');
    }
    if (now < Date.parse(certificate.validFrom)) {
      throw new Rejection(400, 'invalid_signature', 'certificate of the integration is not yet valid');
    }
  }

  /** RS256 against the certificate's key, and `exp` not passed (jose checks it when present). */
  private async verifySignature(jwt: string, publicKey: KeyObject): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(jwt, publicKey, { algorithms: ['RS256'], currentDate: new Date(this.now()) });
      return payload;
    } catch (error) {
      if (error instanceof errors.JWSSignatureVerificationFailed) {
        throw new Rejection(400, 'invalid_signature', 'signature matches no certificate of the integration');
      }
      if (error instanceof errors.JWTExpired) throw new Rejection(400, 'invalid_token', 'JWT expired');
      if (error instanceof errors.JWTClaimValidationFailed)
        throw new Rejection(400, 'bad_request', `${error.claim} is malformed`);
      throw new Rejection(400, 'invalid_token', 'JWT cannot be decoded');
    }
  }

  private verifyClientCredentials(form: Record<string, string>): Client {
    if (form.grant_type !== 'client_credentials') throw new Rejection(400, 'bad_request', 'unsupported grant_type');
    const client = this.client(form, 'oauth');
    if (!requestedScopes(form).every((scope) => client.integration.scopes.includes(scope))) {
      throw new Rejection(400, 'invalid_scope', "scopes are not a subset of the client's");
    }
    this.credentials.used(client.integration.clientId, form.client_secret ?? '', this.now());
    return client;
  }

  /**
   * An access token shaped like IMS's (a JWT whose payload carries ms strings), unique per call;
   * the I/O Management API accepts it as a bearer token for `clientId` with `scopes` until it expires.
   */
  private issue(clientId: string, lifetimeMs: number, scopes: readonly string[]): string {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const token = [
      part({ alg: 'RS256', x5u: 'ims_na1-key-at-1.cer', kid: 'ims_na1-key-at-1', itt: 'at' }),
      part({
        id: `${this.now()}_${randomUUID()}_ue1`,
        type: 'access_token',
        client_id: clientId,
        as: 'ims-na1',
        created_at: String(this.now()),
        expires_in: String(lifetimeMs),
      }),
      randomBytes(128).toString('base64url'),
    ].join('.');
    registerSecret(token);
    this.issued.push(token);
    this.tokens.set(token, { clientId, scopes, expiresAt: this.now() + lifetimeMs });
    return token;
  }
}

/** The scopes a client_credentials grant asks for (`scope`, comma-separated). */
function requestedScopes(form: Readonly<Record<string, string>>): string[] {
  return (form.scope ?? '')
    .split(',')
    .map((scope) => scope.trim())
    .filter(Boolean);
}

/** What the peer received: enough for a fault to answer it. */
interface Received {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly path: string;
  readonly form: Readonly<Record<string, string>>;
  /** The form as sent (URL-encoded). */
  readonly body: string;
}

/**
 * A 400 that quotes the request, as a careless (or hostile) server would: `error` is the client
 * secret, `error_description` the whole form as received (client secret and JWT URL-encoded)
 * followed by CR/LF and `FORGED_LOG_LINE`, and `X-Debug-Id` the client secret (a header value
 * cannot hold CR/LF).
 */
function echo({ response, form, body }: Received): void {
  const clientSecret = form.client_secret ?? 'no-client-secret';
  sendJson(
    response,
    400,
    { error: clientSecret, error_description: `${body}\r\n${FORGED_LOG_LINE}` },
    { 'content-type': 'application/json;charset=UTF-8', 'x-debug-id': clientSecret },
  );
}

/** `answer` padded to `HUGE_ANSWER_BYTES` with filler (not a secret), streamed in chunks: no content-length. */
async function huge(response: ServerResponse, answer: object): Promise<void> {
  const chunk = 'A'.repeat(64 * 1024);
  function* text() {
    yield `${JSON.stringify(answer).slice(0, -1)},"padding":"`;
    for (let sent = 0; sent < HUGE_ANSWER_BYTES; sent += chunk.length) yield chunk;
    yield '"}';
  }
  response.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
  // The client may stop reading early (that is the point): a destroyed stream is not the peer's failure.
  await pipeline(Readable.from(text()), response).catch(() => undefined);
}

/** Registers an access token the peer sent, and each line of one that holds CR/LF (what a log line could show of it). */
function registerToken(token: string): void {
  registerSecret(token, ...token.split(/[\r\n]+/));
}
