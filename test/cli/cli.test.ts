import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/cli.js';
import { countSecrets } from '../sandbox/secret-registry.js';
import { generateJwtCredentials, generateOAuthCredentials } from '../sandbox/test-credentials.js';
import { fakeClock } from '../support/fakes.js';
import { tokenSecretValue } from '../support/token-secret.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The fake clock's start: what the CLI takes as now. */
const NOW = fakeClock().time;
const TOKEN = 'cli-test-access-token-1';
const sm = mockClient(SecretsManagerClient);
const lambda = mockClient(LambdaClient);

/** Runs `main` with fakes; the token secret holds `value` (a token issued at the clock's start by default). */
async function run(argv: string[], { value, advance = 0 }: { value?: string; advance?: number } = {}) {
  const clock = fakeClock();
  sm.on(GetSecretValueCommand, { SecretId: 'adobe/token' }).resolves({
    SecretString: value ?? tokenSecretValue(TOKEN, clock.time),
    VersionId: 'v1',
  });
  clock.advance(advance);
  const stdout = { text: '', write: (text: string) => (stdout.text += text) };
  const stderr = { text: '', write: (text: string) => (stderr.text += text) };
  const code = await main(argv, {
    stdout,
    stderr,
    secretsClient: new SecretsManagerClient({ region: 'us-east-1' }),
    lambdaClient: new LambdaClient({ region: 'us-east-1' }),
    now: clock.now,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)) as InvokeCommandOutput['Payload'];

beforeEach(() => {
  sm.reset();
  lambda.reset();
});

describe('ims-token: print the token', () => {
  it.each([
    ['the token', [], `${TOKEN}\n`],
    ['a curl header with --header', ['--header'], `Authorization: Bearer ${TOKEN}\n`],
  ])('prints %s', async (_name, flags, expected) => {
    const result = await run(['--secret-id', 'adobe/token', ...flags]);
    expect(result).toEqual({ code: 0, stdout: expected, stderr: '' });
  });

  it("prints the token contract's fields without the token with --json, and nothing stored beside them", async () => {
    const record = JSON.parse(tokenSecretValue(TOKEN, NOW));
    const value = JSON.stringify({ ...record, client_secret: 'p8e-stored-beside-the-token', note: 'x' });
    const result = await run(['--secret-id', 'adobe/token', '--json'], { value });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      token_type: 'bearer',
      issued_at: '2026-11-22T12:00:00.000Z',
      expires_at: '2026-11-23T12:00:00.000Z',
      client_id: 'cm-p123-e456-integration',
      ims_endpoint: 'ims-na1.adobelogin.com',
      credentials_version_id: 'credentials-v1',
      credentials_type: 'jwt',
    });
    expect(result.stdout).not.toContain(TOKEN);
  });

  it('prints its version with --version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    await expect(run(['--version'])).resolves.toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(sm.calls()).toHaveLength(0);
  });

  it.each([
    [
      'an expired token',
      { advance: 25 * HOUR },
      'ims-token: TOKEN_EXPIRED: the token in secret "adobe/token" expired at 2026-11-23T12:00:00.000Z',
    ],
    [
      'a token inside the margin',
      { advance: 24 * HOUR - 60_000 },
      'ims-token: TOKEN_EXPIRED: the token in secret "adobe/token" expires at',
    ],
    [
      'the placeholder',
      { value: 'r4nd0m-placeholder-value' },
      'ims-token: TOKEN_INVALID: token secret is not JSON: no token yet',
    ],
    [
      'the credentials secret, saying so by its keys and never quoting a value',
      { value: JSON.stringify({ clientId: 'c', clientSecret: 'p8e-a-client-secret-value', scopes: ['openid'] }) },
      'ims-token: TOKEN_INVALID: the secret holds credentials (it has "clientId", "clientSecret"), not a token: ' +
        'name the token secret (stack output …TokenSecretArn), not the credentials secret\n',
    ],
  ])('refuses %s: exit 1, one line on stderr, no token anywhere', async (_name, secret, line) => {
    const result = await run(['--secret-id', 'adobe/token', '--header'], secret);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.startsWith(line)).toBe(true);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toContain(TOKEN);
    expect(result.stderr).not.toContain('p8e-');
  });

  it('reports an AWS failure with its cause on one line and exits 1', async () => {
    sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const result = await run(['--secret-id', 'other']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'ims-token: SECRET_READ_FAILED: could not read secret "other": not authorized\n',
    });
  });

  it('uses --region when it creates the client itself', async () => {
    let region: string | undefined;
    sm.on(GetSecretValueCommand).callsFake(async (_input, getClient) => {
      region = await getClient().config.region();
      return { SecretString: tokenSecretValue(TOKEN, Date.now()), VersionId: 'v1' };
    });
    const stdout = { write: () => true };
    await expect(main(['--secret-id', 't', '--region', 'eu-central-1'], { stdout, stderr: stdout })).resolves.toBe(0);
    expect(region).toBe('eu-central-1');
  });
});

describe('ims-token refresh', () => {
  it('invokes the function with {"force": true} and prints its summary', async () => {
    const summary = {
      outcome: 'refreshed',
      reason: 'forced',
      expiresAt: '2026-11-23T12:00:00.000Z',
      issuedAt: '2026-11-22T12:00:00.000Z',
      credentialsVersionId: 'credentials-v2',
      credentialsExpiresAt: '2027-06-10T12:00:00.000Z',
    };
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(summary) });

    const result = await run(['refresh', '--function', 'aem-prod-refresher']);

    expect(result).toEqual({ code: 0, stdout: `${JSON.stringify(summary)}\n`, stderr: '' });
    const input = lambda.commandCalls(InvokeCommand)[0].args[0].input;
    expect(input).toMatchObject({ FunctionName: 'aem-prod-refresher', InvocationType: 'RequestResponse' });
    expect(JSON.parse(String(input.Payload))).toEqual({ force: true });
  });

  it("prints only the summary's fields, each through the redaction boundary", async () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const hostile = { outcome: 'refreshed', reason: `forced\u2028${jwt}`, expiresAt: 'x\r\ny', extra: jwt };
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(hostile) });

    const result = await run(['refresh', '--function', 'f']);

    expect(result.stdout).toBe('{"outcome":"refreshed","reason":"forced [redacted]","expiresAt":"x  y"}\n');
  });

  it.each([
    [
      'a function error',
      {
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: payload({ errorType: 'ImsError', errorMessage: 'IMS rejected', trace: ['at x'] }),
      },
      'ims-token: REFRESH_FAILED: function "f" failed: ImsError: IMS rejected\n',
    ],
    [
      'a function error whose text carries CR/LF and a JWT (untrusted, e.g. an older refresher echoing IMS)',
      {
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: payload({
          errorType: 'ImsError',
          errorMessage: 'IMS said\r\nforged line eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl',
        }),
      },
      'ims-token: REFRESH_FAILED: function "f" failed: ImsError: IMS said  forged line [redacted]\n',
    ],
    [
      'a summary whose outcome is not one of ours',
      { StatusCode: 200, Payload: payload({ outcome: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' }) },
      'ims-token: REFRESH_FAILED: function "f" did not return a refresher summary\n',
    ],
    [
      'a transient failure the refresher returned (it throws only what a person must fix)',
      {
        StatusCode: 200,
        Payload: payload({
          outcome: 'failed',
          errorCode: 'IMS_UNAVAILABLE',
          errorMessage: 'IMS unavailable at /ims/token/v3: HTTP 503',
        }),
      },
      'ims-token: REFRESH_FAILED: function "f" failed: IMS_UNAVAILABLE: IMS unavailable at /ims/token/v3: HTTP 503 (transient: the next scheduled run retries)\n',
    ],
    [
      'an answer that is not a refresher summary',
      { StatusCode: 200, Payload: payload(null) },
      'ims-token: REFRESH_FAILED: function "f" did not return a refresher summary\n',
    ],
  ])('reports %s on one line and exits 1', async (_name, answer, stderr) => {
    lambda.on(InvokeCommand).resolves(answer);
    await expect(run(['refresh', '--function', 'f'])).resolves.toEqual({ code: 1, stdout: '', stderr });
  });

  it('reports a failed invocation and exits 1', async () => {
    lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' }));
    const result = await run(['refresh', '--function', 'f']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'ims-token: REFRESH_FAILED: could not invoke function "f": ResourceNotFoundException: Function not found\n',
    });
  });
});

/** A folder of its own for the credentials files tests write; `file` writes one and returns its path. */
const dir = mkdtempSync(join(tmpdir(), 'ims-cli-credentials-'));
let files = 0;
function file(text: string | Uint8Array): string {
  const path = join(dir, `credentials-${++files}.json`);
  writeFileSync(path, text);
  return path;
}

/** Secrets Manager's limit for a secret value, in bytes. */
const MAX_SECRET_BYTES = 65_536;
/** `json` with trailing spaces up to `bytes` bytes: the same JSON to a parser. */
const padded = (json: string, bytes: number) => json + ' '.repeat(bytes - Buffer.byteLength(json));
/** One byte too many, refused without being read whole (test/cli/big-files.test.ts times bigger files). */
const oversized = file(padded('{"clientId": "c"}', MAX_SECRET_BYTES + 1));

/** A file of `bytes` that are not UTF-8 text, and the start of the reason it is refused. */
function notText(bytes: Uint8Array): [() => string, string] {
  const path = file(bytes);
  return [() => path, `"${path}" is not UTF-8 text, as credentials JSON are`];
}

/** Certificate validity around the fake clock's now. */
const validity = (daysLeft: number) => ({
  validFrom: new Date(NOW - 300 * DAY),
  validTo: new Date(NOW + daysLeft * DAY),
});

/** One line on stderr, no output, exit 1, and no secret anywhere. */
function expectOneLineFailure(result: { code: number; stdout: string; stderr: string }, line: string) {
  expect(result).toEqual({ code: 1, stdout: '', stderr: `${line}\n` });
}

describe('ims-token credentials check', () => {
  let aem: Awaited<ReturnType<typeof generateJwtCredentials>>;
  beforeAll(async () => {
    aem = await generateJwtCredentials(validity(200));
  });

  it('prints a summary of AEM service credentials without a secret, with the days left on the certificate', async () => {
    const result = await run(['credentials', 'check', '--file', file(aem.json)]);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      valid: true,
      shape: 'aem-service-credentials',
      type: 'jwt',
      clientId: aem.integration.clientId,
      imsEndpoint: 'ims-na1.adobelogin.com',
      clientSecrets: 1,
      metascopes: ['ent_aem_cloud_api'],
      org: aem.integration.org,
      technicalAccountId: aem.integration.technicalAccountId,
      certificate: { expiresAt: new Date(aem.integration.certificateExpiresAt).toISOString(), daysLeft: 200 },
    });
    expect(countSecrets(result.stdout + result.stderr)).toBe(0);
  });

  it(`reads a file of exactly ${MAX_SECRET_BYTES} bytes, the most a secret holds`, async () => {
    const result = await run(['credentials', 'check', '--file', file(padded(aem.json, MAX_SECRET_BYTES))]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
  });

  it('picks the credential named with --credential in a Developer Console project download', async () => {
    const project = generateOAuthCredentials({ shape: 'project', clientSecrets: 2, otherCredentials: 1 });

    const result = await run([
      'credentials',
      'check',
      '--file',
      file(project.json),
      '--credential',
      project.integration.name,
    ]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      valid: true,
      shape: 'developer-console-project',
      type: 'oauth',
      clientId: project.integration.clientId,
      imsEndpoint: 'ims-na1.adobelogin.com',
      clientSecrets: 2,
      scopes: ['openid', 'AdobeID', 'read_organizations'],
      credentialName: project.integration.name,
    });
    expect(countSecrets(result.stdout + result.stderr)).toBe(0);
  });

  it('refuses a project download with several credentials and no --credential, naming them', async () => {
    const project = generateOAuthCredentials({ shape: 'project', otherCredentials: 1 });
    const result = await run(['credentials', 'check', '--file', file(project.json)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^ims-token: CREDENTIALS_INVALID: .*holds 2 OAuth Server-to-Server credentials \(.+\).*\n$/,
    );
    expect(result.stderr).toContain(JSON.stringify(project.integration.name));
    expect(countSecrets(result.stderr)).toBe(0);
  });

  it('warns on stderr, and still exits 0, when the certificate expires within 30 days', async () => {
    const soon = await generateJwtCredentials(validity(29.5));
    const expiresAt = new Date(soon.integration.certificateExpiresAt).toISOString();

    const result = await run(['credentials', 'check', '--file', file(soon.json)]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).certificate).toEqual({ expiresAt, daysLeft: 29 });
    expect(result.stderr).toBe(
      `ims-token: WARNING: the certificate in "publicKey" expires on ${expiresAt} (29 days left); ` +
        'refresh the credentials in the AEM Developer Console soon\n',
    );
  });

  it('refuses credentials whose certificate has expired', async () => {
    const expired = await generateJwtCredentials({
      validFrom: new Date(NOW - 400 * DAY),
      validTo: new Date(NOW - DAY),
    });
    const expiresAt = new Date(expired.integration.certificateExpiresAt).toISOString();
    const result = await run(['credentials', 'check', '--file', file(expired.json)]);
    expectOneLineFailure(
      result,
      `ims-token: CREDENTIALS_INVALID: the certificate in "publicKey" expired on ${expiresAt}; refresh the credentials in the AEM Developer Console`,
    );
  });

  it('refuses a private key that does not belong to the certificate, naming both fields', async () => {
    const mismatched = await generateJwtCredentials({ ...validity(200), mismatchedKey: true });
    const result = await run(['credentials', 'check', '--file', file(mismatched.json)]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^ims-token: CREDENTIALS_INVALID: "integration\.privateKey" .*"integration\.publicKey".*\n$/,
    );
    expect(countSecrets(result.stderr)).toBe(0);
  });

  it.each<[string, () => string, string]>([
    [
      'a file that is not there',
      () => join(dir, 'missing.json'),
      `cannot read "${join(dir, 'missing.json')}" (no such file)`,
    ],
    ['a file that is not JSON', () => file('p8e-this-is-not-json'), 'credentials secret is not JSON'],
    ['JSON of no known shape', () => file('{"hello": "world"}'), 'credentials are not AEM service credentials'],
    [
      `a file over ${MAX_SECRET_BYTES} bytes, Secrets Manager's limit`,
      () => oversized,
      `"${oversized}" is larger than ${MAX_SECRET_BYTES} bytes, the most Secrets Manager stores`,
    ],
    ['an archive (a NUL byte)', ...notText(Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00))],
    ['a UTF-16 export of JSON (NUL bytes)', ...notText(Buffer.from('{"clientId": "c"}', 'utf16le'))],
    ['bytes that are not UTF-8', ...notText(Uint8Array.of(0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d))],
  ])('refuses %s on one line', async (_name, path, reason) => {
    const result = await run(['credentials', 'check', '--file', path()]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.startsWith(`ims-token: CREDENTIALS_INVALID: ${reason}`)).toBe(true);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('ims-token credentials put', () => {
  const SECRET_ID = 'adobe/aem-prod/credentials';

  /** `credentials put` of `path` with `--refresh` through the refresher function `fn`. */
  const putAndRefresh = (path: string, fn = 'f') =>
    run(['credentials', 'put', '--secret-id', SECRET_ID, '--file', path, '--refresh', '--function', fn]);
  let aem: Awaited<ReturnType<typeof generateJwtCredentials>>;
  let aemFile: string;
  beforeAll(async () => {
    aem = await generateJwtCredentials(validity(200));
    aemFile = file(aem.json);
  });
  beforeEach(() => {
    sm.on(DescribeSecretCommand, { SecretId: SECRET_ID }).resolves({
      Description: 'Adobe IMS credentials JSON for ImsTokenRefresher/AemProd (put-secret-value after deploy)',
    });
    sm.on(PutSecretValueCommand).resolves({ VersionId: 'credentials-v2' });
  });
  const refreshed = (credentialsVersionId: string) => ({
    outcome: 'refreshed',
    reason: 'forced',
    expiresAt: '2026-11-23T12:00:00.000Z',
    issuedAt: '2026-11-22T12:00:00.000Z',
    credentialsVersionId,
    credentialsExpiresAt: new Date(NOW + 200 * DAY).toISOString(),
  });

  it('uploads the file unchanged and prints the version id with the summary', async () => {
    const result = await run(['credentials', 'put', '--secret-id', SECRET_ID, '--file', aemFile]);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(sm.commandCalls(PutSecretValueCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: SECRET_ID, SecretString: aem.json },
    ]);
    expect(JSON.parse(result.stdout)).toEqual({
      uploaded: true,
      secretId: SECRET_ID,
      versionId: 'credentials-v2',
      credentials: expect.objectContaining({ valid: true, shape: 'aem-service-credentials', clientSecrets: 1 }),
    });
    expect(countSecrets(result.stdout)).toBe(0);
    expect(lambda.calls()).toHaveLength(0);
    // Checked first that the target is not a token secret: by its description, without reading its value.
    expect(sm.calls().map((call) => call.args[0].constructor.name)).toEqual([
      'DescribeSecretCommand',
      'PutSecretValueCommand',
    ]);
  });

  it(`refuses a file over ${MAX_SECRET_BYTES} bytes before any AWS call, valid credentials with spaces after them too`, async () => {
    const path = file(padded(aem.json, MAX_SECRET_BYTES + 1));
    const result = await putAndRefresh(path);
    expectOneLineFailure(
      result,
      `ims-token: CREDENTIALS_INVALID: "${path}" is larger than ${MAX_SECRET_BYTES} bytes, the most Secrets Manager stores; ` +
        'credentials JSON are a few KB: is it the file Adobe gave you?',
    );
    expect(sm.calls()).toHaveLength(0);
    expect(lambda.calls()).toHaveLength(0);
  });

  it('passes --credential to the check', async () => {
    const project = generateOAuthCredentials({ shape: 'project', otherCredentials: 2 });
    const argv = ['credentials', 'put', '--secret-id', SECRET_ID, '--file', file(project.json)];

    const without = await run(argv);
    const withName = await run([...argv, '--credential', project.integration.name]);

    expect(without.code).toBe(1);
    expect(withName.code).toBe(0);
    expect(JSON.parse(withName.stdout).credentials.credentialName).toBe(project.integration.name);
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(1);
  });

  it.each([
    [
      'an expired certificate',
      () => generateJwtCredentials({ validFrom: new Date(NOW - 400 * DAY), validTo: new Date(NOW - DAY) }),
      'expired on',
    ],
    [
      'a mismatched key',
      () => generateJwtCredentials({ ...validity(200), mismatchedKey: true }),
      'does not belong to the certificate',
    ],
    [
      'a file that is not JSON',
      async () => ({ json: '{"ok": true, "integration": ' }),
      'credentials secret is not JSON',
    ],
  ])('refuses %s: exit 1, one line, nothing uploaded', async (_name, make, reason) => {
    const { json } = await make();

    const result = await putAndRefresh(file(json));

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^ims-token: CREDENTIALS_INVALID: [^\n]+\n$/);
    expect(result.stderr).toContain(reason);
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(lambda.calls()).toHaveLength(0);
  });

  it('reports a failed upload on one line without a secret, even when the AWS error echoes the upload', async () => {
    // Other credentials of the project are in the file, but not in what the refresher uses.
    const project = generateOAuthCredentials({ shape: 'project', otherCredentials: 1 });
    sm.on(PutSecretValueCommand).rejects(
      Object.assign(new Error(`bad value: ${project.json}`), { name: 'ValidationException' }),
    );

    const result = await run([
      'credentials',
      'put',
      '--secret-id',
      SECRET_ID,
      '--file',
      file(project.json),
      '--credential',
      project.integration.name,
    ]);

    expect(countSecrets(result.stderr)).toBe(0);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `ims-token: CREDENTIALS_WRITE_FAILED: could not put the credentials into secret "${SECRET_ID}": ValidationException: bad value: [redacted]\n`,
    });
  });

  it('with --refresh, forces a refresh and prints its summary when it used the uploaded version', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(refreshed('credentials-v2')) });

    const result = await putAndRefresh(aemFile, 'aem-prod-refresher');

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const [upload, summary, ...rest] = result.stdout.trimEnd().split('\n');
    expect(JSON.parse(upload)).toMatchObject({ uploaded: true, versionId: 'credentials-v2' });
    expect(JSON.parse(summary)).toEqual(refreshed('credentials-v2'));
    expect(rest).toEqual([]);
    const input = lambda.commandCalls(InvokeCommand)[0].args[0].input;
    expect(input).toMatchObject({ FunctionName: 'aem-prod-refresher', InvocationType: 'RequestResponse' });
    expect(JSON.parse(String(input.Payload))).toEqual({ force: true });
  });

  it('with --refresh, fails when the refresher did not use the uploaded version', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(refreshed('credentials-v1')) });

    const result = await putAndRefresh(aemFile);

    expect(result.code).toBe(1);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(result.stderr).toBe(
      "ims-token: REFRESH_FAILED: the refresher did not use the uploaded version credentials-v2: it used credentials-v1; see the function's logs\n",
    );
  });

  it('with --refresh, reports a refresher that failed with the uploaded credentials, after saying they were uploaded', async () => {
    const error = { errorType: 'CredentialsError', errorMessage: 'credentials version credentials-v2 was rejected' };
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: payload(error) });

    const result = await putAndRefresh(aemFile);

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ uploaded: true, versionId: 'credentials-v2' });
    expect(result.stderr).toBe(
      'ims-token: REFRESH_FAILED: function "f" failed: CredentialsError: credentials version credentials-v2 was rejected\n',
    );
  });
});

describe('ims-token usage', () => {
  it.each([
    ['no --secret-id', [], '--secret-id is required'],
    ['an unknown flag', ['--secret-id', 's', '--verbose'], "Unknown option '--verbose'"],
    ['--header with --json', ['--secret-id', 's', '--header', '--json'], '--header and --json cannot be combined'],
    ['a stray argument', ['refesh'], "Unexpected argument 'refesh'"],
    ['refresh without --function', ['refresh'], 'refresh needs --function <name>'],
    ['a token flag on refresh', ['refresh', '--function', 'f', '--secret-id', 's'], "Unknown option '--secret-id'"],
    ['credentials without an action', ['credentials'], 'credentials needs "check", "put" or "rotate"'],
    ['an unknown credentials action', ['credentials', 'renew'], 'credentials needs "check", "put" or "rotate"'],
    ['check without --file', ['credentials', 'check'], 'credentials check needs --file <path>'],
    [
      'an AWS flag on check, which works offline',
      ['credentials', 'check', '--file', 'f', '--region', 'eu-west-1'],
      "Unknown option '--region'",
    ],
    [
      'put without --secret-id',
      ['credentials', 'put', '--file', 'f'],
      'credentials put needs --secret-id <id> and --file <path>',
    ],
    [
      'put without --file',
      ['credentials', 'put', '--secret-id', 's'],
      'credentials put needs --secret-id <id> and --file <path>',
    ],
    [
      '--refresh without --function',
      ['credentials', 'put', '--secret-id', 's', '--file', 'f', '--refresh'],
      '--refresh needs --function <name>',
    ],
    [
      '--function without --refresh',
      ['credentials', 'put', '--secret-id', 's', '--file', 'f', '--function', 'x'],
      '--function is only used with --refresh',
    ],
  ])('rejects %s with exit 2 and one line', async (_name, argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^ims-token: USAGE: .+ \(see --help\)\n$/);
    expect(result.stderr).toContain(message);
    expect(sm.calls()).toHaveLength(0);
    expect(lambda.calls()).toHaveLength(0);
  });

  it.each([[['--help']], [['refresh', '-h']], [['credentials', '--help']], [['credentials', 'put', '-h']]])(
    'prints usage for %j and exits 0',
    async (argv) => {
      const result = await run(argv);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toContain('ims-token refresh --function <name>');
      expect(result.stdout).toContain('ims-token credentials put --secret-id <id> --file <path>');
    },
  );
});

describe('ims-token as a process', () => {
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  const cli = (...args: string[]) =>
    spawnSync('node_modules/.bin/tsx', ['cli/ims-token.ts', ...args], { cwd: repoRoot, encoding: 'utf8' });

  it('exits 0 with usage on --help', () => {
    const result = cli('--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage:');
  });

  it('prints the version of package.json on --version', () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    const result = cli('--version');
    expect(result).toMatchObject({ status: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('exits 2 with one line and no stack trace on a usage error', () => {
    const result = cli('--no-such-flag');
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe("ims-token: USAGE: Unknown option '--no-such-flag' (see --help)\n");
  });
});
