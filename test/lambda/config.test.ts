import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../common/errors.js';
import { readConfig, readRotationConfig } from '../../lambda/config.js';

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

  it('reads the proxy: HTTPS_PROXY, NO_PROXY and PROXY_CREDENTIALS_SECRET_ID', () => {
    const config = readConfig({
      ...base,
      HTTPS_PROXY: 'http://proxy.corp.example:3128',
      NO_PROXY: 'secretsmanager.eu-central-1.amazonaws.com, .internal.example',
      PROXY_CREDENTIALS_SECRET_ID: 'proxy/credentials',
    });
    expect(config).toMatchObject({
      proxy: {
        host: 'proxy.corp.example',
        port: 3128,
        noProxy: ['secretsmanager.eu-central-1.amazonaws.com', '.internal.example'],
      },
      proxyCredentialsSecretId: 'proxy/credentials',
    });
    expect(readConfig({ ...base, NO_PROXY: '.internal.example' }).proxy).toBeUndefined();
  });

  it('never repeats a proxy URL it refuses: it could hold credentials', () => {
    expect(() => readConfig({ ...base, HTTPS_PROXY: 'http://me:pass-word-1234@proxy:3128' })).toThrow(
      new ConfigurationError('HTTPS_PROXY must not contain credentials; keep them in the proxy credentials secret'),
    );
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
    [{ ...base, HTTPS_PROXY: 'https://proxy:3128' }, 'HTTPS_PROXY must be http://host:port'],
    [{ ...base, HTTPS_PROXY: 'http://proxy' }, 'HTTPS_PROXY must be http://host:port'],
    [{ ...base, HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'a.example,b.example:443' }, 'NO_PROXY entry 2 is not'],
    [{ ...base, PROXY_CREDENTIALS_SECRET_ID: 'p' }, 'PROXY_CREDENTIALS_SECRET_ID needs HTTPS_PROXY'],
    [
      { ...base, HTTPS_PROXY: 'http://proxy:3128', PROXY_CREDENTIALS_SECRET_ID: 'token' },
      'PROXY_CREDENTIALS_SECRET_ID must name a secret of its own',
    ],
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

describe('readRotationConfig', () => {
  it('needs only TOKEN_SECRET_ID (the credentials secret comes with each event) and retires after 24 h by default', () => {
    expect(readRotationConfig({ TOKEN_SECRET_ID: 'token' })).toEqual({
      tokenSecretId: 'token',
      imsBaseUrl: undefined,
      adobeApiBaseUrl: undefined,
      credentialName: undefined,
      orgId: undefined,
      credentialId: undefined,
      retireAfterMs: 24 * 3_600_000,
    });
  });

  it('reads every optional variable', () => {
    expect(
      readRotationConfig({
        TOKEN_SECRET_ID: 'token',
        IMS_BASE_URL: 'http://127.0.0.1:8080',
        ADOBE_API_BASE_URL: 'http://localhost:9090/',
        CREDENTIAL_NAME: 'Prod',
        ADOBE_ORG_ID: '23294',
        ADOBE_CREDENTIAL_ID: 'abc-123',
        RETIRE_AFTER_HOURS: '72',
        HTTPS_PROXY: 'http://proxy.internal:3128',
      }),
    ).toMatchObject({
      imsBaseUrl: 'http://127.0.0.1:8080',
      adobeApiBaseUrl: 'http://localhost:9090',
      credentialName: 'Prod',
      orgId: '23294',
      credentialId: 'abc-123',
      retireAfterMs: 72 * 3_600_000,
      proxy: { host: 'proxy.internal', port: 3128 },
    });
  });

  it.each([
    [{ TOKEN_SECRET_ID: ' ' }, 'environment variable TOKEN_SECRET_ID is required'],
    [{ ADOBE_API_BASE_URL: 'http://api.adobe.io' }, 'ADOBE_API_BASE_URL must use https'],
    [{ ADOBE_ORG_ID: 'ABC@AdobeOrg' }, 'ADOBE_ORG_ID must be the numeric Developer Console org id'],
    [{ ADOBE_CREDENTIAL_ID: '../x' }, 'ADOBE_CREDENTIAL_ID must be 1-64 letters'],
    [{ RETIRE_AFTER_HOURS: '0' }, 'RETIRE_AFTER_HOURS must be a whole number of hours between 1 and 720'],
    [{ RETIRE_AFTER_HOURS: '721' }, 'RETIRE_AFTER_HOURS must be a whole number'],
    [{ RETIRE_AFTER_HOURS: '1.5' }, 'RETIRE_AFTER_HOURS must be a whole number'],
    [
      { HTTPS_PROXY: 'http://p:1', PROXY_CREDENTIALS_SECRET_ID: 'token' },
      'PROXY_CREDENTIALS_SECRET_ID must name a secret of its own',
    ],
  ])('refuses %j', (env, message) => {
    expect(() => readRotationConfig({ TOKEN_SECRET_ID: 'token', ...env })).toThrow(ConfigurationError);
    expect(() => readRotationConfig({ TOKEN_SECRET_ID: 'token', ...env })).toThrow(message);
  });
});
