/**
 * The `ims-token` CLI: prints the access token held in a token secret (or a curl header, or the
 * token's metadata), or forces a deployed refresher to refresh. `bin/ims-token.ts` runs it; this
 * module only exports `main`, so tests call it with fake streams and clients.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { RefresherError } from '../lambda/errors.js';
import { createTokenReader, DEFAULT_MIN_VALIDITY_MS } from '../lambda/reader.js';
import { redact, redactedJson } from '../lambda/redact.js';
import { secretsManagerClient } from '../lambda/secrets-manager-store.js';

const USAGE = `Usage:
  ims-token --secret-id <id> [--header | --json] [--region <region>]
  ims-token refresh --function <name> [--region <region>]

Prints the access token in a token secret; refuses one that is expired or expires within ${DEFAULT_MIN_VALIDITY_MS / 60_000} minutes.
  --secret-id <id>     name or ARN of the token secret (stack output …TokenSecretArn)
  --header             print "Authorization: Bearer <token>", for curl -H
  --json               print the token's metadata (expires_at, issued_at, client_id, …) without the token
  refresh              force a refresh: invoke the refresher with {"force": true} and print its summary
  --function <name>    name or ARN of the refresher function (stack output …FunctionName)
  --region <region>    AWS region (default: the SDK's chain, e.g. AWS_REGION or the profile's region)
  -h, --help           print this help

Exit codes: 0 ok; 1 failed (no or expired token, AWS error, refresh failed); 2 usage error.
`;

/** Where output goes, and the clients and clock to use instead of the defaults (tests inject fakes). */
export interface CliDeps {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** @default - a client for `--region` or the SDK's default chain */
  readonly secretsClient?: SecretsManagerClient;
  /** @default - a client for `--region` or the SDK's default chain */
  readonly lambdaClient?: LambdaClient;
  /** @default Date.now */
  readonly now?: () => number;
}

const COMMON = { region: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
const TOKEN_OPTIONS = { ...COMMON, 'secret-id': { type: 'string' }, header: { type: 'boolean' }, json: { type: 'boolean' } } as const;
const REFRESH_OPTIONS = { ...COMMON, function: { type: 'string' } } as const;

class UsageError extends Error {}

const OUTCOMES = new Set<unknown>(['refreshed', 'skipped', 'failed']);

/** Runs the CLI; returns the exit code: 0 ok, 1 operational failure, 2 usage error. */
export async function main(argv: readonly string[], deps: CliDeps): Promise<number> {
  try {
    return argv[0] === 'refresh' ? await refresh(argv.slice(1), deps) : await printToken(argv, deps);
  } catch (error) {
    if (error instanceof UsageError) return fail(deps, 'USAGE', `${error.message} (see --help)`);
    if (error instanceof RefresherError) return fail(deps, error.code, error.message + causeOf(error));
    return fail(deps, 'INTERNAL_ERROR', describeError(error));
  }
}

async function printToken(args: readonly string[], deps: CliDeps): Promise<number> {
  const values = parse(args, TOKEN_OPTIONS);
  if (values.help) return help(deps);
  const secretId = values['secret-id'];
  if (!secretId) throw new UsageError('--secret-id is required');
  if (values.header && values.json) throw new UsageError('--header and --json cannot be combined');
  const client = deps.secretsClient ?? secretsManagerClient(regionConfig(values.region));
  const record = await createTokenReader({ secretId, client, now: deps.now }).get();
  if (values.json) {
    const { access_token: _token, ...metadata } = record;
    deps.stdout.write(`${redactedJson(metadata, 2)}\n`);
  } else {
    deps.stdout.write(values.header ? `Authorization: Bearer ${record.access_token}\n` : `${record.access_token}\n`);
  }
  return 0;
}

async function refresh(args: readonly string[], deps: CliDeps): Promise<number> {
  const values = parse(args, REFRESH_OPTIONS);
  if (values.help) return help(deps);
  const functionName = values.function;
  if (!functionName) throw new UsageError('refresh needs --function <name>');
  const client = deps.lambdaClient ?? new LambdaClient(regionConfig(values.region));
  let out: InvokeCommandOutput;
  try {
    out = await client.send(
      new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: JSON.stringify({ force: true }) }),
    );
  } catch (error) {
    return fail(deps, 'REFRESH_FAILED', `could not invoke function "${functionName}": ${describeError(error)}`);
  }
  const payload = parsePayload(out.Payload);
  if (out.FunctionError) {
    return fail(deps, 'REFRESH_FAILED', `function "${functionName}" failed: ${payload.errorType}: ${payload.errorMessage}`);
  }
  if (!OUTCOMES.has(payload.outcome)) {
    return fail(deps, 'REFRESH_FAILED', `function "${functionName}" did not return a refresher summary`);
  }
  // The answer is text from elsewhere: only the summary's own fields, each through the redaction boundary.
  const { outcome, reason, expiresAt } = payload;
  deps.stdout.write(`${redactedJson({ outcome, reason, expiresAt })}\n`);
  return 0;
}

/** Strict parsing: an unknown flag or a stray argument is a usage error. */
function parse<T extends ParseArgsOptionsConfig>(args: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function help(deps: CliDeps): number {
  deps.stdout.write(USAGE);
  return 0;
}

/**
 * One line on stderr: never a stack trace. The message passes the redaction boundary: it may
 * carry text from AWS or from the function's answer (untrusted, may hold CR/LF or a token).
 */
function fail(deps: CliDeps, code: string, message: string): number {
  deps.stderr.write(`ims-token: ${code}: ${redact(message)}\n`);
  return code === 'USAGE' ? 2 : 1;
}

function regionConfig(region: string | undefined) {
  return region ? { region } : {};
}

/** The Lambda's JSON answer: the summary, or `{errorType, errorMessage}` for a function error. */
function parsePayload(payload: Uint8Array | undefined): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(payload));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function causeOf(error: RefresherError): string {
  return error.cause === undefined ? '' : ` (${describeError(error.cause)})`;
}
