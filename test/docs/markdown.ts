import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from '../../scripts/bundle.js';

/** The hand-written documentation this suite holds to its rules (the generated reference has its own test). */
export function ownedDocs(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name));
  return ['README.md', 'CONTRIBUTING.md', ...docs];
}

export const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** Markdown without fenced code blocks, whose `#` lines and brackets are not headings or links. */
export const prose = (markdown: string): string => markdown.replace(/^```[\s\S]*?^```$/gm, '');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

export interface Heading {
  readonly level: number;
  readonly text: string;
}

export function headings(markdown: string): Heading[] {
  return [...prose(markdown).matchAll(/^(#{1,6}) +(.+?)\s*$/gm)].map((match) => ({
    level: match[1].length,
    text: match[2],
  }));
}

export const anchors = (markdown: string): Set<string> =>
  new Set(headings(markdown).map((heading) => slug(heading.text)));

/** Every link target of a markdown file: `[text](target)`, outside code. */
export function links(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]);
}

/** The lines of one `## ` section (up to the next `## ` heading), without its code blocks unless `code` is set. */
export function section(markdown: string, title: string, { code = false } = {}): string {
  const lines = (code ? markdown : prose(markdown)).split('\n');
  const start = lines.findIndex((line) => line === `## ${title}`);
  if (start < 0) throw new Error(`no section "## ${title}"`);
  const end = lines.findIndex((line, index) => index > start && line.startsWith('## '));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** The contents of the fenced code blocks of `language` (```json …```) in `markdown`, in order. */
export function codeBlocks(markdown: string, language: string): string[] {
  const fence = new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm');
  return [...markdown.matchAll(fence)].map((match) => match[1]);
}

/** Resolves a relative link from `file` to a repository path and an optional anchor. */
export function target(file: string, link: string): { path: string; anchor: string | undefined } {
  const [path = '', anchor] = link.split('#');
  return { path: path ? relative(ROOT, resolve(ROOT, dirname(file), path)) : file, anchor };
}

export const isExternal = (link: string): boolean => /^[a-z]+:/i.test(link);
