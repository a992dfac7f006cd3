import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './loopback-server.js';
import { registerSecret } from './secret-registry.js';

/**
 * The scopes Adobe lists for a token that manages its credential's client secrets
 * (docs/protocol.md §7); the I/O Management API double answers 403 to a token that lacks one.
 */
export const IO_MANAGEMENT_SCOPES = [
  'AdobeID',
  'openid',
  'read_organizations',
  'additional_info.projectedProductContext',
  'additional_info.roles',
  'adobeio_api',
  'read_client_secret',
  'manage_client_secrets',
] as const;

/** Adobe allows two client secrets per credential: creating a third fails. */
export const MAX_CLIENT_SECRETS = 2;

/**
 * The `error_code` of the refusal of a third secret. Adobe does not document that error's body;
 * this one has the shape of Adobe's other API errors (`{ error_code, message }`).
 */
export const TOO_MANY_SECRETS_ERROR_CODE = '400009';

/**
 * What the next I/O Management API request gets instead of its normal answer:
 * - `{ status }`: that status with `body` (default: Adobe's error shape naming the status) and
 *   `requestId` as `x-request-id` (default: a fresh one), e.g. 403, 429, 503, or a hostile body;
 * - `hang`: no answer until the peer closes;
 * - `drop-after-commit`: the request takes effect (a create makes the secret), then the
 *   connection is destroyed before any answer: the plaintext is lost;
 * - `create-without-uuid`: answered normally, but the answer's `uuid` is left out;
 * - `added-in-console`: just before the request is served, an admin adds a secret to the credential in
 *   the Developer Console (e.g. between a rotation's list and its create: the create is then a third);
 * - `none`: answered normally, so that the next fault reaches a later request (e.g. the create after a list).
 */
export type ConsoleFault =
  | { readonly status: number; readonly body?: unknown; readonly requestId?: string }
  | 'none'
  | 'added-in-console'
  | 'hang'
  | 'drop-after-commit'
  | 'create-without-uuid';

/** One client secret as the peer holds it; the plaintext only for tests (never print it). */
export interface ClientSecret {
  readonly uuid: string;
  readonly plaintext: string;
  /** Epoch ms at the peer's clock. */
  readonly createdAt: number;
  /** Epoch ms of the last token minted with it, at the peer's clock; absent when never used. */
  lastUsedAt?: number;
}

/** An OAuth Server-to-Server credential: its Developer Console ids and its client secrets, in creation order. */
export interface Credential {
  readonly clientId: string;
  /** The numeric Developer Console org id (`project.org.id`). */
  readonly orgId: string;
  /** `project.workspace.details.credentials[].id` */
  readonly credentialId: string;
  readonly secrets: ClientSecret[];
}

/** What a bearer token the peer issued stands for. */
export interface IssuedToken {
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** Epoch ms at the peer's clock. */
  readonly expiresAt: number;
}

/** One request the I/O Management API double received (the bearer token is not kept). */
export interface ConsoleCall {
  readonly method: string;
  readonly path: string;
}

const SECRETS_PATH = /^\/console\/organizations\/([^/]+)\/credentials\/([^/]+)\/secrets(?:\/([^/]+))?$/;

/** An answer other than a success, in Adobe's API error shape. */
class ConsoleRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The credentials' client secrets, shared by the token endpoint (which accepts any secret a
 * credential still holds and records its use) and the I/O Management API (which lists, creates
 * and deletes them): a mint with a deleted secret fails, and a mint moves `last_used_at`.
 */
export class CredentialRegistry {
  private readonly credentials = new Map<string, Credential>();

  /**
   * Registers (or replaces) the credential of `clientId` with `plaintexts` as its secrets, created
   * at `now`. A secret the credential already held keeps its uuid and dates. `uuids` (parallel to
   * `plaintexts`), `orgId` and `credentialId` are generated unless given.
   */
  register(
    clientId: string,
    plaintexts: readonly string[],
    now: number,
    ids: { orgId?: string; credentialId?: string; uuids?: readonly string[] } = {},
  ): Credential {
    const before = this.credentials.get(clientId);
    const secrets = plaintexts.map(
      (plaintext, index): ClientSecret =>
        before?.secrets.find((secret) => secret.plaintext === plaintext) ?? {
          uuid: ids.uuids?.[index] ?? randomUUID(),
          plaintext,
          createdAt: now,
        },
    );
    const credential: Credential = {
      clientId,
      orgId: ids.orgId ?? before?.orgId ?? String(randomBytes(3).readUIntBE(0, 3)),
      credentialId: ids.credentialId ?? before?.credentialId ?? randomBytes(16).toString('hex'),
      secrets,
    };
    this.credentials.set(clientId, credential);
    return credential;
  }

  /** The credential of `clientId`, if registered. */
  get(clientId: string): Credential | undefined {
    return this.credentials.get(clientId);
  }

  /** Whether the credential of `clientId` holds `plaintext` now. */
  holds(clientId: string, plaintext: string): boolean {
    return this.secret(clientId, plaintext) !== undefined;
  }

  /** Records a token minted with `plaintext` at `now`: Adobe's `last_used_at`. */
  used(clientId: string, plaintext: string, now: number): void {
    const secret = this.secret(clientId, plaintext);
    if (secret) secret.lastUsedAt = now;
  }

  /** The credential at `orgId`/`credentialId`, as the API's path names it. */
  find(orgId: string, credentialId: string): Credential | undefined {
    return [...this.credentials.values()].find((c) => c.orgId === orgId && c.credentialId === credentialId);
  }

  private secret(clientId: string, plaintext: string): ClientSecret | undefined {
    return this.credentials.get(clientId)?.secrets.find((secret) => secret.plaintext === plaintext);
  }
}

/**
 * Adobe's I/O Management API for a credential's client secrets (docs/protocol.md §7), as the IMS
 * peer serves it: `GET`, `POST` and `DELETE …/console/organizations/{orgId}/credentials/
 * {credentialId}/secrets[/{uuid}]`. Checks `x-api-key` (the credential's client id), the bearer
 * token (issued by the peer, unexpired, for that client, with `IO_MANAGEMENT_SCOPES`), at most
 * `MAX_CLIENT_SECRETS` secrets, the plaintext only in the create answer, times as epoch-ms
 * strings; every answer carries an `x-request-id`. Faults can be queued.
 */
export class IoManagementApi {
  /** Every request received, in order, faulted ones included. */
  readonly calls: ConsoleCall[] = [];
  private readonly faults: ConsoleFault[] = [];

  constructor(
    private readonly registry: CredentialRegistry,
    private readonly token: (bearer: string) => IssuedToken | undefined,
    private readonly now: () => number,
  ) {}

  /** Whether `path` is this API's. */
  static serves(path: string): boolean {
    return path.startsWith('/console/');
  }

  /** Queues faults: each one replaces the answer to one of the next API requests, in order. */
  fail(...faults: ConsoleFault[]): void {
    this.faults.push(...faults);
  }

  /** Answers one request (`path` without its query string or trailing slash). */
  serve(request: IncomingMessage, response: ServerResponse, path: string): void {
    const method = request.method ?? 'GET';
    this.calls.push({ method, path });
    const fault = this.faults.shift();
    if (fault === 'hang') return;
    const send = (status: number, body?: unknown, requestId: string = randomUUID()) => {
      if (body === undefined) response.writeHead(status, { 'x-request-id': requestId }).end();
      else sendJson(response, status, body, { 'content-type': 'application/json', 'x-request-id': requestId });
    };
    if (typeof fault === 'object') {
      return send(fault.status, fault.body ?? adobeError(`${fault.status}000`, 'injected fault'), fault.requestId);
    }
    let status: number;
    let body: unknown;
    try {
      [status, body] = this.answer(request, method, path, fault === 'added-in-console');
    } catch (error) {
      if (!(error instanceof ConsoleRefusal)) throw error;
      [status, body] = [error.status, adobeError(error.code, error.message)];
    }
    if (fault === 'drop-after-commit') {
      request.socket.destroy();
      return;
    }
    if (fault === 'create-without-uuid' && typeof body === 'object' && body !== null) {
      body = Object.fromEntries(Object.entries(body).filter(([key]) => key !== 'uuid'));
    }
    send(status, body);
  }

  private answer(request: IncomingMessage, method: string, path: string, addedInConsole: boolean): [number, unknown?] {
    const match = SECRETS_PATH.exec(path);
    if (!match) throw new ConsoleRefusal(404, '404000', 'no such resource');
    const [, orgId, credentialId, uuid] = match;
    const clientId = this.authorize(request);
    const credential = this.registry.find(orgId, credentialId);
    if (!credential) throw new ConsoleRefusal(404, '404010', 'credential not found in this organization');
    if (credential.clientId !== clientId) {
      throw new ConsoleRefusal(403, '403003', 'the token and the api key do not belong to this credential');
    }
    if (addedInConsole) credential.secrets.push(this.newSecret());
    if (uuid === undefined && method === 'GET') return [200, list(credential)];
    if (uuid === undefined && method === 'POST') return [201, this.create(credential)];
    if (uuid !== undefined && method === 'DELETE') return [this.delete(credential, uuid)];
    throw new ConsoleRefusal(405, '405000', `${method} is not allowed here`);
  }

  /** The client id the request may act for: its `x-api-key`, matching a valid bearer token with the scopes. */
  private authorize(request: IncomingMessage): string {
    const apiKey = request.headers['x-api-key'];
    if (typeof apiKey !== 'string' || this.registry.get(apiKey) === undefined) {
      throw new ConsoleRefusal(403, '403000', 'Api Key is invalid');
    }
    const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    const token = bearer === undefined ? undefined : this.token(bearer);
    if (!token || token.expiresAt <= this.now()) throw new ConsoleRefusal(401, '401013', 'Oauth token is not valid');
    if (token.clientId !== apiKey) throw new ConsoleRefusal(403, '403003', 'Api Key is not valid for this token');
    const missing = IO_MANAGEMENT_SCOPES.filter((scope) => !token.scopes.includes(scope));
    if (missing.length > 0) {
      throw new ConsoleRefusal(403, '403003', `the token lacks the scopes ${missing.join(', ')}`);
    }
    return apiKey;
  }

  private create(credential: Credential): object {
    if (credential.secrets.length >= MAX_CLIENT_SECRETS) {
      throw new ConsoleRefusal(
        400,
        TOO_MANY_SECRETS_ERROR_CODE,
        `a credential can have at most ${MAX_CLIENT_SECRETS} client secrets`,
      );
    }
    const secret = this.newSecret();
    credential.secrets.push(secret);
    return { client_secret: secret.plaintext, ...listed(secret) };
  }

  private newSecret(): ClientSecret {
    const plaintext = `p8e-${randomBytes(16).toString('hex')}`;
    registerSecret(plaintext);
    return { uuid: randomUUID(), plaintext, createdAt: this.now() };
  }

  private delete(credential: Credential, uuid: string): number {
    const index = credential.secrets.findIndex((secret) => secret.uuid === uuid);
    if (index < 0) throw new ConsoleRefusal(404, '404020', 'client secret not found');
    credential.secrets.splice(index, 1);
    return 204;
  }
}

/** Adobe's API error body. */
function adobeError(code: string, message: string): object {
  return { error_code: code, message };
}

/** The list answer: no plaintext. */
function list(credential: Credential): object {
  return { client_id: credential.clientId, client_secrets: credential.secrets.map(listed) };
}

/** A secret as the API lists it: times as epoch-ms strings, `secret_usages` null until a mint used it. */
function listed(secret: ClientSecret): object {
  return {
    uuid: secret.uuid,
    created_at: String(secret.createdAt),
    expires_at: 'PERMANENT',
    secret_usages:
      secret.lastUsedAt === undefined
        ? null
        : [{ last_used_at: String(secret.lastUsedAt), grant_type: 'client_credentials' }],
  };
}
