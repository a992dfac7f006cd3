import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONTEXT_SOURCE } from '../../lib/config/load.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ims-app-'));
/** The context the cdk CLI passes the app from this repository's cdk.json, before any `-c`. */
const cdkJsonContext = (JSON.parse(readFileSync(join(repoRoot, 'cdk.json'), 'utf8')) as { context: object }).context;

/**
 * Runs bin/app.ts as the cdk CLI does in this repository: with cdk.json's context merged with
 * `context` (the `-c` flags), writing its cloud assembly to a directory of its own.
 */
function runApp(context: Record<string, unknown>) {
  const outdir = mkdtempSync(join(dir, 'out-'));
  const result = spawnSync('node_modules/.bin/tsx', ['bin/app.ts'], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonContext, ...context }), CDK_OUTDIR: outdir },
  });
  return { ...result, templates: readdirSync(outdir).filter((file) => file.endsWith('.template.json')) };
}

/** Runs the app as `cdk synth -c config=<file>` would, with `config` written to that file. */
function synth(name: string, config: unknown, context: Record<string, unknown> = {}) {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(config));
  return { file, ...runApp({ ...context, config: file }) };
}

describe('the CDK app as a process, on a configuration that cannot deploy', () => {
  it.each([
    [
      'every problem of the file, one line each',
      {
        tokens: [
          { name: 'aem-prod', schedulMinutes: 30 },
          { name: 'aem-stage', crossAccountReaders: ['2222'] },
        ],
      },
      [
        'tokens["aem-prod"].schedulMinutes: unknown key (did you mean scheduleMinutes?)',
        'tokens["aem-stage"].crossAccountReaders[0]: account id must be 12 digits',
        'tokens["aem-stage"].crossAccountReaders: needs "encryptionKey": other accounts cannot decrypt the AWS managed key',
      ],
    ],
    [
      'a setting the construct refuses, naming the token',
      { tokens: [{ name: 'aem-prod' }, { name: 'aem-stage', scheduleMinutes: 720 }] },
      [
        'tokens["aem-stage"]: `schedule` (12 hours) leaves fewer than two full refresh chances, each with its 1 minute 30 ' +
          'seconds retry budget, in the last `refreshThreshold` (0.5) of a 1 day token; shorten `schedule` or raise `refreshThreshold`',
      ],
    ],
    [
      'a value past an AWS limit that only the deploy would meet, naming the token, the key and the limit',
      { tokens: [{ name: 'aem-prod' }, { name: 'aem-stage', credentialName: 'n'.repeat(4000) }] },
      [
        'tokens["aem-stage"]: the bytes of the function\'s environment (keys and values, secret ARNs at their longest) ' +
          "can reach 4,466, over AWS's 4,096: shorten `credentialName`",
      ],
    ],
  ])('prints %s, no stack trace, and exits 1', (name, config, lines) => {
    const result = synth(`${name.replaceAll(/\W+/g, '-')}.json`, config);

    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      ['ims-token-refresher: config error:', ...lines.map((line) => `  ${result.file}: ${line}`), ''].join('\n'),
    );
  });
});

describe('the CDK app as a process: one configuration source', () => {
  it("finds no token in the repository's cdk.json", () => {
    expect(cdkJsonContext).not.toHaveProperty('imsTokenRefresher');
    expect(JSON.stringify(cdkJsonContext)).not.toContain('tokens');
  });

  it('without -c config=… or cdk.json context (a bare `cdk deploy` here), says what to do, writes no template and exits 1', () => {
    const result = runApp({});

    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.templates).toEqual([]);
    const [header, ...guidance] = result.stderr.trimEnd().split('\n');
    expect(header).toBe('ims-token-refresher: config error:');
    expect(guidance.join('\n')).toMatch(/no configuration, so nothing is synthesized or deployed/);
    expect(guidance.join('\n')).toContain('examples/tokens.json');
    expect(guidance.join('\n')).toContain('npx cdk deploy -c config=tokens.json');
    expect(guidance.join('\n')).toMatch(/ls, diff and destroy included/);
    expect(guidance.join('\n')).toContain('cdk.json under "context": { "imsTokenRefresher"');
  });

  it('with both a file and the cdk.json context, names both, writes no template and exits 1', () => {
    const context = { imsTokenRefresher: { tokens: [{ name: 'from-context' }] } };
    const result = synth('both.json', { tokens: [{ name: 'from-file' }] }, context);

    expect(result.status).toBe(1);
    expect(result.templates).toEqual([]);
    expect(result.stderr).toBe(
      'ims-token-refresher: config error:\n' +
        `  two configurations: ${result.file} (-c config=…) and ${CONTEXT_SOURCE}; keep one ` +
        '(remove "imsTokenRefresher" from the context, or drop -c config=…)\n',
    );
  });

  // A whole synth, cdk-nag included: slow on a loaded machine.
  it('prints one line naming the source, the tokens and the stack it synthesized', { timeout: 120_000 }, () => {
    const result = synth('one-token.json', { tokens: [{ name: 'aem-prod' }] });

    expect(result.stderr).toBe(
      `ims-token-refresher: configuration from ${result.file}: 1 token in stack ImsTokenRefresher\n`,
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.templates).toEqual(['ImsTokenRefresher.template.json']);
  });
});
