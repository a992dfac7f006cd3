/**
 * End-to-end: the example configuration of the README's "Configure" section, synthesized by the
 * CDK app (`cdk synth -c config=<file>`), deployed to the Secrets Manager emulator (which finds a
 * secret by `SecretId` as AWS does: a partial ARN of `adobe/aem-prod-author` finds nothing) and
 * run, each token's function from the bundle as Lambda runs it, with the template's environment
 * resolved as CloudFormation would, against the IMS test peer.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTokenRecord } from '../../common/token.js';
import { ROOT } from '../../scripts/bundle.js';
import { codeBlocks, read, section } from '../docs/markdown.js';
import {
  invokeBundle,
  readTemplate,
  resolveValue,
  synthesize,
  synthesizedFunctions,
  type References,
  type SynthesizedFunction,
  type Template,
} from '../sandbox/bundle.js';
import { ImsPeer } from '../sandbox/ims-peer.js';
import { countSecrets } from '../sandbox/secret-registry.js';
import { PSEUDO_PARAMETERS, SecretsManagerEmulator } from '../sandbox/secrets-manager-emulator.js';
import { generateJwtCredentials, generateOAuthCredentials } from '../sandbox/test-credentials.js';

interface ExampleToken {
  readonly name: string;
  readonly credentialsSecret?: string;
  readonly tokenSecretName?: string;
  readonly credentialsType?: string;
}

const example = JSON.parse(codeBlocks(section(read('README.md'), 'Configure', { code: true }), 'json')[0]) as {
  tokens: ExampleToken[];
};
const dir = mkdtempSync(join(tmpdir(), 'ims-readme-example-'));
const cdkOut = join(dir, 'cdk.out');
let stackName: string;
let template: Template;
let emulator: SecretsManagerEmulator;
let peer: ImsPeer;
let functions: Map<string, SynthesizedFunction>;
let refs: References;

/** Creates the template's secrets as CloudFormation would (its `Name`, else one generated), returning their ARNs by logical id. */
function deploySecrets(): References {
  const secrets = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret');
  return Object.fromEntries(
    secrets.map(([id, secret]) => [id, emulator.create(secret.Properties.Name ?? `${id}-generated`, 'placeholder')]),
  );
}

/** The ids of a token's outputs start with its name in PascalCase: `aem-prod` → `AemProd…`. */
function output(token: ExampleToken, what: string): string | undefined {
  const prefix = token.name.replace(/(?:^|-)(.)/g, (_, letter: string) => letter.toUpperCase());
  return resolveValue(template.Outputs?.[`${prefix}${what}`]?.Value, refs);
}

beforeAll(async () => {
  const file = join(dir, 'tokens.json');
  writeFileSync(file, JSON.stringify(example));
  synthesize(ROOT, ['-c', `config=${file}`, '--output', cdkOut]);
  const templates = readdirSync(cdkOut).filter((name) => name.endsWith('.template.json'));
  expect(templates).toHaveLength(1);
  stackName = templates[0].replace(/\.template\.json$/, '');
  template = readTemplate(cdkOut, stackName);
  [emulator, peer] = await Promise.all([SecretsManagerEmulator.start(), ImsPeer.start()]);
  // An admin created the existing credentials secrets by name, as the README's example names them.
  for (const token of example.tokens) {
    if (token.credentialsSecret && token.credentialsSecret !== 'create') emulator.create(token.credentialsSecret);
  }
  refs = { ...PSEUDO_PARAMETERS, ...deploySecrets() };
  functions = new Map(
    synthesizedFunctions(cdkOut, stackName, refs).map((fn) => [fn.environment.POWERTOOLS_SERVICE_NAME, fn]),
  );
}, 300_000);

afterAll(async () => {
  await Promise.all([emulator?.close(), peer?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("the README's example configuration, end to end", () => {
  it('reads the example the README shows: three tokens, one secret named with a "-" and six-character ending', () => {
    expect(example.tokens.map((token) => token.name)).toEqual(['aem-prod-author', 'aem-stage-author', 'analytics-api']);
    expect(example.tokens.map((token) => token.credentialsSecret)).toContain('adobe/aem-prod-author');
  });

  it.each(example.tokens.map((token) => [token.name, token] as const))(
    'mints and stores a token for %s, from credentials uploaded to its output',
    async (_name, token) => {
      const oauth = token.credentialsType === 'oauth';
      const credentials = oauth ? generateOAuthCredentials({}) : await generateJwtCredentials({});
      peer.register(credentials.integration);
      const fn = functions.get(`${stackName}/${token.name}`)!;
      // README "First deploy", step 6: upload to the output …CredentialsSecretId, which the function reads.
      const credentialsSecretId = output(token, 'CredentialsSecretId')!;
      expect(credentialsSecretId).toBe(fn.environment.CREDENTIALS_SECRET_ID);
      emulator.put(credentialsSecretId, credentials.json);

      const run = await invokeBundle(fn, { event: {}, env: { IMS_BASE_URL: peer.url, ...emulator.env() } });

      expect(countSecrets(run.logs), 'secrets in the function output').toBe(0);
      expect(run.error).toBeUndefined();
      expect(run.result).toMatchObject({ outcome: 'refreshed', reason: 'no-token' });
      const tokenSecretId = token.tokenSecretName ?? output(token, 'TokenSecretArn')!;
      const stored = parseTokenRecord(emulator.current(tokenSecretId)!.value);
      expect(stored).toMatchObject({
        access_token: peer.issued.at(-1),
        client_id: credentials.integration.clientId,
        credentials_type: oauth ? 'oauth' : 'jwt',
        credentials_version_id: emulator.current(credentialsSecretId)!.versionId,
      });
    },
  );
});
