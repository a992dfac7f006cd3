/**
 * The npm package as its users get it: `npm pack`, then the tarball installed into throwaway
 * projects under the OS temp dir, each a stranger to this repository.
 * - CDK apps in TypeScript, CommonJS (`module: commonjs`, node10 resolution, run with ts-node) and
 *   ES modules (`NodeNext`, compiled by tsc, run with plain node), under `strict` +
 *   `exactOptionalPropertyTypes`: `new ImsTokenRefresher(...)`, `grantRead` on their own function,
 *   synth with no esbuild, Docker or TypeScript needed for the Lambda (it ships pre-bundled).
 * - A reader-only install (no CDK): the reader from ES modules and CommonJS, and the `ims-token`
 *   command, in plain node on Node 22 and 24 (`engines`: the supported majors), against the
 *   Secrets Manager emulator.
 * Sizes (tarball, installs) go to bench/results/package-size.json for the README.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it, type ExpectStatic } from 'vitest';
import { SecretsManagerEmulator } from '../sandbox/secrets-manager-emulator.js';
import { countSecrets, registeredSecrets } from '../sandbox/secret-registry.js';
import { tokenSecretValue } from '../support/token-secret.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGE = 'ims-token-refresher';
/** This package's version, which the installed `ims-token --version` prints. */
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const REPO_VERSION = (name: string): string =>
  (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

// ---------------------------------------------------------------------------------------------
// Node binaries: 24 (the `node` devDependency, the Lambda runtime's major) and 22 (npm's
// `node@22`, the oldest supported). Found at collection, so a missing one is a visible skip.

function nodeMajor(binary: string): number | undefined {
  try {
    return Number(/^v(\d+)\./.exec(execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 }))?.[1]);
  } catch {
    return undefined;
  }
}

function findNode(major: number, candidates: string[]): string | undefined {
  return [...new Set(candidates)].find((binary) => existsSync(binary) && nodeMajor(binary) === major);
}

const pathNodes = (process.env.PATH ?? '')
  .split(delimiter)
  .filter(Boolean)
  .map((dir) => join(dir, 'node'));
const NODE_24 = findNode(24, [join(ROOT, 'node_modules', 'node', 'bin', 'node'), process.execPath, ...pathNodes]);
const NODE_22 = findNode(
  22,
  [npmNode(22)].filter((binary): binary is string => binary !== undefined),
);
const NODES = [
  { major: 24, binary: NODE_24 },
  { major: 22, binary: NODE_22 },
];

/** The binary of npm's `node@<major>` package (fetched once into npm's cache), or undefined if npm cannot get it. */
function npmNode(major: number): string | undefined {
  try {
    const npx = pathNodes
      .map((node) => join(dirname(node), 'npx'))
      .find((candidate) => !candidate.startsWith(ROOT) && existsSync(candidate));
    return (
      npx &&
      execFileSync(npx, ['-y', '-p', `node@${major}`, 'node', '-p', 'process.execPath'], {
        encoding: 'utf8',
        timeout: 120_000,
        cwd: tmpdir(),
      }).trim()
    );
  } catch {
    return undefined;
  }
}
const SYSTEM_PATH = ['/usr/local/bin', '/usr/bin', '/bin'];
/** Where the npm on PATH lives (outside this repository), for npm and npx children. */
const NPM_DIR = pathNodes.map(dirname).find((dir) => !dir.startsWith(ROOT) && existsSync(join(dir, 'npm')));

/** PATH for a child: the chosen node's directory first, then npm's and the system's; nothing from this repository. */
const pathFor = (node: string) =>
  [...new Set([dirname(node), ...(NPM_DIR ? [NPM_DIR] : []), ...SYSTEM_PATH])].join(delimiter);

// ---------------------------------------------------------------------------------------------
// Children: output captured, shown only when a command fails (with registered secrets masked).

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function mask(text: string): string {
  let masked = text;
  for (const secret of registeredSecrets) masked = masked.replaceAll(secret, '<secret>');
  return masked;
}

/** Runs a command to completion; never rejects on a non-zero exit (see `ok`). */
function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env,
        timeout: options.timeoutMs ?? 180_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number')
          reject(new Error(`${command} ${args.join(' ')}: ${error.message}`));
        else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs a command that must exit 0; on failure, the error carries its (masked) output. */
async function ok(command: string, args: readonly string[], options: Parameters<typeof run>[2]): Promise<Result> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `\`${command} ${args.join(' ')}\` in ${options.cwd} exited ${result.code}\n` +
        `--- stdout\n${mask(result.stdout)}\n--- stderr\n${mask(result.stderr)}`,
    );
  }
  return result;
}

/**
 * For npm: no AWS/CDK variables, and of the npm_* that an outer `npm test` sets only where the
 * cache and registry are (npm_config_prefix, local_prefix and the npm_package_* describe this repo).
 */
function npmEnv(node: string): NodeJS.ProcessEnv {
  const keep =
    /^(HOME|USER|TMPDIR|LANG|LC_ALL|https?_proxy|no_proxy|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|npm_config_(cache|registry|userconfig|globalconfig|cafile|ca|proxy|https_proxy|noproxy|strict_ssl|offline|prefer_offline))$/i;
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => keep.test(key)));
  return { ...env, PATH: pathFor(node), npm_config_update_notifier: 'false' };
}

/** For CDK apps: a clean environment, nothing from AWS. */
function cdkEnv(node: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: pathFor(node), HOME: process.env.HOME, CDK_DISABLE_VERSION_CHECK: '1', ...extra };
}

const npmInstall = (dir: string, specs: readonly string[]) =>
  ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...specs], {
    cwd: dir,
    env: npmEnv(NODE_24!),
    timeoutMs: 300_000,
  });

/** Bytes and files under `dir` (regular files; links not followed). */
function diskUsage(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const stat = lstatSync(join(dir, entry));
    if (stat.isFile()) {
      bytes += stat.size;
      files += 1;
    }
  }
  return { bytes, files };
}

const megabytes = (bytes: number) => Math.round(bytes / 100_000) / 10;

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

/** Starts `work` now; the returned promise may be awaited later without an unhandled rejection meanwhile. */
function started<T>(work: () => Promise<T>): Promise<T> {
  const promise = work();
  promise.catch(() => undefined);
  return promise;
}

// ---------------------------------------------------------------------------------------------
// The consumer projects.

/** One app for both module systems; it also imports the reader's types (node10 needs typesVersions). */
const CDK_APP = `import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ImsTokenRefresher, type ImsTokenRefresherProps } from 'ims-token-refresher';
import type { TokenReader, TokenReaderOptions } from 'ims-token-refresher/reader';

const outdir = process.env.CDK_OUTDIR;
if (!outdir) throw new Error('CDK_OUTDIR is not set');
const app = new App({ outdir });
const stack = new Stack(app, 'ConsumerStack');
const props: ImsTokenRefresherProps = {};
const refresher = new ImsTokenRefresher(stack, 'Token', props);
const workload = new lambda.Function(stack, 'Workload', {
  runtime: lambda.Runtime.NODEJS_24_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline('exports.handler = async () => "ok";'),
});
refresher.grantRead(workload);

// Type-level use of the reader entry: resolves under this project's moduleResolution.
const options: TokenReaderOptions = { secretId: 'adobe/token', minValidityMs: 60_000 };
export const readerType: ((options: TokenReaderOptions) => TokenReader) | undefined = undefined;
void options;

app.synth();
`;

const COMPILER_OPTIONS = {
  target: 'ES2022',
  lib: ['ES2022'],
  types: ['node'],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  // aws-cdk-lib's own declarations do not pass exactOptionalPropertyTypes (TS2415/TS2420 in
  // about 50 of them): every app with this flag needs skipLibCheck.
  skipLibCheck: true,
};

const CJS_PROJECT = {
  'package.json': JSON.stringify({ name: 'cdk-consumer-cjs', private: true }),
  // module commonjs: moduleResolution defaults to node10 (no `exports`: main/types/typesVersions).
  'tsconfig.json': JSON.stringify({
    compilerOptions: { ...COMPILER_OPTIONS, module: 'commonjs', esModuleInterop: true },
    include: ['bin'],
  }),
  'bin/app.ts': CDK_APP,
};

const ESM_PROJECT = {
  'package.json': JSON.stringify({ name: 'cdk-consumer-esm', private: true, type: 'module' }),
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      ...COMPILER_OPTIONS,
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      outDir: 'dist',
      rootDir: 'bin',
    },
    include: ['bin'],
  }),
  'bin/app.ts': CDK_APP,
};

/** The reader from plain node: prints whether the token matched (its hash is passed in), never the token. */
const READER_SCRIPTS = {
  'package.json': JSON.stringify({ name: 'reader-consumer', private: true }),
  'read.mjs': `import { createHash } from 'node:crypto';
import { createTokenReader, RefresherError, SecretStoreError, TokenContractError, TokenExpiredError } from 'ims-token-refresher/reader';
const errorClasses = [SecretStoreError, TokenContractError, TokenExpiredError].every((c) => c.prototype instanceof RefresherError);
const token = await createTokenReader({ secretId: process.env.TOKEN_SECRET_ID }).getAccessToken();
const matched = createHash('sha256').update(token).digest('hex') === process.env.EXPECTED_SHA256;
console.log(JSON.stringify({ node: process.version, resolved: import.meta.resolve('ims-token-refresher/reader'), matched, length: token.length, errorClasses }));
`,
  'read.cjs': `const { createHash } = require('node:crypto');
const { getAccessToken, RefresherError, SecretStoreError, TokenContractError, TokenExpiredError } = require('ims-token-refresher/reader');
const errorClasses = [SecretStoreError, TokenContractError, TokenExpiredError].every((c) => c.prototype instanceof RefresherError);
getAccessToken({ secretId: process.env.TOKEN_SECRET_ID }).then(
  (token) => {
    const matched = createHash('sha256').update(token).digest('hex') === process.env.EXPECTED_SHA256;
    console.log(JSON.stringify({ node: process.version, resolved: require.resolve('ims-token-refresher/reader'), matched, length: token.length, errorClasses }));
  },
  (error) => {
    console.error(error.name + ': ' + error.message);
    process.exitCode = 1;
  },
);
`,
};

// ---------------------------------------------------------------------------------------------
// Template checks.

type Resource = { Type: string; Properties: Record<string, any> };
type Template = { Resources: Record<string, Resource> };

function resourcesOf(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Checks cdk.out written by a consumer app: the pre-bundled function, and grantRead on the consumer's function. */
function checkSynth(expect: ExpectStatic, outdir: string, packageDir: string): void {
  const template = JSON.parse(readFileSync(join(outdir, 'ConsumerStack.template.json'), 'utf8')) as Template;
  const functions = resourcesOf(template, 'AWS::Lambda::Function');
  const refresher = functions.filter(([, fn]) => fn.Properties.Code?.S3Key);
  const workload = functions.filter(([, fn]) => fn.Properties.Code?.ZipFile);
  expect(refresher, 'one function from an asset (the refresher)').toHaveLength(1);
  expect(workload, "the consumer's own function").toHaveLength(1);
  const fn = refresher[0][1].Properties;
  expect(fn.Handler).toBe('index.handler');
  expect(fn.Runtime).toBe('nodejs24.x');

  // The asset is the package's pre-bundled file, byte for byte (nothing was bundled at synth).
  const manifest = JSON.parse(readFileSync(join(outdir, 'ConsumerStack.assets.json'), 'utf8')) as {
    files: Record<
      string,
      { source: { path: string; packaging?: string }; destinations: Record<string, { objectKey: string }> }
    >;
  };
  const asset = Object.values(manifest.files).find((file) =>
    Object.values(file.destinations).some((destination) => destination.objectKey === fn.Code.S3Key),
  );
  expect(asset?.source.packaging, 'the function code is a directory asset').toBe('zip');
  const assetDir = join(outdir, asset!.source.path);
  expect(readdirSync(assetDir).sort()).toEqual(['index.js', 'index.js.map', 'package.json']);
  const shipped = readFileSync(join(packageDir, 'assets', 'refresher', 'index.js'));
  expect(
    readFileSync(join(assetDir, 'index.js')).equals(shipped),
    "the asset's index.js is the package's assets/refresher/index.js",
  ).toBe(true);

  // grantRead: the consumer's role may read the token secret, and nothing of the credentials secret.
  const variables = fn.Environment.Variables as Record<string, { Ref?: string }>;
  const tokenSecret = variables.TOKEN_SECRET_ID?.Ref;
  const credentialsSecret = variables.CREDENTIALS_SECRET_ID?.Ref;
  expect(
    resourcesOf(template, 'AWS::SecretsManager::Secret')
      .map(([id]) => id)
      .sort(),
  ).toEqual([credentialsSecret, tokenSecret].sort());
  const workloadRole = (workload[0][1].Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const statements = resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, policy]) =>
      asArray(policy.Properties.Roles).some((role: { Ref?: string }) => role.Ref === workloadRole),
    )
    .flatMap(
      ([, policy]) =>
        asArray(policy.Properties.PolicyDocument.Statement) as {
          Action: string | string[];
          Resource: unknown;
          Effect: string;
        }[],
    );
  expect(statements).toContainEqual(
    expect.objectContaining({
      Effect: 'Allow',
      Action: expect.arrayContaining(['secretsmanager:GetSecretValue']),
      Resource: { Ref: tokenSecret },
    }),
  );
  expect(statements.flatMap((statement) => asArray(statement.Resource))).not.toContainEqual({ Ref: credentialsSecret });

  // No warning or error annotations for a plain use of the construct.
  const cloudAssembly = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { metadata?: Record<string, { type: string; data: unknown }[]> }>;
  };
  const annotations = Object.values(cloudAssembly.artifacts)
    .flatMap((artifact) => Object.values(artifact.metadata ?? {}).flat())
    .filter((entry) => entry.type === 'aws:cdk:warning' || entry.type === 'aws:cdk:error');
  expect(annotations).toEqual([]);
}

// ---------------------------------------------------------------------------------------------

let work: string;
let tarball: string;
let packed: { size: number; unpackedSize: number; entryCount: number; files: { path: string }[] };
let toolchain: Promise<string> | undefined;
let cdkInstall: Promise<string>;
let readerInstall: Promise<string>;
let emulator: SecretsManagerEmulator | undefined;
let token: string;
let tokenSecretArn: string;
const sizes: Record<string, unknown> = {};

/**
 * `npm pack` from a copy of the working tree (what a fresh clone has, plus uncommitted changes),
 * with this repository's node_modules linked in: prepare rebuilds dist/ and
 * assets/refresher/, and doing that in the repository would pull the asset from under the
 * construct tests running at the same time in other workers.
 */
async function pack(): Promise<void> {
  const source = join(work, 'source');
  const skip = new Set([
    'node_modules',
    '.git',
    'cdk.out',
    'cdk.context.json',
    'dist',
    'assets',
    'coverage',
    'bench/results',
    '.ci-results.json',
  ]);
  cpSync(ROOT, source, { recursive: true, filter: (path) => !skip.has(relative(ROOT, path)) });
  symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
  const out = join(work, 'tarball');
  mkdirSync(out);
  const { stdout } = await ok('npm', ['pack', '--json', '--pack-destination', out], {
    cwd: source,
    env: npmEnv(NODE_24!),
    timeoutMs: 300_000,
  });
  // The build's own output precedes npm's JSON on stdout.
  const json = stdout.slice(stdout.search(/^\[\s*$/m));
  [packed] = JSON.parse(json) as (typeof packed)[];
  const files = readdirSync(out);
  if (files.length !== 1 || !files[0].endsWith('.tgz')) throw new Error(`npm pack wrote ${files.join(', ')}`);
  tarball = join(out, files[0]);
  sizes.tarball = {
    file: files[0],
    bytes: packed.size,
    unpackedBytes: packed.unpackedSize,
    files: packed.entryCount,
    // esbuild writes the source map's paths through the linked node_modules' real path.
    note: 'packed from a copy with node_modules linked: index.js.map about 10 kB larger than a pack in place',
  };
}

/**
 * The CDK apps' toolchain, installed while the package is packed: an existing CDK app (CommonJS and
 * ES module subfolders, one node_modules) into which `npm install ims-token-refresher` then goes.
 */
async function installCdkToolchain(): Promise<string> {
  const dir = join(work, 'cdk');
  writeFiles(dir, { 'package.json': JSON.stringify({ name: 'cdk-consumers', private: true }) });
  writeFiles(join(dir, 'cjs'), CJS_PROJECT);
  writeFiles(join(dir, 'esm'), ESM_PROJECT);
  await npmInstall(dir, [
    `aws-cdk-lib@${REPO_VERSION('aws-cdk-lib')}`,
    `constructs@${REPO_VERSION('constructs')}`,
    'typescript@5.9',
    'ts-node@10',
    '@types/node@24',
  ]);
  return dir;
}

async function installCdkConsumers(toolchain: Promise<string>): Promise<string> {
  const dir = await toolchain;
  await npmInstall(dir, [tarball]);
  const usage = diskUsage(join(dir, 'node_modules'));
  sizes.cdkConsumer = {
    megabytes: megabytes(usage.bytes),
    ...usage,
    with: ['aws-cdk-lib', 'constructs', 'typescript', 'ts-node', '@types/node', 'ims-token-refresher'],
  };
  return dir;
}

/** The tarball alone: what an application that only reads the token installs. */
async function installReader(): Promise<string> {
  const dir = join(work, 'reader');
  writeFiles(dir, READER_SCRIPTS);
  await npmInstall(dir, [tarball]);
  const usage = diskUsage(join(dir, 'node_modules'));
  sizes.readerOnly = { megabytes: megabytes(usage.bytes), ...usage };
  return dir;
}

beforeAll(async () => {
  if (!NODE_24) throw new Error('no Node 24 binary (the `node` devDependency): run `npm ci`');
  work = mkdtempSync(join(tmpdir(), 'ims-token-consumers-'));
  toolchain = started(installCdkToolchain);
  await pack();
  cdkInstall = started(() => installCdkConsumers(toolchain!));
  readerInstall = started(installReader);
  emulator = await SecretsManagerEmulator.start();
  token = `consumer-${randomBytes(24).toString('base64url')}`;
  tokenSecretArn = emulator.create('adobe/consumer-token', tokenSecretValue(token, Date.now()));
}, 300_000);

afterAll(async () => {
  await Promise.allSettled([toolchain, cdkInstall, readerInstall]);
  await emulator?.close();
  if (sizes.tarball) {
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(
      join(ROOT, 'bench', 'results', 'package-size.json'),
      `${JSON.stringify({ measuredAt: new Date().toISOString(), ...sizes }, null, 2)}\n`,
    );
  }
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

// Generous: the tests wait for the installs (npm, from the local cache) that the hook started.
describe.concurrent('the npm package, installed from its tarball', { timeout: 300_000 }, () => {
  it('ships the built code, the pre-bundled Lambda and the legal files, and no sources or tests', ({ expect }) => {
    const paths = packed.files.map((file) => file.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'LICENSE',
        'README.md',
        'config.schema.json',
        'assets/refresher/index.js',
        'dist/cjs/package.json',
      ]),
    );
    const unexpected = paths.filter(
      (path) =>
        !/^(package\.json|LICENSE|README\.md|config\.schema\.json|assets\/refresher\/.+|dist\/(esm|cjs)\/.+\.(js|d\.ts)|dist\/cjs\/package\.json)$/.test(
          path,
        ),
    );
    expect(unexpected).toEqual([]);
    expect(
      paths.filter((path) => /(^|\/)test\//.test(path) || (path.endsWith('.ts') && !path.endsWith('.d.ts'))),
    ).toEqual([]);
  });

  describe.concurrent('a CDK app', () => {
    it('in CommonJS (module commonjs, node10 resolution, ts-node) type-checks and synths without esbuild', async ({
      expect,
    }) => {
      const dir = await cdkInstall;
      expect(existsSync(join(dir, 'node_modules', 'esbuild')), 'esbuild is not installed').toBe(false);
      expect(existsSync(join(dir, 'node_modules', '.bin', 'esbuild'))).toBe(false);
      // The peers are the app's own: no second aws-cdk-lib or constructs under the package.
      for (const peer of ['aws-cdk-lib', 'constructs'])
        expect(existsSync(join(dir, 'node_modules', PACKAGE, 'node_modules', peer)), peer).toBe(false);
      const project = join(dir, 'cjs');
      const tsc = await ok(
        NODE_24!,
        [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', project],
        {
          cwd: project,
          env: cdkEnv(NODE_24!),
        },
      );
      expect(tsc.stdout + tsc.stderr).toBe('');
      const outdir = join(project, 'cdk.out');
      // tsc has just type-checked the app: ts-node only transpiles.
      const synth = await ok(NODE_24!, ['-r', 'ts-node/register', 'bin/app.ts'], {
        cwd: project,
        env: cdkEnv(NODE_24!, { CDK_OUTDIR: outdir, TS_NODE_TRANSPILE_ONLY: 'true' }),
      });
      expect(synth.stdout + synth.stderr).toBe('');
      checkSynth(expect, outdir, join(dir, 'node_modules', PACKAGE));
    });

    it('as ES modules (NodeNext) compiles with tsc and synths in plain node', async ({ expect }) => {
      const dir = await cdkInstall;
      const project = join(dir, 'esm');
      const tsc = await ok(NODE_24!, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], {
        cwd: project,
        env: cdkEnv(NODE_24!),
      });
      expect(tsc.stdout + tsc.stderr).toBe('');
      const outdir = join(project, 'cdk.out');
      const synth = await ok(NODE_24!, ['dist/app.js'], {
        cwd: project,
        env: cdkEnv(NODE_24!, { CDK_OUTDIR: outdir }),
      });
      expect(synth.stdout + synth.stderr).toBe('');
      checkSynth(expect, outdir, join(dir, 'node_modules', PACKAGE));
    });
  });

  describe.concurrent('a reader-only install (no CDK)', () => {
    it('runs on every major `engines` admits and Lambda runs: Node 22 (the floor) and 24', ({ expect }) => {
      const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } })
        .engines.node;
      expect(engines).toBe('>=22');
      expect(NODES.map(({ major }) => major)).toEqual([24, 22]);
    });

    it('has no aws-cdk-lib and stays small', async ({ expect }) => {
      const dir = await readerInstall;
      expect(existsSync(join(dir, 'node_modules', 'aws-cdk-lib'))).toBe(false);
      expect(existsSync(join(dir, 'node_modules', 'constructs'))).toBe(false);
      expect((sizes.readerOnly as { megabytes: number }).megabytes).toBeLessThan(30);
    });

    /** The children's environment: the emulator, dummy credentials, no AWS config files, no IMDS. */
    const readerEnv = (node: string): NodeJS.ProcessEnv => ({
      ...emulator!.env(),
      PATH: pathFor(node),
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'consumer-test',
      AWS_SECRET_ACCESS_KEY: 'consumer-test',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      TOKEN_SECRET_ID: tokenSecretArn,
      EXPECTED_SHA256: createHash('sha256').update(token).digest('hex'),
    });

    for (const { major, binary } of NODES) {
      const absent = binary ? '' : ` (skipped: no Node ${major} binary in /usr/local/bin, /usr/bin or PATH)`;

      for (const [script, format] of [
        ['read.mjs', 'esm'],
        ['read.cjs', 'cjs'],
      ] as const) {
        it.skipIf(!binary)(`reads the token with plain node ${major} from ${script}${absent}`, async ({ expect }) => {
          const dir = await readerInstall;
          const result = await ok(binary!, [script], { cwd: dir, env: readerEnv(binary!) });
          expect(countSecrets(result.stdout + result.stderr), 'the token in the output').toBe(0);
          expect(result.stderr).toBe('');
          const printed = JSON.parse(result.stdout) as {
            node: string;
            resolved: string;
            matched: boolean;
            length: number;
          };
          // The documented error classes are exported, for instanceof.
          expect(printed).toMatchObject({ matched: true, length: token.length, errorClasses: true });
          expect(printed.node).toMatch(new RegExp(`^v${major}\\.`));
          expect(printed.resolved.replace(/^file:\/\//, '')).toContain(
            `/node_modules/${PACKAGE}/dist/${format}/reader/index.js`,
          );
        });
      }

      it.skipIf(!binary)(
        `runs the ims-token command on node ${major}: --help, --version, and --json without the token${absent}`,
        async ({ expect }) => {
          const dir = await readerInstall;
          const bin = join(dir, 'node_modules', '.bin', 'ims-token');
          const env = readerEnv(binary!);
          const version = await ok('/usr/bin/env', ['node', '--version'], { cwd: dir, env });
          expect(version.stdout, 'the node the #! line finds').toMatch(new RegExp(`^v${major}\\.`));

          const help = await ok(bin, ['--help'], { cwd: dir, env });
          expect(help.stdout).toContain('ims-token --secret-id <id>');
          expect(help.stderr).toBe('');

          const installed = await ok(bin, ['--version'], { cwd: dir, env });
          expect(installed).toMatchObject({ stdout: `${PACKAGE_VERSION}\n`, stderr: '' });

          const json = await ok(bin, ['--json', '--secret-id', tokenSecretArn], { cwd: dir, env });
          expect(countSecrets(json.stdout + json.stderr), 'the token in the output').toBe(0);
          expect(json.stderr).toBe('');
          const metadata = JSON.parse(json.stdout) as Record<string, unknown>;
          expect(metadata).not.toHaveProperty('access_token');
          expect(metadata).toMatchObject({
            token_type: 'bearer',
            client_id: 'cm-p123-e456-integration',
            credentials_type: 'jwt',
          });
        },
      );
    }

    it('runs through npx: `npx ims-token --help` prints the usage', async ({ expect }) => {
      const dir = await readerInstall;
      const result = await ok('npx', ['ims-token', '--help'], { cwd: dir, env: npmEnv(NODE_24!) });
      expect(result.stdout).toContain('ims-token --secret-id <id>');
    });
  });
});
