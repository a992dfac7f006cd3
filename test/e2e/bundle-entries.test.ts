/**
 * The bundle's entry points: one asset, two handlers (`index.handler`, the refresher, and
 * `index.rotationHandler`, the client secret rotation). Each reads only its own environment: the
 * one Lambda names in `_HANDLER` at init, the other never.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleLambda, ROOT } from '../../scripts/bundle.js';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bundle-entries-'));
  await bundleLambda(join(ROOT, 'lambda', 'handler.ts'), dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Loads the bundle in a fresh process with `env` only; prints the exports' types, or the load error's message. */
function load(env: Record<string, string>) {
  const script = `try { const m = require(${JSON.stringify(join(dir, 'index.js'))}); console.log(JSON.stringify({ handler: typeof m.handler, rotationHandler: typeof m.rotationHandler })); } catch (e) { console.log(JSON.stringify({ error: e.message })); }`;
  const result = spawnSync(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, string>;
}

describe('the bundle entry', () => {
  it('exports the refresher and the rotation handler, reading no environment until one is used', () => {
    expect(load({})).toEqual({ handler: 'function', rotationHandler: 'function' });
  });

  it('builds the rotation handler at init when Lambda names it, so a bad variable fails the init', () => {
    expect(load({ _HANDLER: 'index.rotationHandler' })).toEqual({
      error: 'environment variable TOKEN_SECRET_ID is required',
    });
    expect(load({ _HANDLER: 'index.rotationHandler', TOKEN_SECRET_ID: 'adobe/token' })).toEqual({
      handler: 'function',
      rotationHandler: 'function',
    });
  });

  it('builds the refresher at init when Lambda names it, as before', () => {
    expect(load({ _HANDLER: 'index.handler', TOKEN_SECRET_ID: 'adobe/token' })).toEqual({
      error: 'environment variable CREDENTIALS_SECRET_ID is required',
    });
  });
});
