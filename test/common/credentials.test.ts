import { beforeAll, describe, expect, it } from 'vitest';
import { parseCredentials, withClientSecrets, type ParseOptions } from '../../common/credentials.js';
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

describe('parseCredentials: client secret uuids, org id and credential id (rotation)', () => {
  const project = () => JSON.parse(generateOAuthCredentials({ shape: 'project', clientSecrets: 2 }).json);
  const s2sOf = (document: any) => document.project.workspace.details.credentials[0].oauth_server_to_server;

  it('reads the simple shape\'s "clientSecretUuids" parallel to "clientSecrets"', () => {
    const document = {
      ...oauth,
      clientSecret: undefined,
      clientSecrets: ['secret-one-0123456789', 'secret-two-0123456789'],
    };
    const credentials = parseCredentials(JSON.stringify({ ...document, clientSecretUuids: ['uuid-1', 'uuid-2'] }));
    expect(credentials).toMatchObject({ clientSecretUuids: ['uuid-1', 'uuid-2'] });
    expect(parseCredentials(JSON.stringify(document))).not.toHaveProperty('clientSecretUuids');
  });

  it('reads the project download\'s "client_secret_uuids", "project.org.id" and the credential\'s "id"', () => {
    const document = project();
    s2sOf(document).client_secret_uuids = ['a-1', 'b-2'];
    document.project.org.id = 23294;
    const credentials = parseCredentials(JSON.stringify(document));
    expect(credentials).toMatchObject({
      clientSecretUuids: ['a-1', 'b-2'],
      orgId: '23294',
      credentialId: document.project.workspace.details.credentials[0].id,
    });
    document.project.org.id = '23294';
    expect(parseCredentials(JSON.stringify(document))).toMatchObject({ orgId: '23294' });
  });

  it.each([
    [
      'a length mismatch',
      (d: any) => (s2sOf(d).client_secret_uuids = ['only-one']),
      /client_secret_uuids" holds 1 uuids for 2 client secrets/,
    ],
    [
      'a uuid with a slash',
      (d: any) => (s2sOf(d).client_secret_uuids = ['a', '../b']),
      /client_secret_uuids\[1\]" is not 1-64 letters/,
    ],
    [
      'uuids that are not a list',
      (d: any) => (s2sOf(d).client_secret_uuids = 'a,b'),
      /client_secret_uuids" is not a list/,
    ],
    [
      'an IMS org id as org id',
      (d: any) => (d.project.org.id = 'ABC@AdobeOrg'),
      /"project.org.id" is not a numeric Developer Console org id/,
    ],
    [
      'a credential id with a path',
      (d: any) => (d.project.workspace.details.credentials[0].id = 'x/y'),
      /credentials\[0\].id" is not 1-64 letters/,
    ],
  ])('refuses %s as CREDENTIALS_INVALID naming the field, never the value', (_name, spoil, message) => {
    const document = project();
    spoil(document);
    expect(() => parseCredentials(JSON.stringify(document))).toThrow(
      expect.objectContaining({ code: 'CREDENTIALS_INVALID', message: expect.stringMatching(message) }),
    );
  });

  it('refuses the same uuid twice: one Adobe secret cannot be two of the client secrets', () => {
    expect(() =>
      parseCredentials(
        JSON.stringify({
          ...JSON.parse(generateOAuthCredentials({ clientSecrets: 2 }).json),
          clientSecretUuids: ['a', 'a'],
        }),
      ),
    ).toThrow('"clientSecretUuids" holds the uuid "a" twice');
  });

  it('refuses a simple shape whose uuids do not match its single "clientSecret"', () => {
    expect(() => parseCredentials(JSON.stringify({ ...oauth, clientSecretUuids: ['a', 'b'] }))).toThrow(
      '"clientSecretUuids" holds 2 uuids for 1 client secrets; they are parallel lists',
    );
  });
});

describe('withClientSecrets: the rotation writes the shape it read', () => {
  const entries = [
    { secret: 'p8e-new-secret-0123456789', uuid: 'uuid-new' },
    { secret: 'p8e-working-secret-0123456789', uuid: 'uuid-working' },
  ];

  it('turns a single "clientSecret" into "clientSecrets" in its place, with uuids, every other key kept', () => {
    const document = {
      clientId: 'client',
      clientSecret: 'old-secret-0123456789',
      scopes: 'openid',
      note: { kept: true },
    };
    const written = JSON.parse(withClientSecrets(JSON.stringify(document), entries));
    expect(written).toEqual({
      clientId: 'client',
      clientSecrets: ['p8e-new-secret-0123456789', 'p8e-working-secret-0123456789'],
      scopes: 'openid',
      note: { kept: true },
      clientSecretUuids: ['uuid-new', 'uuid-working'],
    });
    expect(Object.keys(written)).toEqual(['clientId', 'clientSecrets', 'scopes', 'note', 'clientSecretUuids']);
    expect(parseCredentials(JSON.stringify(written))).toMatchObject({
      clientSecrets: entries.map((e) => e.secret),
      clientSecretUuids: ['uuid-new', 'uuid-working'],
    });
  });

  it('replaces "clientSecrets" and "clientSecretUuids" of the simple shape', () => {
    const document = {
      clientId: 'c',
      clientSecrets: ['a-0123456789abcdef', 'b-0123456789abcdef'],
      clientSecretUuids: ['a', 'b'],
      scopes: 'openid',
    };
    const written = JSON.parse(withClientSecrets(JSON.stringify(document), entries.slice(0, 1)));
    expect(written).toEqual({
      clientId: 'c',
      clientSecrets: [entries[0].secret],
      clientSecretUuids: ['uuid-new'],
      scopes: 'openid',
    });
  });

  it('writes only the chosen credential of a project download, leaving the others and every other key untouched', () => {
    const { json } = generateOAuthCredentials({ shape: 'project', otherCredentials: 1 });
    const document = JSON.parse(json);
    const chosen = document.project.workspace.details.credentials[1].name;
    const written = JSON.parse(withClientSecrets(json, entries, { credentialName: chosen }));
    const expected = structuredClone(document);
    Object.assign(expected.project.workspace.details.credentials[1].oauth_server_to_server, {
      client_secrets: entries.map((e) => e.secret),
      client_secret_uuids: ['uuid-new', 'uuid-working'],
    });
    expect(written).toEqual(expected);
  });

  it.each([
    ['no secrets', []],
    ['three secrets', [...entries, entries[0]]],
    ['a bad uuid', [{ secret: 'p8e-x-0123456789abcdef', uuid: 'a b' }]],
  ])('refuses %s', (_name, list) => {
    expect(() => withClientSecrets(JSON.stringify(oauth), list)).toThrow(
      expect.objectContaining({ code: 'CREDENTIALS_INVALID' }),
    );
  });

  it('refuses AEM service credentials: their secret is not rotated by API', () => {
    expect(() => withClientSecrets(JSON.stringify(wrapped), entries)).toThrow(
      'only OAuth Server-to-Server credentials',
    );
  });
});
