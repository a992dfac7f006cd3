import { describe, expect, it } from 'vitest';
import { readConfig } from '../../lambda/config.js';

const base = { CREDENTIALS_SECRET_ID: 'creds', TOKEN_SECRET_ID: 'token' };

describe('readConfig', () => {
  it('applies documented defaults', () => {
    expect(readConfig(base)).toEqual({
      credentialsSecretId: 'creds',
      tokenSecretId: 'token',
      imsBaseUrl: undefined,
      credentialsType: undefined,
      refreshThreshold: 0.5,
    });
  });

  it('reads every optional variable', () => {
    const config = readConfig({
      ...base,
      IMS_BASE_URL: 'https://ims.proxy.example/',
      CREDENTIALS_TYPE: 'oauth',
      REFRESH_THRESHOLD: '0.3',
    });
    expect(config).toMatchObject({
      imsBaseUrl: 'https://ims.proxy.example',
      credentialsType: 'oauth',
      refreshThreshold: 0.3,
    });
  });

  it('allows plain http for a loopback peer only', () => {
    expect(readConfig({ ...base, IMS_BASE_URL: 'http://127.0.0.1:8080' }).imsBaseUrl).toBe('http://127.0.0.1:8080');
    expect(() => readConfig({ ...base, IMS_BASE_URL: 'http://ims.example' })).toThrow('IMS_BASE_URL must use https');
  });

  it.each([
    [{ TOKEN_SECRET_ID: 't' }, 'environment variable CREDENTIALS_SECRET_ID is required'],
    [{ CREDENTIALS_SECRET_ID: 'c', TOKEN_SECRET_ID: ' ' }, 'environment variable TOKEN_SECRET_ID is required'],
    [{ CREDENTIALS_SECRET_ID: 'same', TOKEN_SECRET_ID: 'same' }, 'must name different secrets'],
    [{ ...base, IMS_BASE_URL: 'ims-na1.adobelogin.com' }, 'IMS_BASE_URL is not a URL'],
    [{ ...base, IMS_BASE_URL: 'https://user:pw@ims.example' }, 'IMS_BASE_URL must not carry'],
    [{ ...base, CREDENTIALS_TYPE: 'saml' }, 'CREDENTIALS_TYPE must be "jwt" or "oauth"'],
    [{ ...base, REFRESH_THRESHOLD: '1' }, 'REFRESH_THRESHOLD must be a number between 0 and 1'],
    [{ ...base, REFRESH_THRESHOLD: 'half' }, 'REFRESH_THRESHOLD must be a number between 0 and 1'],
  ])('rejects %j', (env, message) => {
    expect(() => readConfig(env)).toThrow(
      expect.objectContaining({
        name: 'ConfigurationError',
        code: 'CONFIG_INVALID',
        message: expect.stringContaining(message),
      }),
    );
  });
});
