#!/usr/bin/env node
import { App, Errors, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  CONTEXT_SOURCE,
  ConfigError,
  configSummary,
  defaultStackName,
  loadAppConfig,
  tokensByStack,
} from '../lib/config/load.js';
import { ImsTokenRefresherError } from '../lib/errors.js';
import { ImsTokenRefresher } from '../lib/ims-token-refresher.js';
import { ImsTokenStack } from '../lib/ims-token-stack.js';
import { GuardRules } from './guard-rules.js';

/**
 * The CDK app. Configuration comes from a JSON file named with `cdk deploy -c config=tokens.json`,
 * or from the `imsTokenRefresher` context in cdk.json: exactly one of them, and there is no default
 * (the repository's cdk.json holds none), so a forgotten flag deploys nothing. Every cdk command
 * runs this app, so `cdk ls`, `diff` and `destroy` need the configuration too, to know the stacks.
 * Tokens go to the stack their `stack` key names (default: `-c stackName=…` or ImsTokenRefresher).
 * On success it prints one line to stderr naming the source, the number of tokens and the stacks.
 * A configuration that cannot deploy prints one line per problem, no stack trace, and exits 1.
 */
function main(): number {
  // Synthesized here rather than at exit, so that synth-time validation errors are caught below.
  const app = new App({ autoSynth: false });
  // Synth fails on any AwsSolutions (cdk-nag) or Control Tower guard rule (cfn-guard) finding not acknowledged with a reason.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new GuardRules());
  const file = app.node.tryGetContext('config') as string | undefined;
  const source = file ?? CONTEXT_SOURCE;
  try {
    const config = loadAppConfig({ file, context: app.node.tryGetContext('imsTokenRefresher') });
    const byStack = tokensByStack(config, defaultStackName(app.node.tryGetContext('stackName')));
    const stacks = [...byStack].map(
      ([name, tokens]) =>
        new ImsTokenStack(app, name, {
          tokens,
          env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
        }),
    );
    // One dashboard for the whole app, in its first stack.
    if (config.dashboard)
      stacks[0].addDashboard(stacks.flatMap((stack) => stack.refreshers.flatMap((refresher) => refresher.alarms)));
    app.synth();
    process.stderr.write(`ims-token-refresher: ${configSummary(source, byStack)}\n`);
    return 0;
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems : settingProblems(app, error, source);
    if (!problems) throw error;
    process.stderr.write(
      ['ims-token-refresher: config error:', ...problems.map((line) => `  ${line}`)].join('\n') + '\n',
    );
    return 1;
  }
}

/**
 * The lines for an error that a valid-looking configuration still causes, or undefined for any
 * other error (a bug keeps its stack trace): a CDK validation error (e.g. too many tokens for one
 * stack), or a prop a refresher refuses (`ImsTokenRefresherError`, e.g. a schedule too slow for
 * the token's lifetime), printed with the token whose refresher it is: the construct at the
 * error's path, whose id is the token's name.
 */
function settingProblems(app: App, error: unknown, source: string): readonly string[] | undefined {
  if (Errors.isValidationError(error) && error.name !== 'ValidationFailed') {
    // "ValidationFailed" is the cdk-nag report: about this code, not the configuration.
    const lines = error.message.split('\n').filter((line) => line.trim() && !line.startsWith('Validation failed'));
    return lines.map((line) => `${source}: ${line.trim()}`);
  }
  if (!(error instanceof ImsTokenRefresherError)) return undefined;
  const refresher = app.node
    .findAll()
    .find((child) => child instanceof ImsTokenRefresher && child.node.path === error.path);
  return [`${source}: ${refresher ? `tokens[${JSON.stringify(refresher.node.id)}]: ` : ''}${error.message}`];
}

process.exitCode = main();
