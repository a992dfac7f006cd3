/**
 * `ims-token credentials check` and `put` on files far larger than credentials, each in a process
 * of its own (test/cli/measured-cli.ts): refused at once without being read whole. Bounds: the
 * command's own time under a second, and its peak memory growing by less than 100 MB (the
 * process's peak with the modules loaded is reported too). Before the bound, 5 MB of binary took
 * 17–22 s and 1.1–1.4 GB, and 40 MB aborted Node.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerEmulator } from '../sandbox/secrets-manager-emulator.js';
import { generateOAuthCredentials } from '../sandbox/test-credentials.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MB = 1024 * 1024;

interface Measured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  readonly maxRssKiBBefore: number;
  readonly maxRssKiB: number;
}

let dir: string;
let emulator: SecretsManagerEmulator;
/** The generated files, by name. */
const files: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ims-cli-big-files-'));
  const write = (name: string, bytes: Uint8Array) => writeFileSync((files[name] = join(dir, name)), bytes);
  write('5mb.bin', randomBytes(5 * MB));
  write('5mb.json', Buffer.from(`{"integration": {"privateKey": "${'A'.repeat(5 * MB - 40)}"}}`));
  write('40mb.bin', randomBytes(40 * MB));
  // Valid credentials but for the spaces after them: before the bound, `put` sent them to Secrets Manager.
  const { json } = generateOAuthCredentials();
  write('5mb-credentials.json', Buffer.from(json + ' '.repeat(5 * MB - Buffer.byteLength(json))));
  emulator = await SecretsManagerEmulator.start();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await emulator.close();
});

/** Runs the CLI with `args` in a child process pointed at the emulator, without blocking it. */
function measured(args: readonly string[]): Promise<Measured> {
  const env = {
    ...process.env,
    ...emulator.env(),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'big-files',
    AWS_SECRET_ACCESS_KEY: 'big-files',
  };
  return new Promise((resolve, reject) => {
    execFile(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      ['test/cli/measured-cli.ts', ...args],
      { cwd: ROOT, env, encoding: 'utf8' },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as Measured),
    );
  });
}

describe('ims-token on big files', () => {
  it.each([
    ['check', '5mb.bin', 'binary'],
    ['check', '5mb.json', 'JSON'],
    ['check', '40mb.bin', 'binary'],
    ['put', '5mb-credentials.json', 'credentials JSON padded with spaces'],
  ])('%s refuses %s (%s) in under a second and 100 MB, naming the file and the limit', async (command, name) => {
    const path = files[name];
    const args =
      command === 'check'
        ? ['credentials', 'check', '--file', path]
        : ['credentials', 'put', '--secret-id', 'adobe/credentials', '--file', path];

    const run = await measured(args);

    const growthMB = (run.maxRssKiB - run.maxRssKiBBefore) / 1024;
    const numbers = `${run.ms.toFixed(1)} ms, peak memory +${growthMB.toFixed(1)} MB (process peak ${(run.maxRssKiB / 1024).toFixed(1)} MB)`;
    expect(run, numbers).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        `ims-token: CREDENTIALS_INVALID: "${path}" is larger than 65536 bytes, the most Secrets Manager stores; ` +
        'credentials JSON are a few KB: is it the file Adobe gave you?\n',
    });
    expect(run.ms, numbers).toBeLessThan(1_000);
    expect(growthMB, numbers).toBeLessThan(100);
    expect(emulator.calls, 'nothing sent to Secrets Manager').toEqual([]);
  });
});
