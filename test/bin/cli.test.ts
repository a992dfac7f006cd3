import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.js';
import { fakeClock } from '../support/fakes.js';
import { tokenSecretValue } from '../support/token-secret.js';

const HOUR = 3_600_000;
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

  it('prints the metadata without the token with --json', async () => {
    const result = await run(['--secret-id', 'adobe/token', '--json']);
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

  it.each([
    ['an expired token', { advance: 25 * HOUR }, 'ims-token: TOKEN_EXPIRED: the token in secret "adobe/token" expired at 2026-11-23T12:00:00.000Z'],
    ['a token inside the margin', { advance: 24 * HOUR - 60_000 }, 'ims-token: TOKEN_EXPIRED: the token in secret "adobe/token" expires at'],
    ['the placeholder', { value: 'r4nd0m-placeholder-value' }, 'ims-token: TOKEN_INVALID: token secret is not JSON: no token yet'],
  ])('refuses %s: exit 1, one line on stderr, no token anywhere', async (_name, secret, line) => {
    const result = await run(['--secret-id', 'adobe/token', '--header'], secret);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.startsWith(line)).toBe(true);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toContain(TOKEN);
  });

  it('reports an AWS failure with its cause on one line and exits 1', async () => {
    sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const result = await run(['--secret-id', 'other']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'ims-token: SECRET_READ_FAILED: could not read secret "other" (AccessDeniedException: not authorized)\n',
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
    const summary = { outcome: 'refreshed', reason: 'forced', expiresAt: '2026-11-23T12:00:00.000Z' };
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(summary) });

    const result = await run(['refresh', '--function', 'aem-prod-refresher']);

    expect(result).toEqual({ code: 0, stdout: `${JSON.stringify(summary)}\n`, stderr: '' });
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ FunctionName: 'aem-prod-refresher', InvocationType: 'RequestResponse' });
    expect(JSON.parse(String(input.Payload))).toEqual({ force: true });
  });

  it('prints only the summary\'s fields, each through the redaction boundary', async () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const hostile = { outcome: 'refreshed', reason: `forced\u2028${jwt}`, expiresAt: 'x\r\ny', extra: jwt };
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(hostile) });

    const result = await run(['refresh', '--function', 'f']);

    expect(result.stdout).toBe('{"outcome":"refreshed","reason":"forced [redacted]","expiresAt":"x  y"}\n');
  });

  it.each([
    [
      'a function error',
      { StatusCode: 200, FunctionError: 'Unhandled', Payload: payload({ errorType: 'ImsError', errorMessage: 'IMS rejected', trace: ['at x'] }) },
      'ims-token: REFRESH_FAILED: function "f" failed: ImsError: IMS rejected\n',
    ],
    [
      'a function error whose text carries CR/LF and a JWT (untrusted, e.g. an older refresher echoing IMS)',
      {
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: payload({ errorType: 'ImsError', errorMessage: 'IMS said\r\nforged line eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' }),
      },
      'ims-token: REFRESH_FAILED: function "f" failed: ImsError: IMS said  forged line [redacted]\n',
    ],
    [
      'a summary whose outcome is not one of ours',
      { StatusCode: 200, Payload: payload({ outcome: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' }) },
      'ims-token: REFRESH_FAILED: function "f" did not return a refresher summary\n',
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
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' }));
    const result = await run(['refresh', '--function', 'f']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'ims-token: REFRESH_FAILED: could not invoke function "f": ResourceNotFoundException: Function not found\n',
    });
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
  ])('rejects %s with exit 2 and one line', async (_name, argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^ims-token: USAGE: .+ \(see --help\)\n$/);
    expect(result.stderr).toContain(message);
    expect(sm.calls()).toHaveLength(0);
    expect(lambda.calls()).toHaveLength(0);
  });

  it.each([[['--help']], [['refresh', '-h']]])('prints usage for %j and exits 0', async (argv) => {
    const result = await run(argv);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('ims-token refresh --function <name>');
  });
});

describe('ims-token as a process', () => {
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  const cli = (...args: string[]) =>
    spawnSync('node_modules/.bin/tsx', ['bin/ims-token.ts', ...args], { cwd: repoRoot, encoding: 'utf8' });

  it('exits 0 with usage on --help', () => {
    const result = cli('--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage:');
  });

  it('exits 2 with one line and no stack trace on a usage error', () => {
    const result = cli('--no-such-flag');
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe("ims-token: USAGE: Unknown option '--no-such-flag' (see --help)\n");
  });
});
