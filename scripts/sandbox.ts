/**
 * `npm run sandbox`: try the refresher locally, with no AWS account, no Adobe credentials and no
 * network. Synthesizes the CDK app, starts a Secrets Manager emulator and an Adobe IMS test peer on
 * 127.0.0.1, stores a throwaway AEM service credential, and runs the bundled Lambda from cdk.out
 * twice: the first run mints and stores a token, the second finds it fresh and skips. Exits
 * non-zero if anything goes otherwise, or if a secret shows up in any output.
 *
 * `npm run sandbox -- --proxy`: the same two runs through a real forward proxy (Debian's squid),
 * IMS and Secrets Manager addressed by their real host names, which only squid resolves here; then
 * squid's access log. Without squid it exits 1, saying what to install.
 *
 * `npm run sandbox -- --rotate`: one client secret rotation end to end (an OAuth token with
 * `rotateClientSecret`): the refresher mints with secret A, `ims-token credentials rotate --wait`
 * runs the rotation function's four steps, the refresher mints with the new secret B, and the retire
 * check deletes A at Adobe once its `last_used_at` is older than the grace (set back, not waited for).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { decodeJwt } from 'jose';
import { main as cli } from '../cli/cli.js';
import { parseTokenRecord } from '../common/token.js';
import { synthesizedFunction, type SynthesizedFunction } from '../test/sandbox/bundle.js';
import type { ImsRequest } from '../test/sandbox/ims-peer.js';
import { IO_MANAGEMENT_SCOPES } from '../test/sandbox/io-management-api.js';
import { LocalRefresher, type Run } from '../test/sandbox/local-refresher.js';
import { LocalRotation, stepReport, type RotationRun } from '../test/sandbox/local-rotation.js';
import { IMS_HOST, RealNames, SECRETS_MANAGER_HOST } from '../test/sandbox/real-names.js';
import { countSecrets, registerSecret } from '../test/sandbox/secret-registry.js';
import { squidMissing, type Squid } from '../test/sandbox/squid.js';
import { generateJwtCredentials, generateOAuthCredentials } from '../test/sandbox/test-credentials.js';
import { EXAMPLE, ROTATION, synthesizeRepo } from './synth.js';

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

/** Where the runs go: the emulators, with `env` for the function (and squid in between, with `--proxy`). */
interface Peers {
  readonly local: LocalRefresher;
  readonly env: Record<string, string>;
  readonly squid?: Squid;
  close(): Promise<void>;
}

/**
 * `--proxy`: the emulators under their real host names behind squid (as test/e2e/proxy.test.ts
 * runs them), the function given HTTPS_PROXY and a secret with squid's credentials, so a stored
 * token shows that every call went through the proxy.
 */
async function behindSquid(
  fn: SynthesizedFunction,
  credentials: Parameters<typeof RealNames.start>[1],
): Promise<Peers> {
  const names = await RealNames.start(fn, credentials);
  const proxyCredentials = { username: 'sandbox-proxy-user', password: randomBytes(12).toString('base64url') };
  registerSecret(proxyCredentials.password);
  const squid = await names.squid(proxyCredentials).catch(async (error: unknown) => {
    await names.close();
    throw error;
  });
  const secretId = names.local.emulator.create('proxy/credentials', JSON.stringify(proxyCredentials));
  say(
    `  squid at ${squid.url} (the function's HTTPS_PROXY): resolves ${IMS_HOST} and ${SECRETS_MANAGER_HOST} to the emulators`,
  );
  say(
    `    (TLS with a throwaway CA); wants user ${proxyCredentials.username} for IMS, read from secret proxy/credentials`,
  );
  return {
    local: names.local,
    env: { ...names.env(), HTTPS_PROXY: squid.url, PROXY_CREDENTIALS_SECRET_ID: secretId },
    squid,
    close: async () => {
      await squid.stop();
      await names.close();
    },
  };
}

async function invoke(peers: Peers, event: unknown): Promise<Run> {
  const { local } = peers;
  const before = local.emulator.current(local.tokenSecretId)!.versionId;
  say(`  invoking index.handler with ${JSON.stringify(event)} in a fresh Node ${process.versions.node} process`);
  const run = await local.invoke(event, { env: peers.env });
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

async function main(proxy: boolean): Promise<number> {
  const missing = proxy ? squidMissing() : undefined;
  if (missing) {
    console.error(`npm run sandbox -- --proxy: ${missing}`);
    return 1;
  }
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
  const peers: Peers = proxy
    ? await behindSquid(fn, credentials)
    : await LocalRefresher.start(fn, credentials).then((local) => ({ local, env: {}, close: () => local.close() }));
  const { local, squid } = peers;
  try {
    const { integration } = credentials;
    say(`  client id ${integration.clientId}, org ${integration.org}, metascopes ${integration.metascopes.join(',')}`);
    say(`  Secrets Manager emulator at ${local.emulator.url}: credentials secret ${local.credentialsSecretId}`);
    say(`    (credentials JSON stored), token secret ${local.tokenSecretId} (placeholder, as the stack creates it)`);
    say(`  Adobe IMS test peer at ${local.peer.url}: knows the client, its secret and the certificate\n`);

    say('3. Run 1: no token yet, so the refresher signs a JWT, exchanges it at IMS and stores the token');
    const first = await invoke(peers, {});
    say('\n4. Run 2: the token is fresh, so the refresher reads two secrets and stops');
    const second = await invoke(peers, {});

    const connects = squid?.connects() ?? [];
    if (squid) {
      say("\n   Squid's access log: each connection the function opened (CONNECT target, result, proxy user)");
      for (const { target, result, user } of connects) say(`    CONNECT ${target}  ${result}  ${user}`);
    }
    const outputs = [transcript.join('\n'), first.logs, second.logs, squid?.accessLog() ?? ''];
    const leaks = countSecrets(outputs.join('\n'));
    const what = `client secret, JWT, access token${squid ? ', proxy password' : ''}`;
    say(`\n5. Private key lines, ${what} found in any output: ${leaks}`);
    const problems = [
      squid && !connects.some(({ target }) => target.startsWith(`${IMS_HOST}:`)) && 'squid carried no IMS call',
      connects.some(({ result }) => result !== 'TCP_TUNNEL/200') && 'squid refused a CONNECT',
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
    await peers.close();
  }
}

/** A rotation function run in one line: its step, outcome, uuids and Adobe's x-request-ids. */
function describeRotationRun({ invocation }: RotationRun): string {
  const { step, outcome, reason, createdUuid, deletedUuid, adobeRequestIds = [] } = stepReport(invocation);
  const parts = [
    `${step}: ${outcome}${reason ? ` (${reason})` : ''}`,
    createdUuid && `created ${createdUuid}`,
    deletedUuid && `deleted ${deletedUuid}`,
    `Adobe x-request-ids [${adobeRequestIds.join(', ')}]${invocation.error ? ` → ${invocation.error.code}` : ''}`,
  ];
  return `    │ ${parts.filter(Boolean).join('; ')}`;
}

/** `--rotate`: see the header. */
async function rotateMain(): Promise<number> {
  const started = performance.now();
  const outputs: string[] = [];
  say('Adobe IMS token refresher sandbox: one client secret rotation; everything runs on 127.0.0.1.\n');
  say(`1. Synthesizing the CDK app with rotateClientSecret (${ROTATION.config})`);
  synthesizeRepo(ROTATION);
  say(`  done in ${seconds(started)}`);

  say('\n2. Starting the emulators; a throwaway OAuth credential with secret A, stored with its uuid at Adobe');
  const uuidA = randomUUID();
  const { json, integration } = generateOAuthCredentials({ scopes: IO_MANAGEMENT_SCOPES });
  const credentials = { json: JSON.stringify({ ...JSON.parse(json), clientSecretUuids: [uuidA] }), integration };
  const onRun = (run: RotationRun) => {
    outputs.push(run.invocation.logs, JSON.stringify(run.invocation.error ?? null));
    say(describeRotationRun(run));
  };
  const rotation = await LocalRotation.start(ROTATION.cdkOut, 'ImsTokenRefresher', credentials, {
    uuids: [uuidA],
    onRun,
  });
  const { local } = rotation;
  const named = (uuid?: string) => `${uuid === uuidA ? 'A' : 'B'} ${uuid}`;
  const atAdobe = () => rotation.adobeSecrets().map((secret) => secret.uuid);
  try {
    const before = atAdobe();
    const refresh = async (event: unknown) => {
      const run = await local.invoke(event);
      outputs.push(run.logs);
      const { client_secret_uuid } = parseTokenRecord(local.emulator.current(local.tokenSecretId)!.value);
      const { outcome } = (run.result ?? {}) as { outcome?: string };
      say(`  refresher ${JSON.stringify(event)}: ${outcome}; token minted with secret ${named(client_secret_uuid)}`);
      return outcome === 'refreshed' ? client_secret_uuid : undefined;
    };
    say('\n3. The refresher mints with secret A');
    const mintedA = await refresh({});

    say("\n4. Deploying attaches the RotationSchedule: Secrets Manager's set-up check runs testSecret alone");
    await rotation.rotate({ immediately: false });

    const secretId = local.credentialsSecretId;
    const argv = ['credentials', 'rotate', '--secret-id', secretId, '--wait'];
    say(`\n5. ims-token ${argv.join(' ')}  (the CLI in-process; the function's step lines marked │)`);
    let clock = 0; // the CLI's polling clock: each sleep lasts until the rotation has ended
    const stdout = { write: (text: string) => say(indent(text.trimEnd(), '  ')) };
    const code = await cli(argv, {
      stdout,
      stderr: stdout,
      secretsClient: local.emulator.client(),
      lambdaClient: new LambdaClient({
        region: 'us-east-1',
        endpoint: local.emulator.url,
        credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
      }),
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
        await local.emulator.rotation(secretId);
      },
    });
    const outcome = await local.emulator.rotation(secretId);
    const uuidB = atAdobe().find((uuid) => uuid !== uuidA);

    say('\n6. finishSecret moved AWSCURRENT: the credentials-change rule runs the refresher, which mints with B');
    const mintedB = await refresh({ reason: 'credentials-changed' });

    const hours = rotation.retireAfterHours;
    say(`\n7. The retire check (every 6 hours): at once, then with A unused for longer than ${hours} h`);
    const kept = await rotation.retireCheck();
    const secretA = rotation.adobeSecrets().find((secret) => secret.uuid === uuidA);
    if (secretA) secretA.lastUsedAt = Date.now() - (hours + 1) * 3_600_000;
    say(`  (the peer's last_used_at of A set ${hours + 1} h back instead of waiting)`);
    const retired = await rotation.retireCheck();
    const after = atAdobe();
    say(`\n8. Secrets at Adobe: before ${before.map(named).join(', ')}; after ${after.map(named).join(', ')}`);

    const leaks = countSecrets([transcript.join('\n'), ...outputs].join('\n'));
    say(`   Client secrets or access tokens found in any output: ${leaks}`);
    const problems = [
      mintedA !== uuidA && 'the first run did not mint with A',
      code !== 0 && `ims-token credentials rotate exited ${code}`,
      !outcome.done && `the rotation stopped at ${outcome.failedStep}`,
      (!uuidB || mintedB !== uuidB) && 'the refresher did not mint with the new secret',
      stepReport(kept).outcome !== 'kept' && 'the first retire check did not keep A',
      stepReport(retired).deletedUuid !== uuidA && 'the retire check did not delete A',
      after.join() !== uuidB && 'Adobe does not hold B alone',
      leaks !== 0 && 'a secret appeared in the output',
    ].filter(Boolean);
    if (problems.length > 0) {
      say(`\nFAILED: ${problems.join('; ')}`);
      return 1;
    }
    say(`\nDone in ${seconds(started)}. See docs/rotation.md for what each step does.`);
    return 0;
  } finally {
    await rotation.close();
  }
}

process.exitCode = process.argv.includes('--rotate')
  ? await rotateMain()
  : await main(process.argv.includes('--proxy'));
