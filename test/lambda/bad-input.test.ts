import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RefreshSettings } from '../../lambda/config.js';
import { runRefresh } from '../../lambda/refresh.js';
import {
  MemoryStore,
  fakeClock,
  fakeDeps,
  json,
  jwtTokenAnswer,
  raw,
  scriptedFetch,
  type Answer,
} from '../support/fakes.js';
import { generateJwtCredentials, generateOAuthCredentials } from '../sandbox/test-credentials.js';

/**
 * The bad-input corpus: every malformed credential and every bad IMS answer we know of ends in
 * a typed error that names the field or IMS error, the expected number of IMS calls, and no write.
 */
const settings: RefreshSettings = { credentialsSecretId: 'creds', tokenSecretId: 'token', refreshThreshold: 0.5 };

type Mutation = (credentials: Record<string, any>) => unknown;
interface Case {
  readonly name: string;
  readonly credentials?: Mutation | string;
  readonly oauth?: boolean;
  /** Start from an Adobe Developer Console project download with two OAuth credentials. */
  readonly project?: boolean;
  readonly answer?: Answer;
  readonly settings?: Partial<RefreshSettings>;
  readonly code: string;
  readonly message: RegExp;
  readonly imsCalls: number;
}

const dropIntegration =
  (key: string): Mutation =>
  (c) => {
    delete c.integration[key];
    return c;
  };
const dropAccount =
  (key: string): Mutation =>
  (c) => {
    delete c.integration.technicalAccount[key];
    return c;
  };
/** AEM service credentials without the field at `path` (`integration.…`): refused, naming it, before any IMS call. */
function missing(path: string): Case {
  const keys = path.split('.').slice(1);
  return {
    name: `${keys.at(-1)} missing`,
    credentials: keys.length === 1 ? dropIntegration(keys[0]) : dropAccount(keys[1]),
    code: 'CREDENTIALS_INVALID',
    message: new RegExp(`"${path}" is missing`),
    imsCalls: 0,
  };
}
const setIntegration =
  (key: string, value: unknown): Mutation =>
  (c) => {
    c.integration[key] = value;
    return c;
  };

const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
const shortRsaKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
  type: 'pkcs1',
  format: 'pem',
});
const otherRsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
  type: 'pkcs1',
  format: 'pem',
});
const credentialsOf = (c: Record<string, any>) => c.project.workspace.details.credentials as Record<string, any>[];
/** An answer whose "token" is a secret of the request, as an echoing peer would send it. */
const tokenEchoing =
  (field: 'client_secret' | 'jwt_token', wrap = (secret: string) => secret): Answer =>
  (request) =>
    json(200, { access_token: wrap(request.form.get(field)!), token_type: 'bearer', expires_in: 86_399_999 })(request);

const cases: Case[] = [
  // Credentials: never reach IMS.
  {
    name: 'credentials not JSON',
    credentials: 'not json {',
    code: 'CREDENTIALS_INVALID',
    message: /credentials secret is not JSON/,
    imsCalls: 0,
  },
  {
    name: 'credentials a JSON array',
    credentials: '[]',
    code: 'CREDENTIALS_INVALID',
    message: /not a JSON object/,
    imsCalls: 0,
  },
  {
    name: 'credentials "ok": false',
    credentials: (c) => ({ ...c, ok: false }),
    code: 'CREDENTIALS_INVALID',
    message: /"ok": false/,
    imsCalls: 0,
  },
  {
    name: 'neither shape',
    credentials: () => ({ foo: 1 }),
    code: 'CREDENTIALS_INVALID',
    message: /not AEM service credentials \("integration"\), an Adobe Developer Console project download/,
    imsCalls: 0,
  },
  {
    name: 'both shapes',
    credentials: (c) => ({ ...c, clientId: 'x' }),
    code: 'CREDENTIALS_INVALID',
    message: /mix shapes: .* set CREDENTIALS_TYPE/,
    imsCalls: 0,
  },
  {
    name: 'integration not an object',
    credentials: (c) => ({ ...c, integration: 'x' }),
    code: 'CREDENTIALS_INVALID',
    message: /"integration" is missing or not an object/,
    imsCalls: 0,
  },
  ...[
    'integration.technicalAccount',
    'integration.technicalAccount.clientId',
    'integration.technicalAccount.clientSecret',
    'integration.org',
    'integration.id',
    'integration.imsEndpoint',
    'integration.metascopes',
    'integration.privateKey',
  ].map(missing),
  {
    name: 'org a number',
    credentials: setIntegration('org', 42),
    code: 'CREDENTIALS_INVALID',
    message: /"integration.org" is not a string/,
    imsCalls: 0,
  },
  {
    name: 'id empty',
    credentials: setIntegration('id', '  '),
    code: 'CREDENTIALS_INVALID',
    message: /"integration.id" is empty/,
    imsCalls: 0,
  },
  {
    name: 'metascopes a number',
    credentials: setIntegration('metascopes', 7),
    code: 'CREDENTIALS_INVALID',
    message: /"integration.metascopes" is not a comma-separated string or an array/,
    imsCalls: 0,
  },
  {
    name: 'metascopes only commas',
    credentials: setIntegration('metascopes', ' , '),
    code: 'CREDENTIALS_INVALID',
    message: /"integration.metascopes" is empty/,
    imsCalls: 0,
  },
  {
    name: 'imsEndpoint a URL',
    credentials: setIntegration('imsEndpoint', 'https://ims-na1.adobelogin.com'),
    code: 'CREDENTIALS_INVALID',
    message: /"integration.imsEndpoint" is not a bare host name/,
    imsCalls: 0,
  },
  {
    name: 'imsEndpoint not Adobe',
    credentials: setIntegration('imsEndpoint', 'ims.evil.example'),
    code: 'CREDENTIALS_INVALID',
    message: /"integration.imsEndpoint" is not an Adobe IMS host/,
    imsCalls: 0,
  },
  {
    name: 'privateKey not PEM',
    credentials: setIntegration('privateKey', 'MIIEvQIBADANBg'),
    code: 'CREDENTIALS_INVALID',
    message: /"integration.privateKey" is not a readable PEM private key/,
    imsCalls: 0,
  },
  {
    name: 'privateKey truncated',
    credentials: (c) => setIntegration('privateKey', c.integration.privateKey.slice(0, 200))(c),
    code: 'CREDENTIALS_INVALID',
    message: /"integration.privateKey" is not a readable PEM/,
    imsCalls: 0,
  },
  {
    name: 'privateKey is EC',
    credentials: setIntegration('privateKey', ecKey),
    code: 'CREDENTIALS_INVALID',
    message: /"integration.privateKey" is not an RSA key/,
    imsCalls: 0,
  },
  {
    name: 'privateKey RSA 1024',
    credentials: setIntegration('privateKey', shortRsaKey),
    code: 'CREDENTIALS_INVALID',
    message: /"integration.privateKey" is an RSA key shorter than 2048 bits/,
    imsCalls: 0,
  },
  {
    name: 'privateKey a public certificate',
    credentials: (c) => setIntegration('privateKey', c.integration.publicKey)(c),
    code: 'CREDENTIALS_INVALID',
    message: /"integration.privateKey" is not a readable PEM/,
    imsCalls: 0,
  },
  missing('integration.publicKey'),
  {
    name: 'publicKey not a certificate',
    credentials: setIntegration('publicKey', 'MIIDdzCCAl+gAwIBAgIE'),
    code: 'CREDENTIALS_INVALID',
    message: /"integration.publicKey" is not a readable PEM certificate/,
    imsCalls: 0,
  },
  {
    name: 'privateKey of another key pair',
    credentials: setIntegration('privateKey', otherRsaKey),
    code: 'CREDENTIALS_INVALID',
    message: /"integration.privateKey" does not belong to the certificate in "integration.publicKey"/,
    imsCalls: 0,
  },
  {
    name: 'project with two OAuth credentials, none named',
    project: true,
    code: 'CREDENTIALS_INVALID',
    message:
      /"project.workspace.details.credentials" holds 2 OAuth Server-to-Server credentials \(".*", ".*"\); set credentialName/,
    imsCalls: 0,
  },
  {
    name: 'project credentialName matching none',
    project: true,
    settings: { credentialName: 'nope' },
    code: 'CREDENTIALS_INVALID',
    message: /holds no OAuth Server-to-Server credential named by credentialName/,
    imsCalls: 0,
  },
  {
    name: 'project without OAuth credentials',
    project: true,
    credentials: (c) => (credentialsOf(c).forEach((entry) => (entry.integration_type = 'service_account_jwt')), c),
    code: 'CREDENTIALS_INVALID',
    message: /holds no credential with "integration_type": "oauth_server_to_server"/,
    imsCalls: 0,
  },
  {
    name: 'project credentials not a list',
    project: true,
    credentials: (c) => ((c.project.workspace.details.credentials = {}), c),
    code: 'CREDENTIALS_INVALID',
    message: /"project.workspace.details.credentials" is missing or not a list/,
    imsCalls: 0,
  },
  {
    name: 'project client_secrets empty',
    project: true,
    credentials: (c) => (
      (credentialsOf(c)[1].integration_type = 'x'),
      (credentialsOf(c)[0].oauth_server_to_server.client_secrets = []),
      c
    ),
    code: 'CREDENTIALS_INVALID',
    message: /"project.workspace.details.credentials\[0\].oauth_server_to_server.client_secrets" is empty/,
    imsCalls: 0,
  },
  {
    name: 'project client_secrets with a number',
    project: true,
    credentials: (c) => (
      (credentialsOf(c)[1].integration_type = 'x'),
      (credentialsOf(c)[0].oauth_server_to_server.client_secrets = [7]),
      c
    ),
    code: 'CREDENTIALS_INVALID',
    message: /client_secrets" is not a list of non-empty strings/,
    imsCalls: 0,
  },
  {
    name: 'OAuth clientSecret and clientSecrets',
    oauth: true,
    credentials: (c) => ({ ...c, clientSecrets: [c.clientSecret] }),
    code: 'CREDENTIALS_INVALID',
    message: /both "clientSecret" and "clientSecrets"; keep one/,
    imsCalls: 0,
  },
  {
    name: 'OAuth clientSecrets empty',
    oauth: true,
    credentials: ({ clientSecret: _secret, ...c }) => ({ ...c, clientSecrets: [] }),
    code: 'CREDENTIALS_INVALID',
    message: /"clientSecrets" is empty/,
    imsCalls: 0,
  },
  {
    name: 'OAuth clientSecrets a string',
    oauth: true,
    credentials: ({ clientSecret, ...c }) => ({ ...c, clientSecrets: clientSecret }),
    code: 'CREDENTIALS_INVALID',
    message: /"clientSecrets" is not a list of non-empty strings/,
    imsCalls: 0,
  },
  {
    name: 'OAuth clientSecret missing',
    oauth: true,
    credentials: (c) => ({ clientId: c.clientId, scopes: c.scopes }),
    code: 'CREDENTIALS_INVALID',
    message: /"clientSecret" is missing/,
    imsCalls: 0,
  },
  {
    name: 'OAuth scopes missing',
    oauth: true,
    credentials: (c) => ({ ...c, scopes: undefined }),
    code: 'CREDENTIALS_INVALID',
    message: /"scopes" is missing/,
    imsCalls: 0,
  },
  {
    name: 'OAuth scopes has a number',
    oauth: true,
    credentials: (c) => ({ ...c, scopes: ['openid', 3] }),
    code: 'CREDENTIALS_INVALID',
    message: /"scopes" is not a comma-separated string or an array of strings/,
    imsCalls: 0,
  },
  {
    name: 'OAuth pinned as JWT',
    oauth: true,
    settings: { credentialsType: 'jwt' },
    code: 'CREDENTIALS_INVALID',
    message: /"technicalAccount" is missing/,
    imsCalls: 0,
  },
  // IMS permanent answers: exactly one call.
  ...(['invalid_client', 'invalid_token', 'invalid_signature', 'invalid_scope', 'bad_request'] as const).map(
    (error): Case => ({
      name: `IMS 400 ${error}`,
      answer: json(400, { error, error_description: 'described' }, { 'x-debug-id': 'dbg-1' }),
      code: 'IMS_REJECTED',
      message: new RegExp(`HTTP 400 ${error}: described \\(X-Debug-Id dbg-1\\)`),
      imsCalls: 1,
    }),
  ),
  {
    name: 'IMS 401 invalid_client',
    answer: json(401, { error: 'invalid_client' }),
    code: 'IMS_REJECTED',
    message: /HTTP 401 invalid_client/,
    imsCalls: 1,
  },
  {
    name: 'IMS 403 HTML',
    answer: raw(403, '<html>Forbidden</html>', { 'content-type': 'text/html' }),
    code: 'IMS_REJECTED',
    message: /HTTP 403 no IMS error code$/,
    imsCalls: 1,
  },
  {
    name: 'IMS 404 (wrong base URL)',
    answer: raw(404, 'Not Found'),
    code: 'IMS_REJECTED',
    message: /HTTP 404/,
    imsCalls: 1,
  },
  // IMS transient answers: retried up to the budget of 4.
  {
    name: 'IMS 429 storm',
    answer: json(429, {}, { 'retry-after': '1' }),
    code: 'IMS_UNAVAILABLE',
    message: /HTTP 429/,
    imsCalls: 4,
  },
  {
    name: 'IMS 500',
    answer: json(500, { error: 'server_error' }),
    code: 'IMS_UNAVAILABLE',
    message: /HTTP 500 server_error/,
    imsCalls: 4,
  },
  {
    name: 'IMS 502 HTML',
    answer: raw(502, '<html>Bad Gateway</html>'),
    code: 'IMS_UNAVAILABLE',
    message: /HTTP 502$/,
    imsCalls: 4,
  },
  // IMS 200 that is not a token: a wrong endpoint or a broken proxy, not worth retrying.
  {
    name: '200 HTML',
    answer: raw(200, '<html>login</html>', { 'content-type': 'text/html' }),
    code: 'IMS_RESPONSE_INVALID',
    message: /is not a JSON object/,
    imsCalls: 1,
  },
  {
    name: '200 without access_token',
    answer: json(200, { token_type: 'bearer', expires_in: 86399999 }),
    code: 'IMS_RESPONSE_INVALID',
    message: /has an "access_token" that is missing or blank/,
    imsCalls: 1,
  },
  {
    name: '200 access_token empty',
    answer: json(200, { access_token: '', expires_in: 86399999 }),
    code: 'IMS_RESPONSE_INVALID',
    message: /has an "access_token" that is missing or blank/,
    imsCalls: 1,
  },
  {
    name: '200 expires_in missing',
    answer: json(200, { access_token: 'a', token_type: 'bearer' }),
    code: 'IMS_RESPONSE_INVALID',
    message: /no positive numeric "expires_in"/,
    imsCalls: 1,
  },
  {
    name: '200 expires_in zero',
    answer: json(200, { access_token: 'a', token_type: 'bearer', expires_in: 0 }),
    code: 'IMS_RESPONSE_INVALID',
    message: /no positive numeric "expires_in"/,
    imsCalls: 1,
  },
  {
    name: '200 expires_in negative',
    answer: json(200, { access_token: 'a', token_type: 'bearer', expires_in: -5 }),
    code: 'IMS_RESPONSE_INVALID',
    message: /no positive numeric "expires_in"/,
    imsCalls: 1,
  },
  {
    name: '200 expires_in string',
    answer: json(200, { access_token: 'a', token_type: 'bearer', expires_in: '86399999' }),
    code: 'IMS_RESPONSE_INVALID',
    message: /no positive numeric "expires_in"/,
    imsCalls: 1,
  },
  {
    name: '200 expires_in absurd',
    answer: json(200, { access_token: 'a', token_type: 'bearer', expires_in: 86_399_999_000 }),
    code: 'IMS_RESPONSE_INVALID',
    message: /"expires_in" that, in milliseconds as this flow uses, is longer than a week/,
    imsCalls: 1,
  },
  {
    name: '200 JSON null',
    answer: json(200, null),
    code: 'IMS_RESPONSE_INVALID',
    message: /is not a JSON object/,
    imsCalls: 1,
  },
  // Junk tokens (hardening): never stored, never retried.
  {
    name: '200 access_token whitespace',
    answer: token({ access_token: '   ' }),
    code: 'IMS_RESPONSE_INVALID',
    message: /"access_token" that is missing or blank/,
    imsCalls: 1,
  },
  {
    name: '200 access_token with CR/LF',
    answer: token({ access_token: 'abc\r\nX-Injected: 1' }),
    code: 'IMS_RESPONSE_INVALID',
    message: /"access_token" that has characters a bearer token cannot have/,
    imsCalls: 1,
  },
  {
    name: '200 access_token with a space',
    answer: token({ access_token: 'abc def' }),
    code: 'IMS_RESPONSE_INVALID',
    message: /cannot have \(RFC 6750 b64token\)/,
    imsCalls: 1,
  },
  {
    name: '200 access_token echoing the client secret',
    answer: tokenEchoing('client_secret'),
    code: 'IMS_RESPONSE_INVALID',
    message: /"access_token" that contains a client secret of the credentials or the JWT we sent/,
    imsCalls: 1,
  },
  {
    name: '200 access_token echoing the JWT',
    answer: tokenEchoing('jwt_token'),
    code: 'IMS_RESPONSE_INVALID',
    message: /"access_token" that contains a client secret of the credentials or the JWT we sent/,
    imsCalls: 1,
  },
  // Found by the fast-check property: a peer wrapping the echo ("<secret>+") passed an equality check.
  {
    name: '200 access_token wrapping the client secret',
    answer: tokenEchoing('client_secret', (secret) => `${secret}+`),
    code: 'IMS_RESPONSE_INVALID',
    message: /"access_token" that contains a client secret of the credentials or the JWT we sent/,
    imsCalls: 1,
  },
  {
    name: '200 access_token a number',
    answer: token({ access_token: 12345 }),
    code: 'IMS_RESPONSE_INVALID',
    message: /"access_token" that is missing or blank/,
    imsCalls: 1,
  },
  {
    name: '200 access_token over 8 KiB',
    answer: token({ access_token: 'a'.repeat(8_193) }),
    code: 'IMS_RESPONSE_INVALID',
    message: /"access_token" that is longer than 8192 characters/,
    imsCalls: 1,
  },
  {
    name: '200 token_type mac',
    answer: token({ token_type: 'mac' }),
    code: 'IMS_RESPONSE_INVALID',
    message: /has no "token_type" "bearer"/,
    imsCalls: 1,
  },
  {
    name: '200 token_type missing',
    answer: token({ token_type: undefined }),
    code: 'IMS_RESPONSE_INVALID',
    message: /has no "token_type" "bearer"/,
    imsCalls: 1,
  },
  {
    name: 'JWT exchange expires_in in seconds (86399)',
    answer: token({ expires_in: 86_399 }),
    code: 'IMS_RESPONSE_INVALID',
    message: /"expires_in" that, in milliseconds as this flow uses, is shorter than an hour/,
    imsCalls: 1,
  },
  {
    name: 'OAuth expires_in in milliseconds',
    oauth: true,
    answer: token({ expires_in: 86_399_999 }),
    code: 'IMS_RESPONSE_INVALID',
    message: /"expires_in" that, in seconds as this flow uses, is longer than a week/,
    imsCalls: 1,
  },
  {
    name: '200 answer over 64 KiB (streamed)',
    answer: raw(200, `{"access_token":"${'a'.repeat(70_000)}"}`),
    code: 'IMS_RESPONSE_INVALID',
    message: /is larger than 65536 bytes/,
    imsCalls: 1,
  },
  {
    name: '200 answer over 64 KiB (declared)',
    answer: raw(200, '{}', { 'content-length': String(1 << 20) }),
    code: 'IMS_RESPONSE_INVALID',
    message: /is larger than 65536 bytes/,
    imsCalls: 1,
  },
  // A redirect is a wrong base URL or endpoint: permanent, not retried, not followed.
  {
    name: 'IMS 302 redirect',
    answer: raw(302, '', { location: 'https://elsewhere.example/login' }),
    code: 'IMS_REJECTED',
    message: /redirect \(HTTP 302\), which is not followed: IMS_BASE_URL or the credentials' imsEndpoint is wrong$/,
    imsCalls: 1,
  },
  {
    name: 'IMS 308 redirect',
    answer: raw(308, ''),
    code: 'IMS_REJECTED',
    message: /redirect \(HTTP 308\)/,
    imsCalls: 1,
  },
  // Echoes: whatever IMS sends back is redacted and kept on one line.
  {
    name: 'IMS 400 echoing the request',
    answer: echo(400),
    code: 'IMS_REJECTED',
    message:
      /^IMS rejected the request at \/ims\/exchange\/jwt: HTTP 400 \[redacted\]: client_id=[\w-]+&client_secret=\[redacted\]&jwt_token=\[redacted\] {2}\{.*\} \(X-Debug-Id dbg-\[redacted\]\)$/,
    imsCalls: 1,
  },
  {
    name: 'IMS 503 echoing the request',
    answer: echo(503),
    code: 'IMS_UNAVAILABLE',
    message: /HTTP 503 \[redacted\]: client_id=.*\[redacted\]/,
    imsCalls: 4,
  },
];

/** A JWT-exchange success answer with some fields replaced (`undefined` drops one). */
function token(fields: Record<string, unknown>): Answer {
  return json(200, { token_type: 'bearer', access_token: 'valid-access-token', expires_in: 86_399_999, ...fields });
}

/** An IMS error that echoes what it received: the client secret as `error` and in `X-Debug-Id`, the whole form (JWT included) with CR/LF. */
function echo(status: number): Answer {
  return (request) => {
    const clientSecret = request.form.get('client_secret')!;
    return json(
      status,
      { error: clientSecret, error_description: `${request.form}\r\n{"level":"INFO","forged":true}` },
      { 'x-debug-id': `dbg-${clientSecret}` },
    )(request);
  };
}

let jwtJson: string;
let oauthJson: string;
let projectJson: string;
let secrets: string[];
beforeAll(async () => {
  const jwt = await generateJwtCredentials({ keyFormat: 'pkcs1-crlf', wrapped: true });
  const oauth = generateOAuthCredentials({});
  jwtJson = jwt.json;
  oauthJson = oauth.json;
  const project = generateOAuthCredentials({ shape: 'project', otherCredentials: 1 });
  projectJson = project.json;
  secrets = [
    jwt.integration.clientSecrets[0],
    jwt.privateKeyPem.slice(40, 100),
    oauth.integration.clientSecrets[0],
    project.integration.clientSecrets[0],
  ];
});

describe('bad-input corpus', () => {
  it('has at least 60 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    // Prepare
    const base = c.project ? projectJson : c.oauth ? oauthJson : jwtJson;
    const credentials =
      typeof c.credentials === 'string'
        ? c.credentials
        : c.credentials
          ? JSON.stringify(c.credentials(JSON.parse(base)))
          : base;
    const store = new MemoryStore();
    store.put(settings.credentialsSecretId, credentials);
    const goodToken = store.put(settings.tokenSecretId, 'previous value stays');
    const clock = fakeClock();
    const fetch = scriptedFetch(c.answer ?? jwtTokenAnswer());
    // Act
    const result = await runRefresh(
      { ...settings, ...c.settings },
      { force: true, requestKey: 'k', deadline: clock.now() + 75_000 },
      fakeDeps(store, fetch, clock),
    );
    // Assess
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe(c.code);
    expect(result.error?.message).toMatch(c.message);
    expect(fetch.requests).toHaveLength(c.imsCalls);
    expect(store.count('write')).toBe(0);
    expect(store.current(settings.tokenSecretId)?.versionId).toBe(goodToken);
    const sent = fetch.requests.flatMap((request) => [
      request.form.get('client_secret')!,
      request.form.get('jwt_token') ?? '',
    ]);
    const reported = JSON.stringify({ ...result.error, message: result.error?.message, stack: result.error?.stack });
    for (const secret of [...secrets, ...sent.filter(Boolean)]) expect(reported).not.toContain(secret);
    expect(result.error?.message).not.toMatch(/[\r\n]/);
  });
});
