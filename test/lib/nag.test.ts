import { App, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { parseAppConfig } from '../../lib/config.js';
import { ImsTokenStack } from '../../lib/ims-token-stack.js';

function appWithNag() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged in the app (created and existing credentials secrets, restricted readers, a shared token with its key)', () => {
    const app = appWithNag();
    new ImsTokenStack(app, 'Tokens', {
      tokens: parseAppConfig({
        tokens: [
          { name: 'aem-prod' },
          {
            name: 'aem-stage',
            credentialsSecret: 'adobe/aem-stage',
            scheduleMinutes: 30,
            restrictCredentialsReaders: true,
            credentialsReaders: ['arn:aws:iam::111111111111:role/break-glass'],
          },
          {
            name: 'shared',
            encryptionKey: 'create',
            crossAccountReaders: ['222222222222'],
            replicaRegions: ['us-east-1'],
            restrictTokenReaders: true,
          },
        ],
      }).tokens,
    });
    expect(() => app.synth()).not.toThrow();
  });

  it('still fails on a finding nobody acknowledged (the check is live)', () => {
    const app = appWithNag();
    const stack = new ImsTokenStack(app, 'Tokens', { tokens: parseAppConfig({ tokens: [{ name: 'aem-prod' }] }).tokens });
    new secretsmanager.Secret(stack, 'Unrotated');
    expect(() => app.synth()).toThrow(/Tokens\/Unrotated\/Resource[\s\S]*AwsSolutions-SMG4/);
  });
});
