/**
 * `npm run sandbox`: try the refresher locally, with no AWS account, no Adobe credentials and no
 * network. Synthesizes the CDK app, starts a Secrets Manager emulator and an Adobe IMS test peer on
 * 127.0.0.1, stores a throwaway AEM service credential, and runs the bundled Lambda from cdk.out
 * twice: the first run mints and stores a token, the second finds it fresh and skips. Exits
 * non-zero if anything goes otherwise, or if a secret shows up in any output.
 */
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import { synthesizedFunction } from '../test/sandbox/bundle.js';
import type { ImsRequest } from '../test/sandbox/ims-peer.js';
import { LocalRefresher, type Run } from '../test/sandbox/local-refresher.js';
import { countSecrets } from '../test/sandbox/secret-registry.js';
import { generateJwtCredentials } from '../test/sandbox/test-credentials.js';
import { EXAMPLE, synthesizeRepo } from './synth.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REDACTED_FIELDS = new Set(['client_secret', 'jwt_token']);
const transcript: string[] = [];

function say(text = ''): void {
  transcript.push(text);
  console.log(text);
}

const indent = (text: string, prefix = '    ') => text.replace(/^/gm, prefix);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** An IMS request with its secrets replaced, and the signed JWT's claims (not secret) shown. */
function describeImsRequest(request: ImsRequest): string {
  const fields = Object.entries(request.form).map(
    ([name, value]) => `${name}=${REDACTED_FIELDS.has(name) ? '<redacted>' : value}`,
  );
  const jwt = request.form.jwt_token;
  const claims = jwt
    ? `\n  claims of the signed JWT: ${JSON.stringify(decodeJwt(jwt), null, 2).replace(/\n/g, '\n  ')}`
    : '';
  return `POST ${request.path}  ${fields.join('  ')}${claims}`;
}

function countActions(run: Run): string {
  const counts = new Map<string, number>();
  for (const call of run.secretsManagerCalls) counts.set(call.action, (counts.get(call.action) ?? 0) + 1);
  return [...counts].map(([action, count]) => `${action} ×${count}`).join(', ');
}

async function invoke(local: LocalRefresher, event: unknown): Promise<Run> {
  const before = local.emulator.current(local.tokenSecretId)!.versionId;
  say(`  invoking index.handler with ${JSON.stringify(event)} in a fresh Node ${process.versions.node} process`);
  const run = await local.invoke(event);
  say(`  returned in ${run.durationMs} ms: ${JSON.stringify(run.result ?? run.error)}`);
  say(`  IMS calls: ${run.imsRequests.length}`);
  for (const request of run.imsRequests) say(indent(describeImsRequest(request)));
  say(`  Secrets Manager calls: ${countActions(run)}`);
  say('  function log (as CloudWatch Logs would receive it):');
  say(indent(run.logs.trim(), '    │ '));
  const token = local.emulator.current(local.tokenSecretId)!;
  if (token.versionId === before) {
    say(`  token secret unchanged (AWSCURRENT version ${token.versionId})`);
  } else {
    const record = JSON.parse(token.value);
    const redacted = { ...record, access_token: `<redacted: ${record.access_token.length} characters>` };
    say(`  token secret now (new AWSCURRENT version ${token.versionId}):`);
    say(indent(JSON.stringify(redacted, null, 2)));
  }
  return run;
}

async function main(): Promise<number> {
  const started = performance.now();
  say('Adobe IMS token refresher sandbox: everything runs on 127.0.0.1, nothing leaves this machine.\n');

  say('1. Synthesizing the CDK app (cdk synth: cdk-nag checks; the bundle from npm run bundle is the asset)');
  const synthStarted = performance.now();
  synthesizeRepo(EXAMPLE);
  const fn = synthesizedFunction(EXAMPLE.cdkOut);
  say(`  done in ${seconds(synthStarted)}; bundle ${fn.assetDir.slice(ROOT.length)}/index.js`);
  say(`  environment from the template: ${JSON.stringify(fn.environment)}\n`);

  say('2. Generating a throwaway AEM service credential (2048-bit RSA key, PKCS#1 with CRLF as AEM');
  say('   gives it, and a self-signed certificate) and starting the emulators');
  const credentials = await generateJwtCredentials({ keyFormat: 'pkcs1-crlf' });
  const local = await LocalRefresher.start(fn, credentials);
  try {
    const { integration } = credentials;
    say(`  client id ${integration.clientId}, org ${integration.org}, metascopes ${integration.metascopes.join(',')}`);
    say(`  Secrets Manager emulator at ${local.emulator.url}: credentials secret ${local.credentialsSecretId}`);
    say(`    (credentials JSON stored), token secret ${local.tokenSecretId} (placeholder, as the stack creates it)`);
    say(`  Adobe IMS test peer at ${local.peer.url}: knows the client, its secret and the certificate\n`);

    say('3. Run 1: no token yet, so the refresher signs a JWT, exchanges it at IMS and stores the token');
    const first = await invoke(local, {});
    say('\n4. Run 2: the token is fresh, so the refresher reads two secrets and stops');
    const second = await invoke(local, {});

    const leaks = countSecrets([transcript.join('\n'), first.logs, second.logs].join('\n'));
    say(`\n5. Private key lines, client secret, JWT and access token found in any output: ${leaks}`);
    const problems = [
      (first.result as { outcome?: string } | undefined)?.outcome !== 'refreshed' && 'run 1 did not refresh',
      (second.result as { outcome?: string } | undefined)?.outcome !== 'skipped' && 'run 2 did not skip',
      second.imsRequests.length !== 0 && 'run 2 called IMS',
      leaks !== 0 && 'a secret appeared in the output',
    ].filter(Boolean);
    if (problems.length > 0) {
      say(`\nFAILED: ${problems.join('; ')}`);
      return 1;
    }
    say(`\nDone in ${seconds(started)}. Next: "npm test" runs every suite; see README "First deploy" for AWS.`);
    return 0;
  } finally {
    await local.close();
  }
}

process.exitCode = await main();
