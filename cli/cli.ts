/**
 * The `ims-token` CLI: prints the access token held in a token secret (or a curl header, or the
 * token's metadata), forces a deployed refresher to refresh, checks and uploads credentials, and
 * rotates the client secret now (`credentials rotate`, rotate.ts).
 * `bin/ims-token.ts` runs it; this module only exports `main`, so tests call it with fake streams
 * and clients.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { RefresherError, SecretStoreError } from '../common/errors.js';
import { createTokenReader, DEFAULT_MIN_VALIDITY_MS } from '../reader/index.js';
import type { TokenRecord } from '../common/token.js';
import { redact, redactedJson } from '../common/redact.js';
import { CREDENTIALS_EXPIRY_WARNING_DAYS } from '../common/rules.js';
import { secretsManagerClient } from '../common/secrets-manager-store.js';
import { checkCredentials, MAX_SECRET_VALUE_BYTES } from './credentials-file.js';
import { describeError, Failure, UsageError } from './failure.js';
import {
  DEFAULT_ROTATION_TIMEOUT_SECONDS,
  MAX_ROTATION_TIMEOUT_SECONDS,
  rotate as startRotation,
  ROTATION_POLL_MS,
} from './rotate.js';
import { refuseTokenSecret } from './target.js';
import { packageVersion } from './version.js';

const USAGE = `Usage:
  ims-token --secret-id <id> [--header | --json] [--region <region>]
  ims-token --version
  ims-token refresh --function <name> [--region <region>]
  ims-token credentials check --file <path> [--credential <name>]
  ims-token credentials put --secret-id <id> --file <path> [--credential <name>]
                            [--refresh --function <name>] [--region <region>]
  ims-token credentials rotate --secret-id <id> [--wait [--timeout-seconds <n>]] [--json] [--region <region>]

Prints the access token in a token secret; refuses one that is expired or expires within ${DEFAULT_MIN_VALIDITY_MS / 60_000} minutes.
  --secret-id <id>     name or ARN of the token secret (stack output …TokenSecretArn)
  --header             print "Authorization: Bearer <token>", for curl -H
  --json               print the token contract's fields but the token (expires_at, issued_at, client_id,
                       …), and nothing else stored beside them
  refresh              force a refresh: invoke the refresher with {"force": true} and print its summary
  --function <name>    name or ARN of the refresher function (stack output …FunctionName)
  credentials check    check a credentials JSON file offline (shape, key and certificate, days until the
                       certificate expires, IMS host) and print a summary without secrets; refuses a file
                       over ${MAX_SECRET_VALUE_BYTES} bytes (Secrets Manager's limit) or not UTF-8 text, and an expired
                       certificate; warns when it expires within ${CREDENTIALS_EXPIRY_WARNING_DAYS.default} days
  credentials put      the same check, then upload the file unchanged to the credentials secret
                       (--secret-id: stack output …CredentialsSecretId) and print the new version id;
                       refuses a token secret, by its description (needs secretsmanager:DescribeSecret)
                       or, when it can read it, its value
  --file <path>        the credentials JSON as the AEM or Adobe Developer Console downloads it
  --credential <name>  name or id of the OAuth Server-to-Server credential to use in a Developer Console
                       project download that holds several; the refresher needs the same in its
                       "credentialName" configuration key
  --refresh            after the upload, force a refresh (needs --function) and fail unless the
                       refresher used the uploaded version
  credentials rotate   rotate the client secret now: RotateSecret on the credentials secret (--secret-id:
                       stack output …CredentialsSecretId) with the rotation function and schedule of
                       "rotateClientSecret"; prints the new version id. Reads no secret value
  --wait               then follow the staging labels (every ${ROTATION_POLL_MS / 1000} s) and report createSecret (the new
                       version is AWSPENDING) and finishSecret (AWSCURRENT moved to it); fails with
                       ROTATION_FAILED, naming the rotation function's log group, when the rotation does not
                       finish in time or Secrets Manager refuses (e.g. a previous rotation isn't complete)
  --timeout-seconds <n>  how long --wait waits (1-${MAX_ROTATION_TIMEOUT_SECONDS}; default ${DEFAULT_ROTATION_TIMEOUT_SECONDS})
  --json               (rotate) print one JSON object at the end instead of lines: secretId, versionId (the new
                       version), previousVersionId (AWSCURRENT before), waited, and with --wait createSecret and
                       finishSecret ("succeeded") and elapsedSeconds
  --region <region>    AWS region (default: the SDK's chain, e.g. AWS_REGION or the profile's region)
  --version            print the version of ims-token
  -h, --help           print this help

Exit codes: 0 ok; 1 failed (no or expired token, invalid or expired credentials, a token secret named
for credentials, AWS error, refresh or rotation failed); 2 usage error.
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
  /** How `credentials rotate --wait` waits between reads. @default - a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

const COMMON = { region: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
const TOKEN_OPTIONS = {
  ...COMMON,
  'secret-id': { type: 'string' },
  header: { type: 'boolean' },
  json: { type: 'boolean' },
  version: { type: 'boolean' },
} as const;
const REFRESH_OPTIONS = { ...COMMON, function: { type: 'string' } } as const;
const CHECK_OPTIONS = { help: COMMON.help, file: { type: 'string' }, credential: { type: 'string' } } as const;
const PUT_OPTIONS = {
  ...COMMON,
  ...CHECK_OPTIONS,
  'secret-id': { type: 'string' },
  refresh: { type: 'boolean' },
  function: { type: 'string' },
} as const;

const ROTATE_OPTIONS = {
  ...COMMON,
  'secret-id': { type: 'string' },
  wait: { type: 'boolean' },
  'timeout-seconds': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const OUTCOMES = new Set<unknown>(['refreshed', 'skipped', 'superseded', 'failed']);

/** Runs the CLI; returns the exit code: 0 ok, 1 operational failure, 2 usage error. */
export async function main(argv: readonly string[], deps: CliDeps): Promise<number> {
  try {
    const command = argv[0] === 'refresh' ? refresh : argv[0] === 'credentials' ? credentials : undefined;
    return command ? await command(argv.slice(1), deps) : await printToken(argv, deps);
  } catch (error) {
    if (error instanceof UsageError) return fail(deps, 'USAGE', `${error.message} (see --help)`);
    if (error instanceof Failure) return fail(deps, error.code, error.message);
    if (error instanceof RefresherError) return fail(deps, error.code, error.message + causeOf(error));
    return fail(deps, 'INTERNAL_ERROR', describeError(error));
  }
}

async function printToken(args: readonly string[], deps: CliDeps): Promise<number> {
  const values = parse(args, TOKEN_OPTIONS);
  if (values.help) return help(deps);
  if (values.version) {
    deps.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const secretId = values['secret-id'];
  if (!secretId) throw new UsageError('--secret-id is required');
  if (values.header && values.json) throw new UsageError('--header and --json cannot be combined');
  const client = deps.secretsClient ?? secretsManagerClient(regionConfig(values.region));
  const record = await createTokenReader({ secretId, client, now: deps.now }).get();
  if (values.json) {
    deps.stdout.write(`${redactedJson(metadataOf(record), 2)}\n`);
  } else {
    deps.stdout.write(values.header ? `Authorization: Bearer ${record.access_token}\n` : `${record.access_token}\n`);
  }
  return 0;
}

/** The token contract's fields but the token: `--json` prints these, and nothing stored beside them. */
const METADATA_FIELDS = {
  token_type: true,
  issued_at: true,
  expires_at: true,
  client_id: true,
  ims_endpoint: true,
  credentials_version_id: true,
  credentials_type: true,
  client_secret_uuid: true,
} as const satisfies Record<Exclude<keyof TokenRecord, 'access_token'>, true>;

function metadataOf(record: TokenRecord): Record<string, unknown> {
  const fields = Object.keys(METADATA_FIELDS) as (keyof typeof METADATA_FIELDS)[];
  return Object.fromEntries(fields.map((field) => [field, record[field]]));
}

async function refresh(args: readonly string[], deps: CliDeps): Promise<number> {
  const values = parse(args, REFRESH_OPTIONS);
  if (values.help) return help(deps);
  if (!values.function) throw new UsageError('refresh needs --function <name>');
  await forceRefresh(values.function, values.region, deps);
  return 0;
}

/** Invokes the refresher with {"force": true}, prints its summary (never the token) and returns it. */
async function forceRefresh(
  functionName: string,
  region: string | undefined,
  deps: CliDeps,
): Promise<Record<string, unknown>> {
  const client = deps.lambdaClient ?? new LambdaClient(regionConfig(region));
  let out: InvokeCommandOutput;
  try {
    out = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'RequestResponse',
        Payload: JSON.stringify({ force: true }),
      }),
    );
  } catch (error) {
    throw new Failure('REFRESH_FAILED', `could not invoke function "${functionName}": ${describeError(error)}`);
  }
  const payload = parsePayload(out.Payload);
  if (out.FunctionError) {
    throw new Failure(
      'REFRESH_FAILED',
      `function "${functionName}" failed: ${String(payload.errorType)}: ${String(payload.errorMessage)}`,
    );
  }
  if (!OUTCOMES.has(payload.outcome)) {
    throw new Failure('REFRESH_FAILED', `function "${functionName}" did not return a refresher summary`);
  }
  if (payload.outcome === 'failed') {
    // A transient failure: the refresher returns it (the next scheduled run retries) instead of throwing.
    const message = `${String(payload.errorCode)}: ${String(payload.errorMessage)}`;
    throw new Failure(
      'REFRESH_FAILED',
      `function "${functionName}" failed: ${redact(message)} (transient: the next scheduled run retries)`,
    );
  }
  // The answer is text from elsewhere: only the summary's own fields, each through the redaction boundary.
  const { outcome, reason, expiresAt, issuedAt, credentialsVersionId, credentialsExpiresAt } = payload;
  const summary = { outcome, reason, expiresAt, issuedAt, credentialsVersionId, credentialsExpiresAt };
  deps.stdout.write(`${redactedJson(summary)}\n`);
  return summary;
}

async function credentials(args: readonly string[], deps: CliDeps): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'check') return check(rest, deps);
  if (action === 'put') return put(rest, deps);
  if (action === 'rotate') return rotate(rest, deps);
  if (action === '-h' || action === '--help') return help(deps);
  throw new UsageError('credentials needs "check", "put" or "rotate"');
}

async function check(args: readonly string[], deps: CliDeps): Promise<number> {
  const values = parse(args, CHECK_OPTIONS);
  if (values.help) return help(deps);
  if (!values.file) throw new UsageError('credentials check needs --file <path>');
  const { summary } = checkCredentials(values.file, values.credential, (deps.now ?? Date.now)(), deps.stderr);
  deps.stdout.write(`${redactedJson(summary, 2)}\n`);
  return 0;
}

async function put(args: readonly string[], deps: CliDeps): Promise<number> {
  const values = parse(args, PUT_OPTIONS);
  if (values.help) return help(deps);
  const secretId = values['secret-id'];
  if (!secretId || !values.file) throw new UsageError('credentials put needs --secret-id <id> and --file <path>');
  if (values.refresh && !values.function) throw new UsageError('--refresh needs --function <name>');
  if (values.function && !values.refresh) throw new UsageError('--function is only used with --refresh');
  const { text, summary } = checkCredentials(values.file, values.credential, (deps.now ?? Date.now)(), deps.stderr);
  const client = deps.secretsClient ?? secretsManagerClient(regionConfig(values.region));
  await refuseTokenSecret(client, secretId);
  let versionId: string | undefined;
  try {
    // The file as it is: the refresher parses the same text that was checked.
    ({ VersionId: versionId } = await client.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: text }),
    ));
  } catch (error) {
    throw new Failure(
      'CREDENTIALS_WRITE_FAILED',
      `could not put the credentials into secret "${secretId}": ${describeError(error)}`,
    );
  }
  deps.stdout.write(`${redactedJson({ uploaded: true, secretId, versionId, credentials: summary })}\n`);
  if (!values.refresh || !values.function) return 0;
  const refreshed = await forceRefresh(values.function, values.region, deps);
  const used = refreshed.credentialsVersionId;
  if (versionId === undefined || used !== versionId) {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the function reports a string; anything else prints as String() does
    const instead = used === undefined ? 'it reported no version' : `it used ${String(used)}`;
    throw new Failure(
      'REFRESH_FAILED',
      `the refresher did not use the uploaded version ${versionId}: ${instead}; see the function's logs`,
    );
  }
  return 0;
}

async function rotate(args: readonly string[], deps: CliDeps): Promise<number> {
  const values = parse(args, ROTATE_OPTIONS);
  if (values.help) return help(deps);
  const secretId = values['secret-id'];
  if (!secretId) throw new UsageError('credentials rotate needs --secret-id <id>');
  const timeout = values['timeout-seconds'];
  if (timeout !== undefined && !values.wait) throw new UsageError('--timeout-seconds is only used with --wait');
  const timeoutSeconds = timeout === undefined ? DEFAULT_ROTATION_TIMEOUT_SECONDS : Number(timeout);
  if (!/^\d+$/.test(timeout ?? '1') || timeoutSeconds < 1 || timeoutSeconds > MAX_ROTATION_TIMEOUT_SECONDS) {
    throw new UsageError(`--timeout-seconds must be a whole number from 1 to ${MAX_ROTATION_TIMEOUT_SECONDS}`);
  }
  await startRotation(
    { secretId, wait: values.wait ?? false, timeoutSeconds, json: values.json ?? false },
    {
      stdout: deps.stdout,
      secretsClient: deps.secretsClient ?? secretsManagerClient(regionConfig(values.region)),
      lambdaClient: () => deps.lambdaClient ?? new LambdaClient(regionConfig(values.region)),
      now: deps.now ?? Date.now,
      sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    },
  );
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

function causeOf(error: RefresherError): string {
  // A SecretStoreError's message already ends with its cause's message.
  if (error.cause === undefined || error instanceof SecretStoreError) return '';
  return ` (${describeError(error.cause)})`;
}
