import { describe, expect, it } from 'vitest';
import { parseAppConfig, tokensByStack } from '../../lib/config.js';

describe('parseAppConfig', () => {
  it('accepts a minimal entry and defaults the credentials secret to "create"', () => {
    const config = parseAppConfig({ tokens: [{ name: 'aem-prod' }] });
    expect(config.tokens).toEqual([{ name: 'aem-prod', credentialsSecret: 'create' }]);
  });

  it('keeps every documented override', () => {
    const entry = {
      name: 'aem-stage',
      credentialsSecret: 'adobe/aem-stage',
      scheduleMinutes: 30,
      refreshThreshold: 0.6,
      imsBaseUrl: 'https://ims.proxy.example',
      credentialsType: 'oauth',
      tokenSecretName: 'adobe/aem-stage/token',
      encryptionKey: 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      crossAccountReaders: ['222222222222', 'arn:aws:iam::333333333333:role/aem-reader'],
      replicaRegions: ['us-east-1'],
      stack: 'AdobeTokens-stage',
    };
    expect(parseAppConfig({ tokens: [entry] }).tokens[0]).toEqual(entry);
  });

  it.each([
    [undefined, /must be an object with a "tokens" array/],
    [{ tokens: [] }, /"tokens" must be a non-empty array/],
    [{ tokens: [{ name: 'a' }], extra: 1 }, /unknown key "extra"/],
    [{ tokens: ['a'] }, /tokens\[0\] must be an object/],
    [{ tokens: [{ name: 'bad name' }] }, /tokens\[0\] "name" must be 1-40 letters/],
    [{ tokens: [{ name: 'a'.repeat(41) }] }, /tokens\[0\] "name"/],
    [{ tokens: [{ name: 'a' }, { name: 'A' }] }, /tokens\[1\] "name": "A" is used twice/],
    [{ tokens: [{ name: 'a', schedule: '1h' }] }, /tokens\[0\] has unknown key "schedule"/],
    [{ tokens: [{ name: 'a', scheduleMinutes: 0.5 }] }, /tokens "a" "scheduleMinutes" must be a whole number/],
    [{ tokens: [{ name: 'a', refreshThreshold: 2 }] }, /tokens "a" "refreshThreshold" must be a number between 0 and 1/],
    [{ tokens: [{ name: 'a', imsBaseUrl: 'not a url' }] }, /tokens "a" "imsBaseUrl" is not a URL/],
    [{ tokens: [{ name: 'a', imsBaseUrl: 'http://proxy.corp.example' }] }, /tokens "a" "imsBaseUrl" must use https/],
    [{ tokens: [{ name: 'a', imsBaseUrl: 'https://u:p@proxy.example' }] }, /tokens "a" "imsBaseUrl" must not carry a query, fragment or user info/],
    [{ tokens: [{ name: 'Dashboard' }] }, /tokens\[0\] "name": "Dashboard" is reserved/],
    [
      { tokens: [{ name: 'a', credentialsSecret: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:adobe/aem-prod' }] },
      /tokens "a" "credentialsSecret" must be a complete ARN, ending in the 6-character suffix/,
    ],
    [{ tokens: [{ name: 'a', credentialsType: 'saml' }] }, /tokens "a" "credentialsType" must be "jwt" or "oauth"/],
    [{ tokens: [{ name: 'a', credentialsSecret: 42 }] }, /tokens "a" "credentialsSecret" must be "create" or a secret name or ARN/],
    [{ tokens: [{ name: 'a', tokenSecretName: 'has spaces' }] }, /tokens "a" "tokenSecretName" must be a secret name/],
    [{ tokens: [{ name: 'a', stack: '1st' }] }, /tokens "a" "stack" must be a stack name/],
    [{ tokens: [{ name: 'a', encryptionKey: 'alias/aws/secretsmanager' }] }, /tokens "a" "encryptionKey" must be "create" or a KMS key ARN/],
    [{ tokens: [{ name: 'a', encryptionKey: 'create', crossAccountReaders: ['2222'] }] }, /tokens "a" "crossAccountReaders" must list 12-digit/],
    [{ tokens: [{ name: 'a', encryptionKey: 'create', crossAccountReaders: [] }] }, /tokens "a" "crossAccountReaders" must list/],
    [{ tokens: [{ name: 'a', crossAccountReaders: ['222222222222'] }] }, /tokens "a" "crossAccountReaders" needs "encryptionKey"/],
    [{ tokens: [{ name: 'a', replicaRegions: 'us-east-1' }] }, /tokens "a" "replicaRegions" must list region names/],
  ])('rejects %j naming the entry and field', (raw, message) => {
    expect(() => parseAppConfig(raw)).toThrow(message);
  });
});

describe('tokensByStack', () => {
  it('groups tokens by their "stack", the rest in the default stack, keeping configuration order', () => {
    const config = parseAppConfig({
      tokens: [{ name: 'a' }, { name: 'b', stack: 'Other' }, { name: 'c' }, { name: 'd', stack: 'Other' }],
    });
    const names = [...tokensByStack(config, 'Main')].map(([stack, tokens]) => [stack, tokens.map((t) => t.name)]);
    expect(names).toEqual([
      ['Main', ['a', 'c']],
      ['Other', ['b', 'd']],
    ]);
  });
});
