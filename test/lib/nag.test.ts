import { App, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { GuardRules } from '../../bin/guard-rules.js';
import { parseAppConfig } from '../../lib/config/load.js';
import type { AppConfig } from '../../lib/config/types.js';
import { ImsTokenStack } from '../../lib/ims-token-stack.js';

/** An app with the validations bin/app.ts registers: cdk-nag's AwsSolutions and Control Tower's guard rules. */
function appWithChecks() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new GuardRules());
  return app;
}

function stackOf(app: App, config: AppConfig) {
  const stack = new ImsTokenStack(app, 'Tokens', { tokens: config.tokens });
  if (config.dashboard) stack.addDashboard(stack.refreshers.flatMap((refresher) => refresher.alarms));
  return stack;
}

describe('policy validation: cdk-nag AwsSolutions and the Control Tower guard rules', () => {
  it.each([
    ['the default configuration (no alarm target: acknowledged, and synth warns)', { tokens: [{ name: 'aem-prod' }] }],
    [
      'created and existing credentials secrets, restricted readers, a shared token with its key, email alarms, short logs',
      {
        alarmEmail: 'ops@example.com',
        tokens: [
          { name: 'aem-prod' },
          {
            name: 'aem-stage',
            credentialsSecret: 'adobe/aem-stage',
            scheduleMinutes: 30,
            restrictCredentialsReaders: true,
            credentialsReaders: ['arn:aws:iam::111111111111:role/break-glass'],
            reservedConcurrency: false,
            logRetentionDays: 30,
          },
          {
            name: 'shared',
            encryptionKey: 'create',
            crossAccountReaders: ['222222222222'],
            replicaRegions: ['us-east-1'],
            restrictTokenReaders: true,
            alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:on-call',
          },
        ],
      },
    ],
    [
      'a locked-down network: a VPC with a created Secrets Manager endpoint and a proxy, and given groups with an existing endpoint',
      {
        httpsProxy: 'http://proxy.corp.example.com:3128',
        tokens: [
          {
            name: 'aem-prod',
            vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'] },
            secretsManagerEndpoint: 'create',
            proxyCredentialsSecret: 'corp/proxy-login',
          },
          {
            name: 'aem-stage',
            vpc: {
              vpcId: 'vpc-0fedcba987654321f',
              subnetIds: ['subnet-0ccc3333'],
              securityGroupIds: ['sg-0ddd4444'],
            },
            secretsManagerEndpoint: 'existing',
          },
        ],
      },
    ],
    [
      'client secret rotation, of a created and of an existing credentials secret, one in a VPC (SMG4 met, not acknowledged)',
      {
        alarmEmail: 'ops@example.com',
        rotateClientSecret: { everyDays: 90 },
        tokens: [
          { name: 'oauth-prod', credentialsType: 'oauth', restrictTokenReaders: true },
          {
            name: 'oauth-stage',
            credentialsType: 'oauth',
            credentialsSecret: 'adobe/oauth-stage',
            vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0aaa1111'] },
            secretsManagerEndpoint: 'create',
          },
        ],
      },
    ],
  ])('finds nothing unacknowledged in %s', (_what, raw) => {
    const app = appWithChecks();
    stackOf(app, parseAppConfig(raw));
    expect(() => app.synth()).not.toThrow();
  });

  it('acknowledges AwsSolutions-SMG4 for a credentials secret only while it is not rotated', () => {
    const acknowledged = (raw: unknown) => {
      const stack = new ImsTokenStack(new App(), 'Tokens', { tokens: parseAppConfig(raw).tokens });
      return stack.refreshers[0].credentialsSecret.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.keys(entry.data as object))
        .filter((rule) => rule.endsWith('AwsSolutions-SMG4'));
    };
    expect(acknowledged({ tokens: [{ name: 'a', credentialsType: 'oauth' }] })).toHaveLength(1);
    expect(
      acknowledged({ tokens: [{ name: 'a', credentialsType: 'oauth', rotateClientSecret: { everyDays: 30 } }] }),
    ).toEqual([]);
  });

  it('finds SMG4 on a rotated credentials secret whose rotation schedule is gone: the acknowledgement is not what passes it', () => {
    const app = appWithChecks();
    const stack = stackOf(
      app,
      parseAppConfig({ tokens: [{ name: 'a', credentialsType: 'oauth', rotateClientSecret: { everyDays: 30 } }] }),
    );
    stack.node.findChild('a').node.tryRemoveChild('RotationSchedule');
    expect(() => app.synth()).toThrow(/Tokens\/a\/Credentials\/Resource[\s\S]*AwsSolutions-SMG4/);
  });

  it('still fails on a finding nobody acknowledged (both checks are live)', () => {
    const app = appWithChecks();
    const stack = stackOf(app, parseAppConfig({ tokens: [{ name: 'aem-prod' }] }));
    new secretsmanager.Secret(stack, 'Unrotated');
    new cloudwatch.Alarm(stack, 'Silent', {
      metric: stack.refreshers[0].metric('TokenSecondsToExpiry', 'Minimum'),
      threshold: 1,
      evaluationPeriods: 1,
    });
    expect(() => app.synth()).toThrow(/Tokens\/Unrotated\/Resource[\s\S]*AwsSolutions-SMG4/);
    const guarded = appWithChecks();
    const alone = stackOf(guarded, parseAppConfig({ tokens: [{ name: 'aem-prod' }] }));
    new cloudwatch.Alarm(alone, 'Silent', {
      metric: alone.refreshers[0].metric('TokenSecondsToExpiry', 'Minimum'),
      threshold: 1,
      evaluationPeriods: 1,
    });
    expect(() => guarded.synth()).toThrow(/CT\.CLOUDWATCH\.PR\.1[\s\S]*Tokens\/Silent\/Resource/);
  });
});
