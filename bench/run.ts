/**
 * `npm run bench`: the deployed Lambda asset (from `cdk synth`) against a hand-minimal baseline
 * (bench/baseline/handler.ts) bundled in the same run with the same esbuild settings, side by
 * side on this machine, interleaved run by run. Prints a table and writes bench/results/latest.json.
 * Absolute times on a shared machine are noise; the ratios are the result.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createTokenReader } from '../reader/index.js';
import { bundleLambda, ROOT } from '../scripts/bundle.js';
import { EXAMPLE, synthesizeRepo } from '../scripts/synth.js';
import { synthesize, synthesizedFunction, type Invocation, type SynthesizedFunction } from '../test/sandbox/bundle.js';
import { LocalRefresher, type Run } from '../test/sandbox/local-refresher.js';
import { SecretsManagerEmulator } from '../test/sandbox/secrets-manager-emulator.js';
import { tokenSecretValue } from '../test/support/token-secret.js';
import { generateJwtCredentials } from '../test/sandbox/test-credentials.js';

const RUNS = 31;
const HOUR = 3_600_000;

/** The code Node loads, and the whole asset (code and source map) as the deployment zip compresses it. */
function sizes(dir: string) {
  const js = readFileSync(join(dir, 'index.js'));
  const files = readdirSync(dir).map((file) => readFileSync(join(dir, file)));
  return {
    jsBytes: js.length,
    jsGzipBytes: gzipSync(js).length,
    assetBytes: files.reduce((sum, file) => sum + file.length, 0),
    assetGzipBytes: files.reduce((sum, file) => sum + gzipSync(file).length, 0),
  };
}

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1)! };
}

function expectOutcome(run: Run, outcome: string, who: string): Run {
  const result = run.result as { outcome?: string; expiresAt?: string } | undefined;
  const ok = who === 'baseline' ? typeof result?.expiresAt === 'string' : result?.outcome === outcome;
  if (!ok) throw new Error(`${who} run did not end as ${outcome}: ${JSON.stringify(run.result ?? run.error)}`);
  return run;
}

const callCounts = (run: Run) => ({ ims: run.imsRequests.length, secretsManager: run.secretsManagerCalls.length });

/** Cold runs of both bundles, interleaved so that machine noise hits both alike. */
async function refreshes(refresher: SynthesizedFunction, baseline: SynthesizedFunction) {
  const credentials = await generateJwtCredentials({ keyFormat: 'pkcs1-crlf' });
  const ours = await LocalRefresher.start(refresher, credentials);
  const theirs = await LocalRefresher.start(baseline, credentials);
  try {
    const measured: Record<'refresher' | 'baseline', Invocation['measured'][]> = { refresher: [], baseline: [] };
    const first = expectOutcome(await ours.invoke({}), 'refreshed', 'refresher');
    const skip = expectOutcome(await ours.invoke({}), 'skipped', 'refresher');
    const baselineFirst = expectOutcome(await theirs.invoke({}), 'refreshed', 'baseline');
    for (let i = 0; i < RUNS; i += 1) {
      measured.refresher.push(expectOutcome(await ours.invoke({ force: true }), 'refreshed', 'refresher').measured);
      measured.baseline.push(expectOutcome(await theirs.invoke({}), 'refreshed', 'baseline').measured);
    }
    return {
      measured,
      calls: { refresh: callCounts(first), skip: callCounts(skip), baselineRefresh: callCounts(baselineFirst) },
    };
  } finally {
    await Promise.all([ours.close(), theirs.close()]);
  }
}

/**
 * The consumer reader over the real SDK and the emulator: 10,000 reads spread over a token's
 * 24 h life (injected clock), the refresher writing a new version at half-life.
 */
async function readerCalls(): Promise<{ reads: number; getSecretValueCalls: number; versions: number }> {
  const emulator = await SecretsManagerEmulator.start();
  try {
    let time = Date.parse('2026-11-22T12:00:00Z');
    const start = time;
    const secretId = emulator.create('bench/token', tokenSecretValue('bench-reader-token-v1', time));
    const reader = createTokenReader({ secretId, client: emulator.client(), now: () => time });
    let versions = 1;
    for (let read = 0; read < 10_000; read += 1) {
      if (versions === 1 && time - start >= 12 * HOUR) {
        emulator.put(secretId, tokenSecretValue('bench-reader-token-v2', time));
        versions = 2;
      }
      await reader.getAccessToken();
      time += (24 * HOUR) / 10_000;
    }
    return { reads: 10_000, getSecretValueCalls: emulator.count('GetSecretValue'), versions };
  } finally {
    await emulator.close();
  }
}

/** Tokens per stack in the synth benchmark: under CloudFormation's 500 resources with room to spare. */
const TOKENS_PER_STACK = 20;

/** `cdk synth` of the whole app for `count` tokens, `TOKENS_PER_STACK` a stack; median wall seconds of `runs`. */
function synthSeconds(work: string, counts: number[], runs: number): Record<number, number[]> {
  const times: Record<number, number[]> = {};
  for (const count of counts) {
    const tokens = Array.from({ length: count }, (_, i) => ({
      name: `aem-${i}`,
      stack: `Bench${Math.floor(i / TOKENS_PER_STACK)}`,
    }));
    writeFileSync(join(work, `tokens-${count}.json`), JSON.stringify({ tokens }));
    times[count] = [];
  }
  for (let run = 0; run < runs; run += 1) {
    for (const count of counts) {
      const started = performance.now();
      synthesize(ROOT, ['-c', `config=${join(work, `tokens-${count}.json`)}`, '-o', join(work, `out-${count}`)]);
      times[count].push((performance.now() - started) / 1000);
    }
  }
  return times;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (a: number, b: number) => `${(a / b).toFixed(3)}x`;
const range = (s: ReturnType<typeof stats>, digits = 1) =>
  `${fmt(s.median, digits)} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`;

async function main(): Promise<void> {
  const started = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'ims-bench-'));
  try {
    console.log(`Benchmark on Node ${process.versions.node}, ${RUNS} cold runs of each bundle, interleaved.\n`);
    synthesizeRepo(EXAMPLE);
    const refresher = synthesizedFunction(EXAMPLE.cdkOut);
    const baselineDir = join(work, 'baseline');
    await bundleLambda(join(ROOT, 'bench/baseline/handler.ts'), baselineDir);
    // Same runtime settings as the deployed function (NODE_OPTIONS included), only the code differs.
    const baseline: SynthesizedFunction = { ...refresher, assetDir: baselineDir };

    const size = { refresher: sizes(refresher.assetDir), baseline: sizes(baselineDir) };
    const runs = await refreshes(refresher, baseline);
    const s = (who: 'refresher' | 'baseline', key: keyof Invocation['measured']) =>
      stats(runs.measured[who].map((m) => m[key]));
    const reader = await readerCalls();
    const synth = synthSeconds(work, [10, 100], 3);
    const synth10 = stats(synth[10]);
    const synth100 = stats(synth[100]);

    const peakRss = Math.max(...runs.measured.refresher.map((m) => m.maxRssMb));
    type Row = [string, string, string, string, string];
    /** A row comparing the refresher's and the baseline's `key` size, with their ratio. */
    const sizeRow = (label: string, key: keyof typeof size.refresher, budget = ''): Row => [
      label,
      fmt(size.refresher[key]),
      fmt(size.baseline[key]),
      ratio(size.refresher[key], size.baseline[key]),
      budget,
    ];
    /** A row comparing the refresher's and the baseline's `key` timings (median [min–max]), with the medians' ratio. */
    const timeRow = (label: string, key: keyof Invocation['measured'], budget = '', digits?: number): Row => [
      label,
      range(s('refresher', key), digits),
      range(s('baseline', key), digits),
      ratio(s('refresher', key).median, s('baseline', key).median),
      budget,
    ];
    const rows: Row[] = [
      sizeRow('bundle index.js, bytes', 'jsBytes', '≤ 1.10x'),
      sizeRow('bundle index.js gzipped, bytes', 'jsGzipBytes', '≤ 1.10x'),
      sizeRow('asset with source map, bytes', 'assetBytes'),
      sizeRow('asset with source map gzipped (the zip), bytes', 'assetGzipBytes'),
      timeRow('cold start: import, ms median [min–max]', 'importMs', '≤ 1.15x'),
      timeRow('refresh: handler wall, ms median', 'invokeMs'),
      timeRow('refresh: process CPU, ms median', 'cpuMs', '', 0),
      [
        'peak RSS in a refresh, MB (max)',
        fmt(peakRss, 1),
        fmt(Math.max(...runs.measured.baseline.map((m) => m.maxRssMb)), 1),
        '',
        '≤ 96 MB',
      ],
      [
        'refresh: IMS / Secrets Manager calls',
        `${runs.calls.refresh.ims} / ${runs.calls.refresh.secretsManager}`,
        `${runs.calls.baselineRefresh.ims} / ${runs.calls.baselineRefresh.secretsManager}`,
        '',
        '',
      ],
      [
        'fresh token: IMS / Secrets Manager calls',
        `${runs.calls.skip.ims} / ${runs.calls.skip.secretsManager}`,
        'n/a: mints every run',
        '',
        '0 / ≤ 2',
      ],
      [
        'reader: GetSecretValue per 10,000 reads in 24 h',
        `${reader.getSecretValueCalls} (${reader.versions} versions)`,
        '',
        '',
        '1 per version',
      ],
      [
        'cdk synth, s median of 3: 10 / 100 tokens',
        `${fmt(synth10.median, 1)} / ${fmt(synth100.median, 1)}`,
        '',
        ratio(synth100.median, synth10.median),
        '≤ 10x (linear)',
      ],
    ];
    const goals = {
      size: size.refresher.jsBytes / size.baseline.jsBytes <= 1.1,
      sizeGzipped: size.refresher.jsGzipBytes / size.baseline.jsGzipBytes <= 1.1,
      coldStart: s('refresher', 'importMs').median / s('baseline', 'importMs').median <= 1.15,
      memory: peakRss <= 96,
      skipCalls: runs.calls.skip.ims === 0 && runs.calls.skip.secretsManager <= 2,
      reader: reader.getSecretValueCalls === reader.versions,
      synthLinear: synth100.median / synth10.median <= 10,
    };

    const header: (typeof rows)[number] = ['measure', 'refresher', 'baseline', 'ratio', 'goal'];
    const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i].length)));
    const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
    console.log([line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'));
    const missed = Object.entries(goals)
      .filter(([, met]) => !met)
      .map(([goal]) => goal);
    console.log(`\ngoals: ${missed.length === 0 ? 'all met' : `missed: ${missed.join(', ')}`}`);
    console.log(`(${((performance.now() - started) / 1000).toFixed(0)} s in all)`);

    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const json = {
      node: process.versions.node,
      runs: RUNS,
      size,
      measured: runs.measured,
      calls: runs.calls,
      reader,
      synthSeconds: synth,
      goals,
    };
    writeFileSync(join(ROOT, 'bench/results/latest.json'), `${JSON.stringify(json, null, 2)}\n`);
    console.log('written: bench/results/latest.json');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
