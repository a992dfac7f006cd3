/**
 * `npm run cost`: what a healthy month costs per token, by item, at list prices. The resources
 * come from synthesized templates (the default configuration, and 100 tokens 20 a stack); what
 * one run does (its EMF metrics, log bytes, Secrets Manager calls, time and CPU) comes from one
 * sandbox refresh and one skip of the bundled function. The month is replayed hour by hour with
 * the function's own refresh rule (`isDue`). Exits 1 if a token-month costs more than the goal.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDue } from '../lambda/policy.js';
import type { TokenRecord } from '../common/token.js';
import { logRecords, synthesize, synthesizedFunction, type SynthesizedFunction } from '../test/sandbox/bundle.js';
import { LocalRefresher, type Run } from '../test/sandbox/local-refresher.js';
import { generateJwtCredentials } from '../test/sandbox/test-credentials.js';
import { ROOT } from '../scripts/bundle.js';
import { DEFAULTS, synthesizeRepo } from '../scripts/synth.js';

/** us-east-1 list prices, free tiers ignored, as published on this date. */
export const PRICES_DATE = '2026-11-24';
export const PRICES = {
  secretMonth: 0.4,
  secretsManagerPer10kCalls: 0.05,
  /** A standard-resolution alarm, per metric it evaluates. */
  alarmMonth: 0.1,
  highResolutionAlarmMonth: 0.3,
  /** Billed per hour in which the metric is sent: $0.30 for a metric sent every hour of a month. */
  customMetricMonth: 0.3,
  dashboardMonth: 3,
  kmsKeyMonth: 1,
  kmsPer10kRequests: 0.03,
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaX86PerGbSecond: 0.0000166667,
  lambdaPerMillionRequests: 0.2,
  schedulerPerMillionInvocations: 1,
  logsIngestPerGb: 0.5,
  logsStoragePerGbMonth: 0.03,
  /**
   * An interface VPC endpoint, per Availability Zone (one subnet each) and hour, and per GB it
   * processes (first PB tier): https://aws.amazon.com/privatelink/pricing/
   */
  interfaceEndpointAzHour: 0.01,
  interfaceEndpointPerGb: 0.01,
  /** A NAT gateway, per hour and per GB processed: https://aws.amazon.com/vpc/pricing/ */
  natGatewayHour: 0.045,
  natGatewayPerGb: 0.045,
  /** The NAT gateway's Elastic IP, a public IPv4 address in use: https://aws.amazon.com/vpc/pricing/ */
  publicIpv4Hour: 0.005,
} as const;

export const GOAL_PER_TOKEN_MONTH = 1.75;
export const HOURS_PER_MONTH = 730;
/** Lambda gives a function one full vCPU at 1,769 MB and a proportional share below. */
const LAMBDA_MB_PER_VCPU = 1769;
const GB = 1024 ** 3;

/**
 * What Lambda itself writes to the log group per cold invocation in JSON log format (initStart,
 * start, report; documented shapes with typical values). An hourly function is cold every time.
 */
const PLATFORM_RECORDS = [
  {
    time: '2026-11-24T12:00:00.000Z',
    type: 'platform.initStart',
    record: {
      initializationType: 'on-demand',
      phase: 'init',
      runtimeVersion: 'nodejs:24.v20',
      runtimeVersionArn:
        'arn:aws:lambda:us-east-1::runtime:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      functionName: 'ImsTokenRefresher-aemprodFunction6F4761BE-AbCdEfGhIjKl',
      functionVersion: '$LATEST',
      instanceId: '2026/11/24/[$LATEST]0123456789abcdef0123456789abcdef',
      instanceMaxMemory: 134217728,
    },
  },
  {
    time: '2026-11-24T12:00:00.500Z',
    type: 'platform.start',
    record: { requestId: '01234567-89ab-cdef-0123-456789abcdef', version: '$LATEST' },
  },
  {
    time: '2026-11-24T12:00:01.500Z',
    type: 'platform.report',
    record: {
      requestId: '01234567-89ab-cdef-0123-456789abcdef',
      metrics: {
        durationMs: 1000.123,
        billedDurationMs: 1500,
        memorySizeMB: 128,
        maxMemoryUsedMB: 90,
        initDurationMs: 500.123,
      },
      status: 'success',
    },
  },
];
const PLATFORM_LOG_BYTES = PLATFORM_RECORDS.reduce((sum, record) => sum + JSON.stringify(record).length + 1, 0);

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
}

/** The billable resources of an app, from its synthesized templates. */
export interface Inventory {
  readonly tokens: number;
  readonly secrets: number;
  /** Alarm-months, each weighted by the metrics it evaluates; high resolution apart. */
  readonly alarms: number;
  readonly highResolutionAlarms: number;
  readonly dashboards: number;
  readonly kmsKeys: number;
  /** Scheduled invocations of each refresher a month. */
  readonly runsPerMonth: number;
  readonly memoryMb: number;
  readonly arm64: boolean;
  readonly retentionDays: number;
  readonly refreshThreshold: number;
  /** Availability Zones of the Secrets Manager endpoints the app creates: one per endpoint subnet. */
  readonly endpointAzs: number;
}

/** The refresher's handler in the bundle; the rotation function's is `index.rotationHandler`. */
const REFRESHER_HANDLER = 'index.handler';

const RATE_HOURS: Record<string, number> = { minute: 1 / 60, minutes: 1 / 60, hour: 1, hours: 1, day: 24, days: 24 };

function schedulePeriodHours(expression: string): number {
  const match = /^rate\((\d+) (\w+)\)$/.exec(expression);
  if (!match || !RATE_HOURS[match[2]]) throw new Error(`cannot price the schedule ${expression}`);
  return Number(match[1]) * RATE_HOURS[match[2]];
}

function single<T>(values: readonly T[], what: string): T {
  const distinct = [...new Set(values.map((value) => JSON.stringify(value)))];
  if (distinct.length !== 1)
    throw new Error(`expected one ${what} across the refreshers, found ${distinct.join(', ') || 'none'}`);
  return values[0];
}

/** Counts what is billed in the templates of one app (every stack of one `cdk synth`). */
export function inventory(templates: readonly { readonly Resources: Record<string, Resource> }[]): Inventory {
  const resources = templates.flatMap((template) => Object.values(template.Resources));
  const ofType = (type: string) => resources.filter((resource) => resource.Type === type);
  // The refreshers: a rotation function (`rotateClientSecret`) is priced by `rotationCost`.
  const functions = ofType('AWS::Lambda::Function').filter(
    (fn) => fn.Properties?.Handler === REFRESHER_HANDLER && fn.Properties.Environment?.Variables?.TOKEN_SECRET_ID,
  );
  const alarmMetrics = (alarm: Resource) =>
    alarm.Properties?.MetricName
      ? 1
      : (alarm.Properties?.Metrics ?? []).filter((metric: any) => metric.MetricStat).length;
  const highResolution = (alarm: Resource) => (alarm.Properties?.Period ?? 60) < 60;
  const alarms = ofType('AWS::CloudWatch::Alarm');
  const schedules = ofType('AWS::Scheduler::Schedule').filter(
    (schedule) => !JSON.stringify(schedule.Properties?.Target?.Input ?? '').includes('retireCheck'),
  );
  if (schedules.length !== functions.length)
    throw new Error(`${functions.length} refreshers but ${schedules.length} schedules`);
  return {
    tokens: functions.length,
    secrets: ofType('AWS::SecretsManager::Secret').reduce(
      (sum, secret) => sum + 1 + (secret.Properties?.ReplicaRegions?.length ?? 0),
      0,
    ),
    alarms: alarms.filter((alarm) => !highResolution(alarm)).reduce((sum, alarm) => sum + alarmMetrics(alarm), 0),
    highResolutionAlarms: alarms.filter(highResolution).reduce((sum, alarm) => sum + alarmMetrics(alarm), 0),
    dashboards: ofType('AWS::CloudWatch::Dashboard').length,
    kmsKeys: ofType('AWS::KMS::Key').length,
    runsPerMonth:
      HOURS_PER_MONTH /
      single(
        schedules.map((s) => schedulePeriodHours(s.Properties!.ScheduleExpression)),
        'schedule',
      ),
    memoryMb: single(
      functions.map((fn) => fn.Properties!.MemorySize as number),
      'memory size',
    ),
    arm64: single(
      functions.map((fn) => (fn.Properties!.Architectures ?? ['x86_64'])[0] === 'arm64'),
      'architecture',
    ),
    retentionDays: single(
      ofType('AWS::Logs::LogGroup').map((group) => group.Properties?.RetentionInDays ?? 3653),
      'log retention',
    ),
    refreshThreshold: single(
      functions.map((fn) => Number(fn.Properties!.Environment.Variables.REFRESH_THRESHOLD)),
      'refresh threshold',
    ),
    endpointAzs: ofType('AWS::EC2::VPCEndpoint').reduce(
      (sum, endpoint) => sum + (endpoint.Properties?.SubnetIds?.length ?? 0),
      0,
    ),
  };
}

/** What one run did, from its output and the emulators. */
export interface RunProfile {
  /** Custom metrics it sent (each metric name × dimension set of its EMF lines). */
  readonly customMetrics: number;
  readonly logBytes: number;
  readonly secretsManagerCalls: number;
  /** Calls that make Secrets Manager use KMS (reading or writing a secret value). */
  readonly kmsRequests: number;
  /** Wall time of the cold process, and its CPU time (Node's start, the import, the invocation). */
  readonly wallMs: number;
  readonly cpuMs: number;
}

export function runProfile(run: Run): RunProfile {
  const metrics = logRecords(run.logs).flatMap((record) => {
    const directives =
      (record._aws as { CloudWatchMetrics?: { Metrics: unknown[]; Dimensions: unknown[] }[] } | undefined)
        ?.CloudWatchMetrics ?? [];
    return directives.map((directive) => directive.Metrics.length * Math.max(1, directive.Dimensions.length));
  });
  return {
    customMetrics: metrics.reduce((sum, count) => sum + count, 0),
    logBytes: Buffer.byteLength(run.logs) + PLATFORM_LOG_BYTES,
    secretsManagerCalls: run.secretsManagerCalls.length,
    kmsRequests: run.secretsManagerCalls.filter(
      (call) => call.action === 'GetSecretValue' || call.action === 'PutSecretValue',
    ).length,
    wallMs: run.durationMs,
    cpuMs: run.measured.cpuMs,
  };
}

/**
 * Refreshing runs in a month: the month replayed at the schedule's period with the function's
 * own rule, each refresh storing a token of `lifetimeMs`.
 */
export function refreshesPerMonth(runsPerMonth: number, lifetimeMs: number, threshold: number): number {
  const periodMs = (HOURS_PER_MONTH * 3_600_000) / runsPerMonth;
  let token: Pick<TokenRecord, 'issued_at' | 'expires_at'> | undefined;
  let refreshes = 0;
  for (let run = 0; run < runsPerMonth; run += 1) {
    const now = run * periodMs;
    if (token && !isDue(token, now, threshold)) continue;
    token = { issued_at: new Date(now).toISOString(), expires_at: new Date(now + lifetimeMs).toISOString() };
    refreshes += 1;
  }
  return refreshes;
}

export interface CostLine {
  readonly item: string;
  readonly basis: string;
  /** Dollars per token-month. */
  readonly perToken: number;
}

export interface MonthlyCost {
  readonly lines: readonly CostLine[];
  /** Per token-month, without the dashboard. */
  readonly perToken: number;
  /** The app's dashboards, per month (counted apart: one per app at most, and optional). */
  readonly dashboards: number;
}

const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

/** The cost of a healthy month per token, by item. Pure: everything measured comes in. */
export function monthlyCost(
  app: Inventory,
  runs: { readonly refresh: RunProfile; readonly skip: RunProfile; readonly refreshes: number },
): MonthlyCost {
  const n = app.tokens;
  const skips = app.runsPerMonth - runs.refreshes;
  const perRun = (pick: (profile: RunProfile) => number) =>
    runs.refreshes * pick(runs.refresh) + skips * pick(runs.skip);
  // A metric is billed for each hour it is sent in; each run is in its own hour at most once.
  const metricHours = perRun((profile) => profile.customMetrics);
  const billedMs = (profile: RunProfile) =>
    Math.max(profile.wallMs, profile.cpuMs * (LAMBDA_MB_PER_VCPU / app.memoryMb));
  const gbSeconds = (perRun(billedMs) / 1000) * (app.memoryMb / 1024);
  const logGb = perRun((profile) => profile.logBytes) / GB;
  const retentionMonths = app.retentionDays / (365 / 12);
  const lines: CostLine[] = [
    {
      item: 'secrets',
      basis: `${fmt(app.secrets / n)} × $${PRICES.secretMonth}`,
      perToken: (app.secrets / n) * PRICES.secretMonth,
    },
    {
      item: 'alarms',
      basis: `${fmt(app.alarms / n)} × $${PRICES.alarmMonth}${app.highResolutionAlarms ? ` + ${fmt(app.highResolutionAlarms / n)} high-resolution` : ''}`,
      perToken: (app.alarms * PRICES.alarmMonth + app.highResolutionAlarms * PRICES.highResolutionAlarmMonth) / n,
    },
    {
      item: 'custom metrics',
      basis: `${fmt(metricHours)} metric-hours of ${HOURS_PER_MONTH} (${runs.refreshes} refreshing runs × ${runs.refresh.customMetrics}, ${skips} skips × ${runs.skip.customMetrics})`,
      perToken: (metricHours / HOURS_PER_MONTH) * PRICES.customMetricMonth,
    },
    {
      item: 'KMS keys',
      basis: `${fmt(app.kmsKeys / n, 2)} × $${PRICES.kmsKeyMonth}`,
      perToken: (app.kmsKeys / n) * PRICES.kmsKeyMonth,
    },
    {
      item: 'Secrets Manager API',
      basis: `${fmt(
        perRun((p) => p.secretsManagerCalls),
        0,
      )} calls`,
      perToken: (perRun((p) => p.secretsManagerCalls) / 10_000) * PRICES.secretsManagerPer10kCalls,
    },
    {
      item: 'KMS API (by Secrets Manager)',
      basis: `${fmt(
        perRun((p) => p.kmsRequests),
        0,
      )} requests`,
      perToken: (perRun((p) => p.kmsRequests) / 10_000) * PRICES.kmsPer10kRequests,
    },
    {
      item: 'Lambda requests',
      basis: `${fmt(app.runsPerMonth, 0)} invocations`,
      perToken: (app.runsPerMonth / 1e6) * PRICES.lambdaPerMillionRequests,
    },
    {
      item: 'Lambda GB-s',
      basis: `${fmt(gbSeconds)} GB-s (${app.memoryMb} MB ${app.arm64 ? 'arm64' : 'x86_64'}, init billed)`,
      perToken: gbSeconds * (app.arm64 ? PRICES.lambdaArmPerGbSecond : PRICES.lambdaX86PerGbSecond),
    },
    {
      item: 'EventBridge Scheduler',
      basis: `${fmt(app.runsPerMonth, 0)} invocations`,
      perToken: (app.runsPerMonth / 1e6) * PRICES.schedulerPerMillionInvocations,
    },
    { item: 'logs ingested', basis: `${fmt(logGb * 1024, 2)} MB`, perToken: logGb * PRICES.logsIngestPerGb },
    {
      item: 'Secrets Manager endpoint',
      basis: `${app.endpointAzs} AZ × ${HOURS_PER_MONTH} h × $${PRICES.interfaceEndpointAzHour} (its data: see networkSetups)`,
      perToken: (app.endpointAzs * HOURS_PER_MONTH * PRICES.interfaceEndpointAzHour) / n,
    },
    {
      item: 'logs stored',
      basis: `${fmt(logGb * retentionMonths * 1024, 1)} MB (${app.retentionDays} days kept, uncompressed)`,
      perToken: logGb * retentionMonths * PRICES.logsStoragePerGbMonth,
    },
  ];
  return {
    lines,
    perToken: lines.reduce((sum, line) => sum + line.perToken, 0),
    dashboards: app.dashboards * PRICES.dashboardMonth,
  };
}

/**
 * What rotation (`rotateClientSecret`) calls, from the step protocol (docs/rotation.md, "The rotation
 * steps"), at its most: Secrets Manager calls and those of them that use KMS (a value read or put).
 * A rotation is four invocations (createSecret, setSecret, testSecret, finishSecret) and one more
 * refresh, which the credentials-change rule starts when the new version becomes current.
 */
export const ROTATION_PROFILE = {
  stepsPerRotation: 4,
  /** createSecret: describe, read AWSPENDING, AWSCURRENT and AWSPREVIOUS, put; testSecret: describe, read; finishSecret: describe, stage. */
  secretsManagerCallsPerRotation: 10,
  kmsRequestsPerRotation: 5,
  /** The retire check: read the credentials and the token. */
  secretsManagerCallsPerCheck: 2,
  kmsRequestsPerCheck: 2,
  checkPeriodHours: 6,
} as const;

/**
 * What `rotateClientSecret` adds to a token-month, rotating every `everyDays`: its alarm, the
 * rotation function's invocations (the four steps and the 6-hourly retire checks, each priced like
 * `run`, a cold refresh of the same bundle: a mint or an Adobe call and a few Secrets Manager
 * calls), their schedule, logs and Secrets Manager and KMS calls, and the refresh that follows each
 * rotation. Adobe's API is free. Pure: the run comes in.
 */
export function rotationCost(
  everyDays: number,
  run: RunProfile,
  app: Pick<Inventory, 'memoryMb' | 'arm64' | 'retentionDays'>,
): { readonly lines: readonly CostLine[]; readonly perToken: number } {
  const p = ROTATION_PROFILE;
  const rotations = HOURS_PER_MONTH / 24 / everyDays;
  const checks = HOURS_PER_MONTH / p.checkPeriodHours;
  // Four steps and the refresh that follows, per rotation; one invocation per check.
  const runs = rotations * (p.stepsPerRotation + 1) + checks;
  const billedMs = Math.max(run.wallMs, run.cpuMs * (LAMBDA_MB_PER_VCPU / app.memoryMb));
  const gbSeconds = ((runs * billedMs) / 1000) * (app.memoryMb / 1024);
  const calls = rotations * p.secretsManagerCallsPerRotation + checks * p.secretsManagerCallsPerCheck;
  const kms = rotations * p.kmsRequestsPerRotation + checks * p.kmsRequestsPerCheck;
  const logGb = (runs * run.logBytes) / GB;
  const lines: CostLine[] = [
    { item: 'rotation alarm', basis: `1 × $${PRICES.alarmMonth}`, perToken: PRICES.alarmMonth },
    {
      item: 'rotation invocations',
      basis: `${fmt(runs)} (${fmt(rotations, 2)} rotations × ${p.stepsPerRotation + 1}, ${fmt(checks)} checks)`,
      perToken:
        (runs / 1e6) * PRICES.lambdaPerMillionRequests +
        gbSeconds * (app.arm64 ? PRICES.lambdaArmPerGbSecond : PRICES.lambdaX86PerGbSecond),
    },
    {
      item: 'retire check schedule',
      basis: `${fmt(checks)} invocations`,
      perToken: (checks / 1e6) * PRICES.schedulerPerMillionInvocations,
    },
    {
      item: 'rotation Secrets Manager and KMS calls',
      basis: `${fmt(calls, 0)} calls, ${fmt(kms, 0)} KMS requests`,
      perToken: (calls / 10_000) * PRICES.secretsManagerPer10kCalls + (kms / 10_000) * PRICES.kmsPer10kRequests,
    },
    {
      item: 'rotation logs',
      basis: `${fmt(logGb * 1024, 2)} MB, kept ${app.retentionDays} days`,
      perToken: logGb * (PRICES.logsIngestPerGb + (app.retentionDays / (365 / 12)) * PRICES.logsStoragePerGbMonth),
    },
  ];
  return { lines, perToken: lines.reduce((sum, line) => sum + line.perToken, 0) };
}

/** The rotation interval `npm run cost` prices: the issue's example, and docs/rotation.md's figure. */
export const ROTATION_EXAMPLE_DAYS = 90;

/** The monthly cost of one of the README's network set-ups, for the whole VPC (any number of tokens). */
export interface NetworkSetup {
  readonly name: string;
  readonly basis: string;
  readonly perMonth: number;
}

/**
 * What each locked-down set-up adds a month at list prices, whatever the number of tokens: a NAT
 * gateway with its Elastic IP (the user's, in one AZ), the Secrets Manager endpoint this app
 * creates in `endpointAzs` zones (a proxy is the user's and not priced), or nothing but a proxy.
 * The data they process is a few kilobytes a run: priced per GB, it stays under a cent.
 */
export function networkSetups(endpointAzs = 2): NetworkSetup[] {
  const nat = (PRICES.natGatewayHour + PRICES.publicIpv4Hour) * HOURS_PER_MONTH;
  const endpoint = endpointAzs * PRICES.interfaceEndpointAzHour * HOURS_PER_MONTH;
  return [
    {
      name: 'VPC + NAT gateway',
      basis: `1 NAT gateway ($${PRICES.natGatewayHour}/h) and its Elastic IP ($${PRICES.publicIpv4Hour}/h)`,
      perMonth: nat,
    },
    {
      name: 'VPC + Secrets Manager endpoint + proxy',
      basis: `the endpoint in ${endpointAzs} AZs ($${PRICES.interfaceEndpointAzHour}/AZ-hour); the proxy is yours`,
      perMonth: endpoint,
    },
    { name: 'no VPC + proxy', basis: 'nothing new; the proxy is yours', perMonth: 0 },
  ];
}

/** What one refresh and one skip of a synthesized function do, and the lifetime of the token stored. */
export interface Measured {
  readonly refresh: RunProfile;
  readonly skip: RunProfile;
  readonly lifetimeMs: number;
}

/** One refresh and one skip of the synthesized function against the emulators. */
export async function measureRuns(fn: SynthesizedFunction): Promise<Measured> {
  const local = await LocalRefresher.start(fn, await generateJwtCredentials({ keyFormat: 'pkcs1-crlf' }));
  try {
    const refresh = await local.invoke({});
    const skip = await local.invoke({});
    const outcomes = [refresh, skip].map((run) => (run.result as { outcome?: string } | undefined)?.outcome);
    if (outcomes.join() !== 'refreshed,skipped')
      throw new Error(`expected a refresh then a skip, got ${outcomes.join(', ')}`);
    const token = JSON.parse(local.emulator.current(local.tokenSecretId)!.value) as TokenRecord;
    return {
      refresh: runProfile(refresh),
      skip: runProfile(skip),
      lifetimeMs: Date.parse(token.expires_at) - Date.parse(token.issued_at),
    };
  } finally {
    await local.close();
  }
}

function readTemplates(cdkOut: string) {
  return readdirSync(cdkOut)
    .filter((file) => file.endsWith('.template.json'))
    .map((file) => JSON.parse(readFileSync(join(cdkOut, file), 'utf8')) as { Resources: Record<string, Resource> });
}

/** The cost per token-month of the app synthesized in `cdkOut`, its function's runs as `measured`. */
export function appCost(cdkOut: string, measured: Measured): MonthlyCost & { readonly app: Inventory } {
  const app = inventory(readTemplates(cdkOut));
  const refreshes = refreshesPerMonth(app.runsPerMonth, measured.lifetimeMs, app.refreshThreshold);
  return { app, ...monthlyCost(app, { ...measured, refreshes }) };
}

function print(title: string, cost: MonthlyCost & { readonly app: Inventory }): void {
  console.log(`\n${title}\n`);
  console.log('| item | basis (per token-month) | $ per token-month |\n|---|---|---|');
  for (const line of cost.lines) console.log(`| ${line.item} | ${line.basis} | ${line.perToken.toFixed(4)} |`);
  console.log(`| **total** | | **${cost.perToken.toFixed(2)}** |`);
  console.log(
    `\nCounted apart: dashboards, $${cost.dashboards.toFixed(2)} a month for the whole app ($${(cost.dashboards / cost.app.tokens).toFixed(2)} per token).`,
  );
}

async function main(): Promise<number> {
  console.log(
    `Monthly cost at us-east-1 list prices of ${PRICES_DATE} (free tiers ignored), healthy month of ${HOURS_PER_MONTH} hours.`,
  );
  synthesizeRepo(DEFAULTS);
  const measured = await measureRuns(synthesizedFunction(DEFAULTS.cdkOut));
  const defaults = appCost(DEFAULTS.cdkOut, measured);
  console.log(
    "\nMeasured: one cold run of the bundled function against the emulators (CPU scaled to Lambda's share at the memory size)\n",
  );
  console.log(
    "| run | wall ms | CPU ms | log bytes (with Lambda's own records) | Secrets Manager calls | custom metrics |\n|---|---|---|---|---|---|",
  );
  for (const [name, run] of [
    ['refresh', measured.refresh],
    ['skip', measured.skip],
  ] as const) {
    console.log(
      `| ${name} | ${run.wallMs} | ${Math.round(run.cpuMs)} | ${run.logBytes} | ${run.secretsManagerCalls} | ${run.customMetrics} |`,
    );
  }
  print(`Default configuration (${defaults.app.tokens} token):`, defaults);

  const work = mkdtempSync(join(tmpdir(), 'ims-cost-'));
  try {
    const tokens = Array.from({ length: 100 }, (_, i) => ({ name: `aem-${i}`, stack: `Cost${Math.floor(i / 20)}` }));
    writeFileSync(join(work, 'tokens.json'), JSON.stringify({ tokens }));
    synthesize(ROOT, ['-c', `config=${join(work, 'tokens.json')}`, '-o', join(work, 'out')]);
    const hundred = appCost(join(work, 'out'), measured);
    print(`100 tokens, 20 a stack (${readTemplates(join(work, 'out')).length} stacks):`, hundred);
    console.log(
      '\nLocked-down networks, per month for the VPC (any number of tokens; the endpoint is also a line above):\n',
    );
    console.log('| set-up | basis | $ a month |\n|---|---|---|');
    for (const setup of networkSetups())
      console.log(`| ${setup.name} | ${setup.basis} | ${setup.perMonth.toFixed(2)} |`);
    const rotation = rotationCost(ROTATION_EXAMPLE_DAYS, measured.refresh, defaults.app);
    console.log(
      `\nClient secret rotation ("rotateClientSecret": {"everyDays": ${ROTATION_EXAMPLE_DAYS}}), added per token-month:\n`,
    );
    console.log('| item | basis (per token-month) | $ per token-month |\n|---|---|---|');
    for (const line of rotation.lines) console.log(`| ${line.item} | ${line.basis} | ${line.perToken.toFixed(4)} |`);
    console.log(`| **total** | | **${rotation.perToken.toFixed(2)}** |`);
    const over = [defaults, hundred].filter((cost) => cost.perToken > GOAL_PER_TOKEN_MONTH);
    console.log(`\nGoal: at most $${GOAL_PER_TOKEN_MONTH} per token-month: ${over.length === 0 ? 'met' : 'NOT met'}.`);
    return over.length === 0 ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
