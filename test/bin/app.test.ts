import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('the CDK app as a process, on a configuration that cannot deploy', () => {
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'ims-app-'));

  /** Runs bin/app.ts as `cdk synth -c config=<file>` would, with `config` written to that file. */
  function synth(name: string, config: unknown) {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(config));
    const result = spawnSync('node_modules/.bin/tsx', ['bin/app.ts'], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ config: file }) },
    });
    return { file, ...result };
  }

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
