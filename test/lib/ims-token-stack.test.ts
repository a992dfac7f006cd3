import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseAppConfig } from '../../lib/config.js';
import { ImsTokenStack } from '../../lib/ims-token-stack.js';

const entries = [
  { name: 'aem-prod-author', credentialsSecret: 'create' },
  { name: 'aem-prod-publish', credentialsSecret: 'adobe/aem-prod-publish', scheduleMinutes: 30 },
  {
    name: 'analytics',
    credentialsSecret: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:adobe/analytics-AbC123',
    credentialsType: 'oauth',
  },
];

function synth(tokens: unknown[]) {
  const app = new App();
  const stack = new ImsTokenStack(app, 'Tokens', { config: parseAppConfig({ tokens }) });
  return Template.fromStack(stack);
}

describe('ImsTokenStack', () => {
  it('builds one refresher per configured token, sharing one code asset', () => {
    const template = synth(entries);
    template.resourceCountIs('AWS::Lambda::Function', 3);
    template.resourceCountIs('AWS::Scheduler::Schedule', 3);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
    // One created credentials secret plus three token secrets.
    template.resourceCountIs('AWS::SecretsManager::Secret', 4);
    const keys = Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.Code.S3Key);
    expect(new Set(keys).size).toBe(1);
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(30 minutes)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CREDENTIALS_TYPE: 'oauth', POWERTOOLS_SERVICE_NAME: 'analytics' }) },
    });
  });

  it('keeps logical ids when entries are reordered or added', () => {
    const ids = (template: Template) => Object.keys(template.toJSON().Resources).filter((id) => !id.startsWith('Dashboard')).sort();
    const before = ids(synth(entries));
    const after = ids(synth([{ name: 'new-one' }, ...[...entries].reverse()]));
    expect(after).toEqual(expect.arrayContaining(before));
  });

  it('outputs the token secret ARN, credentials secret ARN and function name of each token', () => {
    const outputs = synth(entries).findOutputs('*');
    const names = Object.keys(outputs);
    for (const prefix of ['aemprodauthor', 'aemprodpublish', 'analytics']) {
      for (const suffix of ['TokenSecretArn', 'CredentialsSecretArn', 'FunctionName']) {
        expect(names.some((name) => name.startsWith(prefix + suffix))).toBe(true);
      }
    }
  });

  it('draws a dashboard with time to expiry and outcomes for every token', () => {
    const template = synth(entries);
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard!.Properties.DashboardBody);
    for (const name of ['aem-prod-author', 'aem-prod-publish', 'analytics']) {
      expect(body).toContain(`${name}: hours until the token expires`);
      expect(body).toContain(`${name}: runs by outcome`);
    }
  });
});
