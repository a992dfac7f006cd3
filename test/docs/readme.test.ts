import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/bundle.js';
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
