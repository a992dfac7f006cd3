import { describe, expect, it } from 'vitest';
import {
  appCost,
  GOAL_PER_TOKEN_MONTH,
  inventory,
  measureRuns,
  monthlyCost,
  networkSetups,
  PRICES,
  refreshesPerMonth,
  ROTATION_EXAMPLE_DAYS,
  ROTATION_PROFILE,
  rotationCost,
  runProfile,
  type RunProfile,
} from '../../bench/cost.js';
import { read, section } from '../docs/markdown.js';
import { synthesizedFunction } from '../sandbox/bundle.js';
import type { Run } from '../sandbox/local-refresher.js';
import { DEFAULTS } from '../../scripts/synth.js';

const HOUR = 3_600_000;

/** A refresher's resources as a template holds them (only what the cost model reads). */
function refresherResources(id: string, { schedule = 'rate(1 hour)', period = 300 } = {}) {
  return {
    [`${id}Fn`]: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Handler: 'index.handler',
        MemorySize: 128,
        Architectures: ['arm64'],
        Environment: { Variables: { TOKEN_SECRET_ID: 'x', REFRESH_THRESHOLD: '0.5' } },
      },
    },
    [`${id}Schedule`]: { Type: 'AWS::Scheduler::Schedule', Properties: { ScheduleExpression: schedule } },
    [`${id}Logs`]: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 365 } },
    [`${id}Credentials`]: { Type: 'AWS::SecretsManager::Secret', Properties: {} },
    [`${id}Token`]: { Type: 'AWS::SecretsManager::Secret', Properties: { ReplicaRegions: [{ Region: 'eu-west-1' }] } },
    [`${id}Alarm`]: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'Errors', Period: period } },
  };
}

const quietRun: RunProfile = {
  customMetrics: 0,
  logBytes: 1000,
  secretsManagerCalls: 2,
  kmsRequests: 2,
  wallMs: 100,
  cpuMs: 50,
};
const line = (cost: ReturnType<typeof monthlyCost>, item: string) =>
  cost.lines.find((entry) => entry.item === item)!.perToken;

describe('the cost model', () => {
  it('divides the app by its tokens, prices replicas and high-resolution alarms, and keeps the dashboard apart', () => {
    const app = inventory([
      {
        Resources: {
          ...refresherResources('a'),
          Dash: { Type: 'AWS::CloudWatch::Dashboard' },
          Key: { Type: 'AWS::KMS::Key' },
        },
      },
      { Resources: refresherResources('b', { period: 10 }) },
    ]);
    expect(app).toMatchObject({
      tokens: 2,
      secrets: 6,
      alarms: 1,
      highResolutionAlarms: 1,
      dashboards: 1,
      kmsKeys: 1,
      runsPerMonth: 730,
    });
    const cost = monthlyCost(app, { refresh: quietRun, skip: quietRun, refreshes: 61 });
    expect(line(cost, 'secrets')).toBeCloseTo(3 * PRICES.secretMonth); // two secrets and a replica
    expect(line(cost, 'alarms')).toBeCloseTo((PRICES.alarmMonth + PRICES.highResolutionAlarmMonth) / 2);
    expect(line(cost, 'KMS keys')).toBeCloseTo(PRICES.kmsKeyMonth / 2);
    expect(cost.dashboards).toBe(PRICES.dashboardMonth);
    expect(cost.perToken).toBeCloseTo(cost.lines.reduce((sum, entry) => sum + entry.perToken, 0));
  });

  it('bills a custom metric by the hours it is sent in: every run costs $0.30 a metric, refreshes only a twelfth of it', () => {
    const app = inventory([{ Resources: refresherResources('a') }]);
    const sending = { ...quietRun, customMetrics: 2 };
    expect(line(monthlyCost(app, { refresh: sending, skip: sending, refreshes: 61 }), 'custom metrics')).toBeCloseTo(
      2 * PRICES.customMetricMonth,
    );
    expect(line(monthlyCost(app, { refresh: sending, skip: quietRun, refreshes: 61 }), 'custom metrics')).toBeCloseTo(
      (122 / 730) * PRICES.customMetricMonth,
    );
  });

  it("replays the month with the function's own refresh rule and the schedule from the template", () => {
    expect(refreshesPerMonth(730, 24 * HOUR, 0.5)).toBe(61); // every 12 h
    expect(refreshesPerMonth(730, 24 * HOUR, 0.25)).toBe(41); // every 18 h
    expect(inventory([{ Resources: refresherResources('a', { schedule: 'rate(30 minutes)' }) }]).runsPerMonth).toBe(
      1460,
    );
    expect(() => inventory([{ Resources: refresherResources('a', { schedule: 'cron(0 * * * ? *)' }) }])).toThrow(
      /cannot price the schedule/,
    );
  });

  it('prices a created Secrets Manager endpoint per Availability Zone-hour, shared by the tokens of the app', () => {
    const endpoint = {
      Type: 'AWS::EC2::VPCEndpoint',
      Properties: { VpcEndpointType: 'Interface', SubnetIds: ['subnet-a', 'subnet-b'] },
    };
    const app = inventory([
      { Resources: { ...refresherResources('a'), ...refresherResources('b'), Endpoint: endpoint } },
    ]);
    expect(app.endpointAzs).toBe(2);
    const cost = monthlyCost(app, { refresh: quietRun, skip: quietRun, refreshes: 61 });
    expect(line(cost, 'Secrets Manager endpoint')).toBeCloseTo((2 * 730 * PRICES.interfaceEndpointAzHour) / 2);
    expect(
      line(
        monthlyCost(inventory([{ Resources: refresherResources('a') }]), {
          refresh: quietRun,
          skip: quietRun,
          refreshes: 61,
        }),
        'Secrets Manager endpoint',
      ),
    ).toBe(0);
  });

  it('states in docs/networks.md and the README what the three network set-ups add a month, as the model prices them', () => {
    const rows = new Map(
      [...read('docs/networks.md').matchAll(/^\| (.+?) \| .+ \| (\d+\.\d\d) \|$/gm)].map(([, name, cost]) => [
        name,
        cost,
      ]),
    );
    const setups = networkSetups();
    expect(setups.map((setup) => [setup.name, rows.get(setup.name)])).toEqual(
      setups.map((setup) => [setup.name, setup.perMonth.toFixed(2)]),
    );
    const readme = section(read('README.md'), 'Configure');
    const networks = readme.slice(readme.indexOf('### Locked-down networks'));
    expect([...networks.matchAll(/\$(\d+(?:\.\d\d)?) /g)].map((match) => Number(match[1]))).toEqual(
      setups.map((setup) => Number(setup.perMonth.toFixed(2))),
    );
    // NAT gateway and Elastic IP hours; the endpoint's two AZ-hours.
    expect(setups.map((setup) => setup.perMonth)).toEqual([
      (PRICES.natGatewayHour + PRICES.publicIpv4Hour) * 730,
      2 * PRICES.interfaceEndpointAzHour * 730,
      0,
    ]);
  });

  it('counts a token with rotation once: its rotation function and retire check are not refreshers', () => {
    const rotation = {
      RotationFn: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Handler: 'index.rotationHandler',
          MemorySize: 128,
          Environment: { Variables: { TOKEN_SECRET_ID: 'x', RETIRE_AFTER_HOURS: '24' } },
        },
      },
      RetireCheck: {
        Type: 'AWS::Scheduler::Schedule',
        Properties: { ScheduleExpression: 'rate(6 hours)', Target: { Input: '{"retireCheck":true,"secretId":"x"}' } },
      },
    };
    expect(inventory([{ Resources: { ...refresherResources('a'), ...rotation } }])).toMatchObject({
      tokens: 1,
      runsPerMonth: 730,
      memoryMb: 128,
    });
  });

  it('prices rotation per token-month: its alarm, the four steps and the refresh per rotation, a check every 6 hours', () => {
    const app = { memoryMb: 128, arm64: true, retentionDays: 365 };
    const run = { ...quietRun, wallMs: 1000 };
    const cost = rotationCost(90, run, app);
    const item = (name: string) => cost.lines.find((entry) => entry.item === name)!.perToken;
    expect(item('rotation alarm')).toBe(PRICES.alarmMonth);
    const checks = 730 / ROTATION_PROFILE.checkPeriodHours;
    const runs = (730 / 24 / 90) * 5 + checks;
    expect(item('rotation invocations')).toBeCloseTo(
      (runs / 1e6) * PRICES.lambdaPerMillionRequests + runs * 1 * (128 / 1024) * PRICES.lambdaArmPerGbSecond,
      9,
    );
    expect(item('retire check schedule')).toBeCloseTo((checks / 1e6) * PRICES.schedulerPerMillionInvocations, 9);
    expect(cost.perToken).toBeCloseTo(cost.lines.reduce((sum, entry) => sum + entry.perToken, 0));
    // Rotating more often costs more, but the alarm stays most of it.
    expect(rotationCost(1, run, app).perToken).toBeGreaterThan(cost.perToken);
    expect(item('rotation alarm') / cost.perToken).toBeGreaterThan(0.9);
  });

  it("counts each metric of each dimension set of a run's EMF lines", () => {
    const emf = {
      _aws: {
        Timestamp: 0,
        CloudWatchMetrics: [
          { Namespace: 'n', Dimensions: [['service'], ['service', 'token']], Metrics: [{ Name: 'A' }, { Name: 'B' }] },
        ],
      },
      A: 1,
      B: 2,
    };
    const logs = `${JSON.stringify({ level: 'INFO', message: 'done' })}\n${JSON.stringify(emf)}\n`;
    const run = {
      logs,
      durationMs: 10,
      measured: { cpuMs: 5 },
      secretsManagerCalls: [{ action: 'GetSecretValue' }, { action: 'DescribeSecret' }],
    } as unknown as Run;
    expect(runProfile(run)).toMatchObject({ customMetrics: 4, secretsManagerCalls: 2, kmsRequests: 1 });
    expect(runProfile(run).logBytes).toBeGreaterThan(Buffer.byteLength(logs));
  });
});

describe('npm run cost, default configuration', () => {
  it(`costs at most $${GOAL_PER_TOKEN_MONTH} a token-month, measured from the synthesized template and a refresh and a skip of its bundle`, async () => {
    const measured = await measureRuns(synthesizedFunction(DEFAULTS.cdkOut));
    expect(measured.skip.customMetrics).toBe(0);
    const cost = appCost(DEFAULTS.cdkOut, measured);
    expect(cost.app.tokens).toBe(1);
    expect(cost.perToken).toBeLessThanOrEqual(GOAL_PER_TOKEN_MONTH);
    expect(cost.dashboards).toBe(PRICES.dashboardMonth);

    // The figure the README states, from this same measurement: rounding, and CPU time measured on
    // a shared machine, allow a cent or two.
    const stated = /total \*\*\$(\d+\.\d\d)\*\*\s+per\s+token-month/.exec(section(read('README.md'), 'Operate'))?.[1];
    expect(stated, 'README: "total **$x.xx** per token-month"').toBeDefined();
    expect(Math.abs(Number(stated) - cost.perToken)).toBeLessThanOrEqual(0.02);

    // docs/rotation.md's figure for rotation, from the same measurement.
    const rotation = rotationCost(ROTATION_EXAMPLE_DAYS, measured.refresh, cost.app);
    const deploying = section(read('docs/rotation.md'), 'Deploying rotation');
    const added = /adds \*\*\$(\d+\.\d\d)\*\* per token-month/.exec(deploying)?.[1];
    expect(added, 'docs/rotation.md: "adds **$x.xx** per token-month"').toBeDefined();
    expect(Math.abs(Number(added) - rotation.perToken)).toBeLessThanOrEqual(0.01);
    expect(deploying).toContain(`every ${ROTATION_EXAMPLE_DAYS} days`);
    // And the README's, for the example it shows.
    const readme = section(read('README.md'), 'Operate');
    const inReadme = /Cost: \*\*\$(\d+\.\d\d)\*\* per\s+token-month/.exec(readme)?.[1];
    expect(inReadme, 'README: "Cost: **$x.xx** per token-month"').toBe(added);
    expect(readme).toContain(`"everyDays": ${ROTATION_EXAMPLE_DAYS}`);
  });
});
