import { describe, expect, it } from 'vitest';
import { refreshReason } from '../../lambda/policy.js';
import type { TokenRecord } from '../../common/token.js';

const HOUR = 3_600_000;
const issued = Date.parse('2026-11-22T00:00:00Z');
const token: TokenRecord = {
  access_token: 'a',
  token_type: 'bearer',
  issued_at: new Date(issued).toISOString(),
  expires_at: new Date(issued + 24 * HOUR).toISOString(),
  client_id: 'c',
  ims_endpoint: 'ims-na1.adobelogin.com',
  credentials_version_id: 'v1',
  credentials_type: 'jwt',
};
const input = { token, credentialsVersionId: 'v1', now: issued, threshold: 0.5, force: false };

describe('refreshReason', () => {
  it.each([
    ['just issued', {}, undefined],
    ['11h59m old', { now: issued + 12 * HOUR - 60_000 }, undefined],
    ['exactly half its life', { now: issued + 12 * HOUR }, 'due'],
    ['expired', { now: issued + 25 * HOUR }, 'due'],
    ['threshold 0.25 at 17h', { now: issued + 17 * HOUR, threshold: 0.25 }, undefined],
    ['threshold 0.25 at 18h', { now: issued + 18 * HOUR, threshold: 0.25 }, 'due'],
    ['no token', { token: undefined }, 'no-token'],
    ['other credentials version', { credentialsVersionId: 'v2' }, 'credentials-changed'],
    ['forced', { force: true }, 'forced'],
  ] as const)('%s → %s', (_name, overrides, expected) => {
    expect(refreshReason({ ...input, ...overrides })).toBe(expected);
  });

  it("uses the token's own lifetime, not a fixed 24 h", () => {
    const short = { ...token, expires_at: new Date(issued + 2 * HOUR).toISOString() };
    expect(refreshReason({ ...input, token: short, now: issued + HOUR - 1 })).toBeUndefined();
    expect(refreshReason({ ...input, token: short, now: issued + HOUR })).toBe('due');
  });
});
