/**
 * Issue 21, item 4: every configuration that synthesizes deploys. A matrix of configurations, up
 * to the limits the loader accepts, goes through the real CDK app (bin/app.ts, as
 * `cdk synth -c config=<file>` runs it); every template it writes must pass cfn-lint (the
 * CloudFormation resource schemas) and the deploy limits of test/support/deploy-limits.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedSecretPolicyProblems, templateProblems, type SynthesizedTemplate } from '../support/deploy-limits.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEFAULT_STACK = 'ImsTokenRefresher';

/** One run of the app: its configuration file, and whether a config error may refuse it. */
interface MatrixRun {
  readonly name: string;
  readonly config: { readonly tokens: readonly Record<string, unknown>[]; readonly [key: string]: unknown };
  /**
   * A configuration past an AWS limit that the loader does not bound (a list's length, a URL's):
   * synth may refuse it with a config error instead of writing templates. A run that may be
   * refused holds one such case, so that no refusal hides another case.
   */
  readonly mayRefuse?: boolean;
}

const pad = (prefix: string, length: number, fill = 'x') => prefix.padEnd(length, fill);
const ACCOUNT = '111122223333';
/** The longest IAM role ARN: a 512-character path and a 64-character name, in the longest partition. */
const longestRoleArn = (index: number) =>
  `arn:aws-us-gov:iam::${ACCOUNT}:role/${pad(`/p${index}`, 511)}/${pad(`reader-${index}-`, 64)}`;
/** The longest secret name the loader accepts. */
const longestSecretName = (prefix: string) => pad(`adobe/${prefix}/`, 512);
/** The longest stack name the loader accepts. */
const LONGEST_STACK = pad('Longest-stack-name-', 128);
const readers = (count: number) => Array.from({ length: count }, (_, index) => longestRoleArn(index));

const RUNS: readonly MatrixRun[] = [
  {
    name: 'features',
    config: {
      tokens: [
        { name: 'defaults' },
        { name: 'jwt', credentialsType: 'jwt', stack: 'CredentialsTypes' },
        { name: 'oauth', credentialsType: 'oauth', stack: 'CredentialsTypes' },
        { name: 'emailed', alarmEmail: 'oncall@example.com', stack: 'AlarmTargets' },
        { name: 'topic', alarmTopicArn: `arn:aws:sns:eu-west-1:${ACCOUNT}:oncall`, stack: 'AlarmTargets' },
        { name: 'keyed', encryptionKey: 'create', stack: 'CreatedKey' },
        {
          name: 'shared-out',
          encryptionKey: 'create',
          crossAccountReaders: [
            '444455556666',
            'arn:aws:iam::777788889999:role/reader',
            'arn:aws:iam::777788889999:root',
          ],
          stack: 'CrossAccount',
        },
        {
          name: 'external-key',
          encryptionKey: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
          crossAccountReaders: ['444455556666'],
          stack: 'CrossAccount',
        },
        { name: 'replicated', replicaRegions: ['us-east-1', 'ap-southeast-2'], stack: 'Replicas' },
        {
          name: 'restricted',
          restrictTokenReaders: true,
          tokenReaders: [`arn:aws:iam::${ACCOUNT}:role/app`],
          restrictCredentialsReaders: true,
          credentialsReaders: [`arn:aws:iam::${ACCOUNT}:role/break-glass`],
          stack: 'RestrictedReaders',
        },
        // The Developer Console project download with two credentials, in one existing secret.
        ...['author', 'publish'].map((credentialName) => ({
          name: `shared-${credentialName}`,
          credentialsSecret: 'adobe/aem-prod-project',
          credentialName,
          restrictCredentialsReaders: true,
          stack: 'SharedSecret',
        })),
        // The bounded values at both ends.
        { name: 'fastest', scheduleMinutes: 1, logRetentionDays: 1, stack: 'Extremes' },
        { name: 'longest-kept', logRetentionDays: 3653, stack: 'Extremes' },
        { name: 'warned-early', credentialsExpiryWarning: 365, reservedConcurrency: false, stack: 'Extremes' },
        { name: 'warned-late', credentialsExpiryWarning: 1, stack: 'Extremes' },
      ],
    },
  },
  {
    // Issue 23: the locked-down network (a VPC, a created Secrets Manager endpoint shared by two tokens, a
    // proxy with credentials), also across two stacks; the app's guard rules run with CT.LAMBDA.PR.3 unacknowledged.
    name: 'locked-down',
    config: {
      httpsProxy: 'http://proxy.corp.example.com:3128',
      proxyCredentialsSecret: 'corp/proxy-login',
      tokens: [
        ...['locked', 'locked-too', 'locked-elsewhere'].map((name, index) => ({
          name,
          vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'] },
          secretsManagerEndpoint: 'create',
          ...(index === 2 ? { stack: 'LockedDown', noProxy: ['.corp.example.com'] } : {}),
        })),
        {
          name: 'own-groups',
          vpc: { vpcId: 'vpc-0fedcba987654321f', subnetIds: ['subnet-0ccc3333'], securityGroupIds: ['sg-0ddd4444'] },
          secretsManagerEndpoint: 'existing',
          stack: 'LockedDown',
        },
        { name: 'proxy-only', stack: 'ProxyOnly' },
      ],
    },
  },
  {
    // The README's 100 tokens, 20 a stack, with the dashboard (in the first stack) on.
    name: 'fleet',
    config: {
      tokens: Array.from({ length: 100 }, (_, index) => ({
        name: pad(`aem-${String(index).padStart(3, '0')}-`, 40),
        stack: `Fleet${Math.floor(index / 20)}`,
      })),
      dashboard: true,
    },
  },
  {
    name: 'longest-names',
    mayRefuse: true,
    config: {
      alarmTopicArn: `arn:aws-us-gov:sns:us-gov-west-1:${ACCOUNT}:${pad('oncall-', 256)}`,
      tokens: [
        {
          name: pad('a-', 40),
          stack: LONGEST_STACK,
          credentialsSecret: longestSecretName('a'),
          tokenSecretName: longestSecretName('a-token'),
          encryptionKey: 'create',
          crossAccountReaders: [longestRoleArn(0)],
          replicaRegions: ['ap-southeast-7'],
        },
        {
          name: pad('b-', 40),
          stack: LONGEST_STACK,
          credentialsSecret: `arn:aws-us-gov:secretsmanager:us-gov-west-1:${ACCOUNT}:secret:${longestSecretName('b')}-AbCdEf`,
          tokenSecretName: longestSecretName('b-token'),
          encryptionKey: `arn:aws-us-gov:kms:us-gov-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
          restrictCredentialsReaders: true,
          credentialsReaders: [longestRoleArn(1)],
          restrictTokenReaders: true,
          tokenReaders: [longestRoleArn(2)],
        },
      ],
    },
  },
  {
    name: 'long-credential-name',
    mayRefuse: true,
    config: { tokens: [{ name: 'named', credentialName: pad('Credential ', 4000), credentialsType: 'oauth' }] },
  },
  {
    name: 'long-ims-url',
    mayRefuse: true,
    config: { tokens: [{ name: 'proxied', imsBaseUrl: pad('https://ims-proxy.example.com/', 4000, 'p') }] },
  },
  {
    name: 'many-readers',
    mayRefuse: true,
    config: {
      tokens: [
        {
          name: 'popular',
          encryptionKey: 'create',
          crossAccountReaders: readers(20),
          restrictTokenReaders: true,
          tokenReaders: readers(40).slice(20),
          restrictCredentialsReaders: true,
          credentialsReaders: readers(60).slice(40),
        },
      ],
    },
  },
  {
    // refreshThreshold at both ends, with the fastest and the slowest schedule the construct allows.
    name: 'threshold-extremes',
    mayRefuse: true,
    config: {
      tokens: [
        { name: 'eager', scheduleMinutes: 1, refreshThreshold: 0.9999 },
        { name: 'patient', scheduleMinutes: 719, refreshThreshold: 0.9999 },
        { name: 'last-minute', scheduleMinutes: 1, refreshThreshold: 0.004 },
      ],
    },
  },
  {
    name: 'reserved-names',
    mayRefuse: true,
    config: { tokens: [{ name: 'BootstrapVersion' }, { name: 'CDKMetadata', stack: 'Metadata' }] },
  },
];

/** The stacks a run's configuration names, in order. */
const stacksOf = (run: MatrixRun) => [
  ...new Set(run.config.tokens.map((token) => String(token.stack ?? DEFAULT_STACK))),
];

/** cdk.json's context as the CDK CLI passes it, with version reporting on, and no configuration of its own. */
function cliContext(configFile: string): Record<string, unknown> {
  const { context } = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const { imsTokenRefresher: _sample, ...flags } = context;
  return {
    ...flags,
    'aws:cdk:version-reporting': true,
    'aws:cdk:enable-path-metadata': true,
    'aws:cdk:enable-asset-metadata': true,
    config: configFile,
  };
}

interface Outcome {
  readonly status: number | null;
  readonly stderr: string;
  readonly templates: ReadonlyMap<string, SynthesizedTemplate & { readonly file: string }>;
}

/** Runs the app on `run`'s configuration, as `cdk synth -c config=<file> -o <dir>` would. */
function synthesize(run: MatrixRun, dir: string): Promise<Outcome> {
  const configFile = join(dir, `${run.name}.json`);
  const outdir = join(dir, run.name);
  writeFileSync(configFile, JSON.stringify(run.config));
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['bin/app.ts'], {
    cwd: ROOT,
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(cliContext(configFile)) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      const templates = new Map(
        status === 0
          ? stacksOf(run).map((stack) => {
              const file = join(outdir, `${stack}.template.json`);
              const text = readFileSync(file, 'utf8');
              return [
                stack,
                { name: stack, file, text, template: JSON.parse(text) as SynthesizedTemplate['template'] },
              ];
            })
          : [],
      );
      resolve({ status, stderr, templates });
    });
  });
}

/** `tasks` run at most `width` at a time (the machine has two cores). */
async function pooled<T>(tasks: readonly (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]();
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return results;
}

/** One cfn-lint finding, as `--format json` reports it. */
interface LintFinding {
  readonly Filename: string;
  readonly Level: string;
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Path: readonly (string | number)[] };
}

/**
 * cfn-lint's findings that are acceptable: W3005 ("dependency already enforced by a GetAtt") is
 * the CDK's own belt-and-braces `DependsOn`, which CloudFormation accepts.
 */
const ACCEPTED_LINT_RULES = new Set(['W3005']);

const cfnLintFound = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;
/** CI must check the schemas: `.ci/run` sets REQUIRE_CFN_LINT, and so does any CI that sets CI=true. */
const cfnLintRequired = process.env.CI === 'true' || process.env.REQUIRE_CFN_LINT === '1';
if (!cfnLintFound && !cfnLintRequired) {
  console.warn(
    'templates.test.ts: cfn-lint is not on PATH; the CloudFormation schema checks are skipped (pip install cfn-lint)',
  );
}

/** cfn-lint over `files` in one process: its findings that are not accepted, by file. */
function cfnLint(files: readonly string[]): Promise<Map<string, string[]>> {
  const child = spawn('cfn-lint', ['--format', 'json', '--', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => {
      let findings: LintFinding[];
      try {
        findings = JSON.parse(stdout) as LintFinding[];
      } catch {
        reject(new Error(`cfn-lint gave no JSON report: ${stderr.trim() || stdout.trim()}`));
        return;
      }
      const byFile = new Map<string, string[]>();
      for (const finding of findings.filter((found) => !ACCEPTED_LINT_RULES.has(found.Rule.Id))) {
        const line = `${finding.Rule.Id} ${finding.Location.Path.join('.')}: ${finding.Message}`;
        byFile.set(finding.Filename, [...(byFile.get(finding.Filename) ?? []), line]);
      }
      resolve(byFile);
    });
  });
}

/**
 * cfn-lint over `files` in two processes, one a core, the files dealt by size so that both take
 * about as long; its findings by file.
 */
async function cfnLintOnBothCores(files: readonly string[]): Promise<Map<string, string[]>> {
  const bySize = [...files].sort((a, b) => statSync(b).size - statSync(a).size);
  const halves = [0, 1].map((half) => bySize.filter((_, index) => index % 2 === half));
  const reports = await Promise.all(halves.filter((half) => half.length > 0).map(cfnLint));
  return new Map(reports.flatMap((report) => [...report]));
}

/** A refusal as issue 21 asks for it: config errors only, each naming its token. */
const REFUSAL = /^ims-token-refresher: config error:\n(?: {2}\S+: tokens\[.*\n)+$/;

/** A template with one schema error that cfn-lint must report: proof that it runs and is read. */
const LINT_CANARY = {
  Resources: { Canary: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 2 } } },
};

describe('every synthesized template of the configuration matrix', () => {
  const outcomes = new Map<string, Outcome>();
  let lintFindings = new Map<string, string[]>();
  let canaryFile = '';

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ims-matrix-'));
    const results = await pooled(
      RUNS.map((run) => () => synthesize(run, dir)),
      2,
    );
    RUNS.forEach((run, index) => outcomes.set(run.name, results[index]));
    canaryFile = join(dir, 'canary.template.json');
    writeFileSync(canaryFile, JSON.stringify(LINT_CANARY));
    const files = results.flatMap((outcome) => [...outcome.templates.values()].map(({ file }) => file));
    if (cfnLintFound) lintFindings = await cfnLintOnBothCores([canaryFile, ...files]);
  }, 1_200_000);

  it('has cfn-lint where the schema checks are required (CI)', () => {
    expect(cfnLintFound || !cfnLintRequired, 'cfn-lint is not on PATH (pip install cfn-lint)').toBe(true);
  });

  it.skipIf(!cfnLintFound)('reads what cfn-lint reports: the error planted in a canary template', () => {
    expect(lintFindings.get(canaryFile)).toEqual([
      expect.stringMatching(/^E3030 Resources\.Canary\.Properties\.RetentionInDays: /),
    ]);
  });

  describe.each(RUNS)('$name', (run) => {
    const title = `%s passes ${cfnLintFound ? 'cfn-lint and ' : ''}the deploy limits`;
    it.each(stacksOf(run))(title, (stack) => {
      expect(problems(run, stack)).toEqual([]);
    });
  });

  /**
   * What keeps `stack` of `run` from deploying: cfn-lint's findings on its template, the deploy
   * limits it breaks, and a resource policy it shares a secret with; none for a run that may be
   * refused and was, as REFUSAL says.
   */
  function problems(run: MatrixRun, stack: string): string[] {
    const { status, stderr, templates } = outcomes.get(run.name)!;
    if (status !== 0) {
      return run.mayRefuse && REFUSAL.test(stderr) ? [] : [`synth exited with ${status}`, ...stderr.split('\n', 5)];
    }
    const synthesized = templates.get(stack)!;
    const shared = sharedSecretPolicyProblems([...templates.values()]).filter((line) => line.includes(`${stack}: `));
    return [...(lintFindings.get(synthesized.file) ?? []), ...templateProblems(synthesized), ...shared];
  }
});
