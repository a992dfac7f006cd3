import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/bundle.js';
import { EXAMPLE } from '../../scripts/synth.js';
import { SHARED_FIELDS, TOKEN_FIELDS } from '../../lib/config/fields.js';
import { anchors, headings, isExternal, links, ownedDocs, read, section, slug, target } from './markdown.js';

const README = read('README.md');

/** The README's sections, in the order the user needs them. */
const SECTIONS = [
  'Contents',
  'Try it locally',
  'Install',
  'First deploy',
  'Configure',
  'Read the token',
  'Operate',
  'Remove',
  'Troubleshoot',
  'More documentation',
];

describe('README', () => {
  it('stays at most 25,000 bytes', () => {
    expect(Buffer.byteLength(README)).toBeLessThanOrEqual(25_000);
  });

  it('has its sections in order, the table of contents first, right after the intro', () => {
    const level2 = headings(README)
      .filter((heading) => heading.level === 2)
      .map((heading) => heading.text);
    expect(level2).toEqual(SECTIONS);
  });

  it('lists every other section in its table of contents, and every entry leads to a heading', () => {
    const toc = links(section(README, 'Contents'));
    expect(toc).toEqual(SECTIONS.slice(1).map((title) => `#${slug(title)}`));
    for (const link of toc) expect(anchors(README)).toContain(link.slice(1));
  });
});

describe("the README's example configuration", () => {
  // The first JSON block of "Configure", as written (fenced code included: `section` drops it).
  const configure = README.slice(README.indexOf('\n## Configure\n'), README.indexOf('\n## Read the token\n'));
  const block = /^```json\n([\s\S]*?)^```$/m.exec(configure)?.[1];

  it('is examples/tokens.json, byte for byte', () => {
    expect(block).toBeDefined();
    expect(readFileSync(join(ROOT, EXAMPLE.config), 'utf8')).toBe(block);
  });

  it('is what npm run synth synthesized into cdk.out: a refresher for each of its tokens', () => {
    const { tokens } = JSON.parse(block!) as { tokens: { name: string }[] };
    const template = JSON.parse(readFileSync(join(EXAMPLE.cdkOut, 'ImsTokenRefresher.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: any; Metadata?: Record<string, string> }>;
    };
    // The refreshers: the functions given a token secret, as test/sandbox/bundle.ts finds them.
    const functions = Object.values(template.Resources)
      .filter((resource) => resource.Type === 'AWS::Lambda::Function')
      .filter((resource) => resource.Properties.Environment?.Variables?.TOKEN_SECRET_ID)
      .map((resource) => resource.Metadata?.['aws:cdk:path']);
    expect(functions).toEqual(tokens.map(({ name }) => `ImsTokenRefresher/${name}/Function/Resource`));
  });
});

describe("the README's table of configuration keys", () => {
  const rows = [...section(README, 'Configure').matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((match) => match[1]);
  const shared = Object.keys(SHARED_FIELDS);

  it('lists every key of a token, each once', () => {
    expect([...rows].sort()).toEqual([...new Set([...Object.keys(TOKEN_FIELDS), ...shared])].sort());
  });

  it('puts the keys that may also be set at the top level last, and says how many', () => {
    expect(new Set(rows.slice(-shared.length))).toEqual(new Set(shared));
    const words = ['ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen'];
    expect(section(README, 'Configure')).toContain(
      `The last ${words[shared.length - 10]} keys may also be set at the top level`,
    );
  });
});

describe('links in README, CONTRIBUTING and docs/', () => {
  it.each(ownedDocs())(
    '%s: every relative link points at an existing file, and every anchor at a heading there',
    (file) => {
      const broken: string[] = [];
      for (const link of links(read(file)).filter((link) => !isExternal(link))) {
        const { path, anchor } = target(file, link);
        if (!existsSync(join(ROOT, path))) broken.push(`${link}: no file ${path}`);
        else if (anchor && path.endsWith('.md') && !anchors(read(path)).has(anchor))
          broken.push(`${link}: no heading #${anchor} in ${path}`);
      }
      expect(broken).toEqual([]);
    },
  );
});
