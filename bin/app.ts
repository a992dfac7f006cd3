#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseAppConfig, tokensByStack } from '../lib/config.js';
import { ImsTokenStack } from '../lib/ims-token-stack.js';

/**
 * The CDK app. Configuration comes from the `imsTokenRefresher` context in cdk.json, or from a
 * JSON file named with `cdk deploy -c config=path/to/tokens.json`; no code edit is needed.
 * Tokens go to the stack their `stack` key names (default: `-c stackName=…` or ImsTokenRefresher).
 */
const app = new App();
// Synth fails on any AwsSolutions finding that is not acknowledged with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const file = app.node.tryGetContext('config') as string | undefined;
const raw = file ? JSON.parse(readFileSync(file, 'utf8')) : app.node.tryGetContext('imsTokenRefresher');
const defaultStack = (app.node.tryGetContext('stackName') as string | undefined) ?? 'ImsTokenRefresher';

for (const [name, tokens] of tokensByStack(parseAppConfig(raw), defaultStack)) {
  new ImsTokenStack(app, name, {
    tokens,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
}
