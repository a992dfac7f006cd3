import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The refresher as `cdk synth` left it in cdk.out: its bundle directory and its configuration. */
export interface SynthesizedFunction {
  readonly assetDir: string;
  /** `index.handler` → file `index.js`, export `handler`. */
  readonly handler: string;
  /** Environment variables from the template; values that were CloudFormation references are omitted. */
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

/** The parts of a synthesized template these helpers read. */
export interface Template {
  readonly Resources: Record<string, TemplateResource>;
  readonly Outputs?: Record<string, { readonly Value: unknown }>;
}

interface TemplateResource {
  readonly Type: string;
  readonly Properties: {
    readonly Code: { readonly S3Key: string };
    readonly Handler: string;
    readonly Environment?: { readonly Variables?: Record<string, unknown> };
    readonly Timeout: number;
    readonly MemorySize: number;
    /** A secret's physical name, when the template sets one. */
    readonly Name?: string;
  };
}

/**
 * What `Ref` stands for once deployed, by a resource's logical id or a pseudo parameter's name
 * (`AWS::Region`): e.g. the ARNs an emulator gave the template's secrets.
 */
export type References = Readonly<Record<string, string>>;

/** A template value as CloudFormation resolves it: a string, or `Ref` and `Fn::Join` over `refs`; else undefined. */
export function resolveValue(value: unknown, refs: References): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  if ('Ref' in value) return refs[String(value.Ref)];
  if (!('Fn::Join' in value)) return undefined;
  const [separator, parts] = value['Fn::Join'] as [string, unknown[]];
  const resolved = parts.map((part) => resolveValue(part, refs));
  return resolved.every((part) => part !== undefined) ? resolved.join(separator) : undefined;
}

/**
 * `cdk synth` in `root` as `npm run synth` runs it, kept off the network: no notices, no
 * telemetry, and none of this machine's AWS profiles or credentials. Throws with the CLI's output.
 */
export function synthesize(root: string, extraArgs: readonly string[] = []): void {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
  const result = spawnSync(join(root, 'node_modules/.bin/cdk'), ['synth', '--quiet', '--no-notices', ...extraArgs], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...env,
      CDK_DISABLE_VERSION_CHECK: '1',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      AWS_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
  if (result.status !== 0)
    throw new Error(`cdk synth failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
}

/** The template of `stackName` in a cloud assembly directory. */
export function readTemplate(cdkOut: string, stackName: string): Template {
  const templatePath = join(cdkOut, `${stackName}.template.json`);
  if (!existsSync(templatePath)) throw new Error(`${templatePath} not found: run "npm run synth" first`);
  return JSON.parse(readFileSync(templatePath, 'utf8')) as Template;
}

/**
 * The refresher functions of a synthesized stack, in template order. Their environment values are
 * resolved over `refs` (see `resolveValue`); values that stay CloudFormation references are omitted.
 */
export function synthesizedFunctions(cdkOut: string, stackName: string, refs: References = {}): SynthesizedFunction[] {
  return Object.values(readTemplate(cdkOut, stackName).Resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.TOKEN_SECRET_ID)
    .map((fn) => {
      const hash = fn.Properties.Code.S3Key.replace(/\.zip$/, '');
      const assetDir = resolve(cdkOut, `asset.${hash}`);
      if (!existsSync(assetDir))
        throw new Error(`bundle ${assetDir} not found (run "npm run synth" again: it copies assets/refresher)`);
      const environment = Object.fromEntries(
        Object.entries(fn.Properties.Environment?.Variables ?? {}).flatMap(([name, value]) => {
          const resolved = resolveValue(value, refs);
          return resolved === undefined ? [] : [[name, resolved]];
        }),
      );
      return {
        assetDir,
        handler: fn.Properties.Handler,
        environment,
        timeoutSeconds: fn.Properties.Timeout,
        memoryMb: fn.Properties.MemorySize,
      };
    });
}

/** The first refresher function of a synthesized stack (see `synthesizedFunctions`). */
export function synthesizedFunction(cdkOut = 'cdk.out', stackName = 'ImsTokenRefresher'): SynthesizedFunction {
  const [fn] = synthesizedFunctions(cdkOut, stackName);
  if (!fn) throw new Error(`no refresher function in ${join(cdkOut, `${stackName}.template.json`)}`);
  return fn;
}

export interface Invocation {
  /** What the handler returned, or undefined when it threw. */
  readonly result?: unknown;
  /** The error the handler threw, as the Lambda runtime reports it. */
  readonly error?: {
    errorType: string;
    errorMessage: string;
    code?: string;
    trace: string[];
    [field: string]: unknown;
  };
  /** Everything the function wrote to stdout and stderr (its logs and metrics). */
  readonly logs: string;
  /** Wall time from spawning the process to its exit: a cold start plus the invocation. */
  readonly durationMs: number;
  /** What the process measured of itself. */
  readonly measured: {
    /** Loading the bundle (`require`): the cold start the code adds to Node's own. */
    readonly importMs: number;
    /** The handler call alone. */
    readonly invokeMs: number;
    /** User + system CPU of the whole process: Node's start, the import and the invocation. */
    readonly cpuMs: number;
    /** Peak resident set size of the process. */
    readonly maxRssMb: number;
  };
}

const RESULT_MARK = '\u0000RESULT ';

/**
 * Loads the bundle in a fresh Node process as the Lambda runtime does (require the handler file,
 * call the export with the event and a context), reports the outcome after the logs, and exits
 * at once as a frozen Lambda sandbox would not wait for the event loop to drain either.
 */
const HARNESS = `
const started = Date.now();
const [file, exportName] = [process.env.BUNDLE_FILE, process.env.BUNDLE_EXPORT];
const deadline = started + Number(process.env.BUNDLE_TIMEOUT_MS);
const context = {
  awsRequestId: require('node:crypto').randomUUID(),
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  getRemainingTimeInMillis: () => deadline - Date.now(),
};
const measured = {};
const report = (outcome) => {
  const cpu = process.cpuUsage();
  measured.cpuMs = (cpu.user + cpu.system) / 1000;
  measured.maxRssMb = process.resourceUsage().maxRSS / 1024;
  const line = JSON.stringify({ ...outcome, measured });
  process.stdout.write('\\n' + ${JSON.stringify(RESULT_MARK)} + line + '\\n', () => process.exit(0));
};
Promise.resolve()
  .then(() => {
    const importStarted = performance.now();
    const handler = require(file)[exportName];
    measured.importMs = performance.now() - importStarted;
    const invokeStarted = performance.now();
    return Promise.resolve(handler(JSON.parse(process.env.BUNDLE_EVENT), context)).finally(() => {
      measured.invokeMs = performance.now() - invokeStarted;
    });
  })
  .then(
    (result) => report({ result }),
    // As the runtime reports it (type, message, trace), plus every enumerable field, so scans see them all.
    (error) => report({ error: { ...error, errorType: error.name, errorMessage: error.message, trace: String(error.stack).split('\\n') } }),
  );
`;

export interface InvokeOptions {
  readonly event: unknown;
  /** Added to (or replacing) the template's environment. */
  readonly env: Record<string, string>;
  /** The function timeout for this invocation (remaining time and kill timer). @default fn.timeoutSeconds */
  readonly timeoutSeconds?: number;
}

/** The JSON objects among the lines of a function's output: its Powertools log lines and EMF metrics. */
export function logRecords(logs: string): Record<string, unknown>[] {
  return logs.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      const record = JSON.parse(line) as Record<string, unknown> | null;
      return typeof record === 'object' && record !== null && !Array.isArray(record) ? [record] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Invokes the synthesized bundle once in a child process (the Node binary running this code) with
 * the template's environment plus `env`. The child sees no AWS configuration of this machine:
 * dummy credentials, no config files, no instance metadata. It is killed when its timeout passes,
 * as Lambda ends an invocation: then there is no result, and this rejects.
 *
 * The bundle runs from a copy in a fresh temporary directory, as Lambda runs it from /var/task:
 * in cdk.out it sits below this project's package.json, whose `"type": "module"` would make Node
 * load the CommonJS bundle as an ES module.
 */
export function invokeBundle(fn: SynthesizedFunction, options: InvokeOptions): Promise<Invocation> {
  const [file, exportName] = fn.handler.split('.');
  const timeoutSeconds = options.timeoutSeconds ?? fn.timeoutSeconds;
  const started = Date.now();
  const taskRoot = mkdtempSync(join(tmpdir(), 'lambda-task-'));
  cpSync(fn.assetDir, taskRoot, { recursive: true });
  const child = spawn(process.execPath, ['-e', HARNESS], {
    cwd: taskRoot,
    env: {
      PATH: process.env.PATH,
      ...fn.environment,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'sandbox',
      AWS_SECRET_ACCESS_KEY: 'sandbox',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: 'ims-token-refresher',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      // As Lambda sets it: the bundle builds the named handler at init.
      _HANDLER: fn.handler,
      LAMBDA_TASK_ROOT: taskRoot,
      ...options.env,
      BUNDLE_FILE: join(taskRoot, `${file}.js`),
      BUNDLE_EXPORT: exportName,
      BUNDLE_EVENT: JSON.stringify(options.event),
      BUNDLE_TIMEOUT_MS: String(timeoutSeconds * 1000),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  return new Promise((resolvePromise, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutSeconds * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(taskRoot, { recursive: true, force: true });
      const at = output.lastIndexOf(RESULT_MARK);
      if (at < 0) {
        const how = timedOut ? `timed out after ${timeoutSeconds} s` : `exited with ${code}`;
        reject(new Error(`bundle ${how} without a result:\n${output.slice(-2000)}`));
        return;
      }
      // stdout and stderr (Powertools writes ERROR lines there) are separate pipes: a line written
      // before the result may arrive after it, so only the result line itself is cut out.
      const end = output.indexOf('\n', at);
      const outcome = JSON.parse(output.slice(at + RESULT_MARK.length, end));
      resolvePromise({
        ...outcome,
        logs: output.slice(0, at) + output.slice(end + 1),
        durationMs: Date.now() - started,
      });
    });
  });
}
