import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ImsTokenStack, parseAppConfig } from '../../lib/index.js';
import { prose, read, section } from './markdown.js';

const ENV = { account: '111111111111', region: 'eu-west-1' };

/** Configurations that between them create every kind of resource the app can deploy. */
const CONFIGS: Record<string, unknown> = {
  default: { tokens: [{ name: 'aem-prod', credentialsSecret: 'create' }] },
  'alarm email': { alarmEmail: 'ops@example.com', tokens: [{ name: 'aem-prod' }] },
  'created key, cross-account readers, replicas, restricted token readers': {
    tokens: [
      {
        name: 'shared',
        encryptionKey: 'create',
        crossAccountReaders: ['222222222222'],
        replicaRegions: ['us-east-1'],
        restrictTokenReaders: true,
        tokenReaders: ['arn:aws:iam::111111111111:role/reader'],
      },
    ],
  },
  'existing secret, imported key, break-glass reader, topic, no reservation': {
    alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:on-call',
    reservedConcurrency: false,
    dashboard: false,
    tokens: [
      {
        name: 'existing',
        credentialsSecret: 'adobe/existing',
        restrictCredentialsReaders: true,
        credentialsReaders: ['arn:aws:iam::111111111111:role/ops/break-glass'],
        encryptionKey: 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        crossAccountReaders: ['arn:aws:iam::222222222222:role/reader'],
      },
    ],
  },
  'client secret rotation': {
    tokens: [{ name: 'oauth', credentialsType: 'oauth', rotateClientSecret: { everyDays: 90 } }],
  },
  'a VPC with a created Secrets Manager endpoint, a proxy': {
    tokens: [
      {
        name: 'locked',
        vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0aaa1111'] },
        secretsManagerEndpoint: 'create',
        httpsProxy: 'http://proxy.corp.example.com:3128',
      },
    ],
  },
};

type Resources = Record<string, { Type: string; DeletionPolicy?: string }>;

/** The resources of each configuration's stack, built as the app builds it (with the dashboard). */
function synthesized(): Resources[] {
  return Object.values(CONFIGS).map((raw) => {
    const config = parseAppConfig(raw);
    const app = new App();
    const stack = new ImsTokenStack(app, 'ImsTokenRefresher', { tokens: config.tokens, env: ENV });
    if (config.dashboard) stack.addDashboard(stack.refreshers.flatMap((refresher) => refresher.alarms));
    return Template.fromStack(stack).toJSON().Resources as Resources;
  });
}

const all = synthesized();
const typesWhere = (keep: (resource: Resources[string]) => boolean) =>
  new Set(
    all.flatMap((resources) =>
      Object.values(resources)
        .filter(keep)
        .map((resource) => resource.Type),
    ),
  );

/** The resource types in the second column of docs/deployer-permissions.md's table. */
function documentedTypes(): Set<string> {
  const rows = prose(read('docs/deployer-permissions.md')).matchAll(
    /^\| [^|]+ \| `(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)` \|/gm,
  );
  return new Set([...rows].map((match) => match[1]));
}

describe('docs/deployer-permissions.md', () => {
  it('lists exactly the resource types the templates contain', () => {
    const synthesizedTypes = typesWhere((resource) => resource.Type !== 'AWS::CDK::Metadata');
    expect([...documentedTypes()].sort()).toEqual([...synthesizedTypes].sort());
  });
});

describe('README: Remove', () => {
  it('names every resource type cdk destroy retains, and no other', () => {
    const retained = typesWhere((resource) => resource.DeletionPolicy === 'Retain');
    const named = new Set(
      [...section(read('README.md'), 'Remove').matchAll(/^\|[^|]+\(`(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)`\)/gm)].map(
        (match) => match[1],
      ),
    );
    expect([...named].sort()).toEqual([...retained].sort());
  });
});
