import { beforeAll, describe, expect, it } from 'vitest';
import { parseCredentials, type ParseOptions } from '../../common/credentials.js';
import { generateJwtCredentials, generateOAuthCredentials, type KeyFormat } from '../sandbox/test-credentials.js';

/** The shape-detection table: which kind each credentials document is read as, or why it is refused. */
let wrapped: Record<string, any>;
beforeAll(async () => {
  wrapped = JSON.parse((await generateJwtCredentials({ keyFormat: 'pkcs8', wrapped: true })).json);
});
const oauth = JSON.parse(generateOAuthCredentials({}).json);

describe('parseCredentials: shape detection', () => {
  const cases: [string, () => unknown, ParseOptions, 'jwt' | 'oauth' | RegExp][] = [
    ['AEM JSON with the ok/statusCode wrapper', () => wrapped, {}, 'jwt'],
    ['AEM JSON without the wrapper', () => wrapped.integration, {}, 'jwt'],
    ['OAuth with comma-separated scopes', () => oauth, {}, 'oauth'],
    ['OAuth with an array of scopes', () => ({ ...oauth, scopes: ['openid', 'AdobeID'] }), {}, 'oauth'],
    ['OAuth pinned by configuration', () => oauth, { type: 'oauth' }, 'oauth'],
    ['both shapes, unpinned', () => ({ ...wrapped, ...oauth }), {}, /mix shapes: .*keep one, or set CREDENTIALS_TYPE/],
    ['both shapes, pinned to jwt', () => ({ ...wrapped, ...oauth }), { type: 'jwt' }, 'jwt'],
    ['both shapes, pinned to oauth', () => ({ ...wrapped, ...oauth }), { type: 'oauth' }, 'oauth'],
    [
      'neither shape',
      () => ({ token: 'x' }),
      {},
      /not AEM service credentials \("integration"\), an Adobe Developer Console project download \("project"\) or OAuth .*\("clientId"\)/,
    ],
    ['AEM JSON pinned to oauth', () => wrapped, { type: 'oauth' }, /"clientId" is missing/],
  ];

  it.each(cases)('%s', (_name, document, options, expected) => {
    const parse = () => parseCredentials(JSON.stringify(document()), options);
    if (expected instanceof RegExp) expect(parse).toThrow(expected);
    else expect(parse().type).toBe(expected);
  });
});

describe('parseCredentials: values', () => {
  it('reads AEM service credentials into the fields the JWT needs', () => {
    const credentials = parseCredentials(
      JSON.stringify({
        ...wrapped,
        integration: { ...wrapped.integration, metascopes: 'ent_aem_cloud_api, ent_cloudmgr_sdk' },
      }),
    );
    expect(credentials).toMatchObject({
      type: 'jwt',
      clientId: wrapped.integration.technicalAccount.clientId,
      org: wrapped.integration.org,
      technicalAccountId: wrapped.integration.id,
      imsEndpoint: 'ims-na1.adobelogin.com',
      metascopes: ['ent_aem_cloud_api', 'ent_cloudmgr_sdk'],
    });
  });

  it('defaults the OAuth IMS host and lower-cases a given one', () => {
    expect(parseCredentials(JSON.stringify(oauth))).toMatchObject({
      imsEndpoint: 'ims-na1.adobelogin.com',
      scopes: ['openid', 'AdobeID', 'read_organizations'],
    });
    expect(parseCredentials(JSON.stringify({ ...oauth, imsEndpoint: 'IMS-NA1.adobelogin.com' })).imsEndpoint).toBe(
      'ims-na1.adobelogin.com',
    );
  });

  it('accepts a non-Adobe IMS host only when IMS_BASE_URL is set explicitly', () => {
    const proxied = JSON.stringify({ ...oauth, imsEndpoint: 'ims.proxy.example' });
    expect(() => parseCredentials(proxied)).toThrow(
      '"imsEndpoint" is not an Adobe IMS host (*.adobelogin.com); set IMS_BASE_URL to use another',
    );
    expect(parseCredentials(proxied, { allowAnyImsHost: true }).imsEndpoint).toBe('ims.proxy.example');
  });

  it.each(['pkcs1-crlf', 'pkcs8', 'escaped-newlines'] as KeyFormat[])(
    'reads a %s private key as an RSA key',
    async (keyFormat) => {
      const { json } = await generateJwtCredentials({ keyFormat, wrapped: false });
      const credentials = parseCredentials(json);
      expect(credentials.type === 'jwt' && credentials.privateKey.asymmetricKeyType).toBe('rsa');
    },
  );
});
