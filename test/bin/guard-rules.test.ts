import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import {
  App,
  Validations,
  type IPolicyValidationContextBeta1,
  type PolicyValidationPluginReportBeta1,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { GuardRules, shapes } from '../../bin/guard-rules.js';
import { parseAppConfig } from '../../lib/config/load.js';
import { ImsTokenStack } from '../../lib/ims-token-stack.js';

// As the CDK CLI synthesizes: resources carry their construct path (which names their token).
const context = { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true };

/** Each finding as one line per resource: rule, template, logical id and where. */
function findings(report: PolicyValidationPluginReportBeta1): string[] {
  return report.violations
    .flatMap((violation) =>
      violation.violatingResources.map(
        (found) =>
          `${violation.ruleName} ${basename(found.templatePath)} ${found.resourceLogicalId} ${found.locations.join(',')}`,
      ),
    )
    .sort();
}

describe('GuardRules: the Control Tower rules, each resource shape checked once', () => {
  it('reports what the whole rule set reports on every resource, for tokens alike and unlike, in two stacks', () => {
    const app = new App({ context });
    const alike = Array.from({ length: 4 }, (_, i) => ({ name: `aem-${i}` }));
    // In one VPC from both stacks; the second one's function differs (its NO_PROXY) while its security group is
    // alike, so the function is checked without its own group unless the check brings what it references.
    const locked = (name: string, noProxy?: string[]) => ({
      name,
      vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0aaa1111'] },
      secretsManagerEndpoint: 'create',
      httpsProxy: 'http://proxy.corp.example.com:3128',
      noProxy,
    });
    const stacks = [
      new ImsTokenStack(app, 'One', {
        tokens: parseAppConfig({
          tokens: [...alike, { name: 'aem-short', logRetentionDays: 30, reservedConcurrency: false }, locked('locked')],
        }).tokens,
      }),
      new ImsTokenStack(app, 'Two', {
        tokens: parseAppConfig({ tokens: [...alike, locked('locked-two', ['.corp.example.com'])] }).tokens,
      }),
    ];
    // Findings nobody acknowledges: an alarm without actions, a queue without a redrive-allow policy.
    new cloudwatch.Alarm(stacks[1], 'Silent', {
      metric: stacks[1].refreshers[0].metric('TokenSecondsToExpiry', 'Minimum'),
      threshold: 1,
      evaluationPeriods: 1,
    });
    new sqs.Queue(stacks[1], 'Plain', { enforceSSL: true });
    const assembly = app.synth();
    const validation = {
      templatePaths: assembly.stacks.map((stack) => stack.templateFullPath),
    } as IPolicyValidationContextBeta1;

    const resources = validation.templatePaths.reduce(
      (sum, file) => sum + Object.keys(JSON.parse(readFileSync(file, 'utf8')).Resources).length,
      0,
    );
    const checked = shapes(
      new Map(validation.templatePaths.map((file) => [file, JSON.parse(readFileSync(file, 'utf8'))])),
    ).length;
    expect(checked).toBeLessThan(resources / 4);

    const full = findings(new CfnGuardValidator().validate(validation));
    expect(full.length).toBeGreaterThan(20);
    expect(full.some((line) => line.startsWith('cloudwatch_alarm_action_check Two.template.json Silent'))).toBe(true);
    expect(findings(new GuardRules().validate(validation))).toEqual(full);
  }, 120_000);

  it('finds a function outside a VPC (CT.LAMBDA.PR.3) only for the token without "vpc": the other passes it', () => {
    const app = new App({ context });
    new ImsTokenStack(app, 'Net', {
      tokens: parseAppConfig({
        tokens: [
          { name: 'open' },
          {
            name: 'locked',
            vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'] },
            secretsManagerEndpoint: 'create',
            httpsProxy: 'http://proxy.corp.example.com:3128',
          },
        ],
      }).tokens,
    });
    const validation = {
      templatePaths: app.synth().stacks.map((stack) => stack.templateFullPath),
    } as IPolicyValidationContextBeta1;
    const inVpc = findings(new GuardRules().validate(validation)).filter((line) =>
      line.startsWith('lambda_inside_vpc_check '),
    );
    expect(inVpc).toEqual([expect.stringMatching(/^lambda_inside_vpc_check Net\.template\.json openFunction\w+ /)]);
  });

  it('still fails a resource whose alike twin is acknowledged', () => {
    const app = new App({ context });
    Validations.of(app).addPlugins(new GuardRules());
    const stack = new ImsTokenStack(app, 'Tokens', {
      tokens: parseAppConfig({
        alarmTopicArn: 'arn:aws:sns:us-east-1:111111111111:on-call',
        tokens: [{ name: 'aem-prod' }],
      }).tokens,
    });
    const metric = stack.refreshers[0].metric('TokenSecondsToExpiry', 'Minimum');
    const [first] = ['SilentOne', 'SilentTwo'].map(
      (id) => new cloudwatch.Alarm(stack, id, { metric, threshold: 1, evaluationPeriods: 1 }),
    );
    Validations.of(first).acknowledge({ id: 'cdk-validator-cfnguard::cloudwatch_alarm_action_check', reason: 'test' });
    let message = '';
    try {
      app.synth();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/CT\.CLOUDWATCH\.PR\.1[\s\S]*Tokens\/SilentTwo\/Resource/);
    expect(message).not.toMatch(/Tokens\/SilentOne\/Resource/);
  });

  it('keeps apart resources that differ in more than names, even where a token is named like a property value', () => {
    const secret = (owner: string, policy: string, key: string) => ({
      Type: 'AWS::SecretsManager::Secret',
      DeletionPolicy: policy,
      Properties: { Description: `token of S/${owner}`, KmsKeyId: { Ref: key } },
      Metadata: { 'aws:cdk:path': `S/${owner}/Token/Resource` },
    });
    const template = {
      Resources: {
        DeleteToken: secret('Delete', 'Delete', 'DeleteKey'),
        RetainToken: secret('Retain', 'Retain', 'RetainKey'),
        aem1Token: secret('aem-1', 'Retain', 'aem1Key'),
        aem1Key: { Type: 'AWS::KMS::Key' },
        DeleteKey: { Type: 'AWS::KMS::Key' },
        RetainKey: { Type: 'AWS::KMS::Key' },
      },
    };
    const groups = shapes(new Map([['t.json', template]])).map((group) => group.map((member) => member.id).sort());
    expect(groups).toContainEqual(['DeleteToken']);
    expect(groups).toContainEqual(['RetainToken', 'aem1Token']);
  });
});
