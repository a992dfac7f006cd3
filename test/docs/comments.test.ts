import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Comments cite public sources or files in the repository, never a file outside it (style guide
 * rule 19): every markdown file a `.ts` comment names must exist, at the repository root or
 * under `docs/`. Links (https URLs) are public sources and are not checked here.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'cdk.out', 'assets', '.git']);
const MARKDOWN_FILE = /[\w./-]+\.md\b/g;
const LINK = /\bhttps?:\/\/\S+/g;

function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : typeScriptFiles(join(dir, entry.name));
    return entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [];
  });
}

/** The text of every comment in `source`, as the TypeScript parser sees them (not strings or templates). */
function comments(fileName: string, source: string): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false);
  const seen = new Map<number, string>();
  const collect = (ranges: ts.CommentRange[] | undefined) => {
    for (const range of ranges ?? []) seen.set(range.pos, source.slice(range.pos, range.end));
  };
  const visit = (node: ts.Node) => {
    collect(ts.getLeadingCommentRanges(source, node.pos));
    collect(ts.getTrailingCommentRanges(source, node.end));
    ts.forEachChild(node, visit);
  };
  visit(file);
  return [...seen.values()];
}

/** The markdown files the comments of `source` name, links left out. */
function citedMarkdown(fileName: string, source: string): string[] {
  return comments(fileName, source).flatMap((text) => text.replace(LINK, '').match(MARKDOWN_FILE) ?? []);
}

/**
 * The fixtures below name markdown files that do not exist; they are spelled with `MD` so that this
 * file itself cites none of them.
 */
const MD = '.md';

function existsInRepository(path: string): boolean {
  return existsSync(join(ROOT, path)) || existsSync(join(ROOT, 'docs', path));
}

describe('markdown files cited in comments', () => {
  it('finds citations in comments only, and leaves links out', () => {
    const source = [
      `/** See docs/protocol${MD} §3 and notes${MD}. */`,
      `const path = 'README${MD}'; // and guide${MD}`,
      `const text = \`not-a-comment${MD} \${1 /* inner${MD} */}\`;`,
      `// https://github.com/AdobeDocs/adobe-dev-console/blob/main/src/pages/faqs${MD} is a link`,
    ].join('\n');

    expect(citedMarkdown('fixture.ts', source).sort()).toEqual(
      ['docs/protocol', 'guide', 'inner', 'notes'].map((name) => name + MD),
    );
  });

  it('resolves each citation against the repository root and docs/', () => {
    expect(existsInRepository('README.md')).toBe(true);
    expect(existsInRepository('protocol.md')).toBe(true);
    expect(existsInRepository(`ims-protocol${MD}`)).toBe(false);
  });

  it('cites only markdown files that exist in the repository', () => {
    const files = typeScriptFiles(ROOT);
    const missing = files.flatMap((file) =>
      citedMarkdown(file, readFileSync(file, 'utf8'))
        .filter((cited) => !existsInRepository(cited))
        .map((cited) => `${relative(ROOT, file)}: ${cited}`),
    );

    expect(files.length).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });
});
