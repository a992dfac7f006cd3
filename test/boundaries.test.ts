/**
 * The layers' boundaries, checked on the import graph: every static `import … from`,
 * `export … from`, `import('…')` and `require('…')` in the shipped folders, parsed with the
 * TypeScript compiler (so comments and strings are not imports). Relative specifiers are followed
 * to their files, so the rules hold transitively; package specifiers are judged by name.
 *
 * Under `verbatimModuleSyntax` only `import type` / `export type` (and `import('…')` types)
 * vanish at runtime; `import { type A } from 'x'` still loads `x`, so it counts as a runtime
 * import.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHIPPED = ['lib', 'lambda', 'reader', 'common', 'cli'] as const;
const REPO_ONLY = ['bin', 'scripts', 'bench', 'test'] as const;
/** Inlined into the Lambda's bundle by scripts/bundle.ts (nothing is external there). */
const LAMBDA_BUNDLED = ['jose', '@aws-lambda-powertools/logger'];

interface Import {
  /** Path of the importing file, relative to the repository root. */
  readonly from: string;
  readonly specifier: string;
  /** Erased at runtime. */
  readonly typeOnly: boolean;
  /** The imported file, relative to the root, for a relative specifier that resolves. */
  readonly file?: string;
  /** The package name (`@scope/name` or `name`), for a bare specifier. */
  readonly packageName?: string;
}

const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<
  string,
  Record<string, string> | undefined
>;
const dependencies = Object.keys(packageJson.dependencies ?? {});
const peerDependencies = Object.keys(packageJson.peerDependencies ?? {});
const devDependencies = Object.keys(packageJson.devDependencies ?? {});

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(dir, file))
    .sort();
}

/** `./x.js` → `x.ts` (or `x/index.ts`), as TypeScript's bundler resolution finds it. */
function resolveRelative(from: string, specifier: string): string | undefined {
  const base = resolve(ROOT, dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')];
  const found = candidates.find((path) => existsSync(path) && statSync(path).isFile());
  return found && relative(ROOT, found);
}

function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(specifier);
}

/** The imports in `text`, the source of `from`. */
function importsOf(from: string, text: string): Import[] {
  const source = ts.createSourceFile(from, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Import[] = [];
  const add = (node: ts.Node | undefined, typeOnly: boolean) => {
    // A computed specifier cannot be judged: it is reported as such by the package rule.
    const specifier = node && ts.isStringLiteralLike(node) ? node.text : `<computed: ${node?.getText(source) ?? ''}>`;
    const relativeSpecifier = specifier.startsWith('.');
    const computed = specifier.startsWith('<computed');
    found.push({
      from,
      specifier,
      typeOnly,
      ...(relativeSpecifier ? { file: resolveRelative(from, specifier) } : {}),
      ...(!relativeSpecifier && !computed ? { packageName: packageNameOf(specifier) } : {}),
    });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false);
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier) add(node.moduleSpecifier, node.isTypeOnly);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal, true);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require'))
        add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const graph = new Map<string, Import[]>();
function importsOfFile(file: string): Import[] {
  let imports = graph.get(file);
  if (!imports) graph.set(file, (imports = importsOf(file, readFileSync(join(ROOT, file), 'utf8'))));
  return imports;
}

/**
 * Every import of every file reachable from the `.ts` files under `folders` through relative
 * imports (type-only ones included: declarations ship too), with the chain that reached it. An
 * import that `stop` flags is listed but not followed, so an offence is reported where it starts.
 */
function reachableImports(
  folders: readonly string[],
  stop: (edge: Import) => boolean = () => false,
): { readonly edge: Import; readonly via: readonly string[] }[] {
  const chains = new Map<string, readonly string[]>(
    folders.flatMap((folder) => tsFiles(folder)).map((file) => [file, []]),
  );
  const queue = [...chains.keys()];
  const result: { edge: Import; via: readonly string[] }[] = [];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const via = chains.get(file)!;
    for (const edge of importsOfFile(file)) {
      result.push({ edge, via });
      if (edge.file && !chains.has(edge.file) && !stop(edge)) {
        chains.set(edge.file, [...via, file]);
        queue.push(edge.file);
      }
    }
  }
  return result;
}

function under(file: string | undefined, folders: readonly string[]): boolean {
  return file !== undefined && folders.some((folder) => file.startsWith(`${folder}/`));
}

/** `file → import` lines, with the chain for a file reached from another folder. */
function offenders(folders: readonly string[], isOffence: (edge: Import) => boolean): string[] {
  return reachableImports(folders, isOffence)
    .filter(({ edge }) => isOffence(edge))
    .map(
      ({ edge, via }) =>
        `${edge.from} → ${edge.specifier}${via.length > 0 ? ` (reached from ${via.join(' → ')})` : ''}`,
    );
}

describe('boundaries', () => {
  it('sees the imports it judges', () => {
    // Guards the rules below against passing because the walker found nothing.
    const edges = reachableImports(SHIPPED).map(({ edge }) => edge);
    const seen = (from: string, to: (edge: Import) => boolean) =>
      edges.some((edge) => under(edge.from, [from]) && to(edge));

    expect(seen('reader', (edge) => under(edge.file, ['common']))).toBe(true);
    expect(seen('lib', (edge) => edge.packageName === 'aws-cdk-lib')).toBe(true);
    expect(seen('lambda', (edge) => edge.packageName === 'jose')).toBe(true);
  });

  it('reads every form of import, and which vanish at runtime', () => {
    // Prepare
    const text = [
      "// import 'commented-out';",
      "import a from 'pkg-a/sub';",
      "import type { B } from '@scope/pkg-b';",
      "import { type C } from './c.js';",
      "export { d } from 'pkg-d';",
      "export type { E } from 'pkg-e';",
      "const f = await import('pkg-f');",
      "const g = require('pkg-g');",
      "type H = import('pkg-h').H;",
      'const i = await import(name);',
      'const s = \'import j from "pkg-j"\';',
    ].join('\n');

    // Act
    const found = importsOf('common/example.ts', text).map(
      (edge) => `${edge.packageName ?? edge.specifier}${edge.typeOnly ? ' (type)' : ''}`,
    );

    // Assess
    expect(found).toEqual([
      'pkg-a',
      '@scope/pkg-b (type)',
      './c.js',
      'pkg-d',
      'pkg-e (type)',
      'pkg-f',
      'pkg-g',
      'pkg-h (type)',
      '<computed: name>',
    ]);
  });

  it('resolves every relative import to a file', () => {
    expect(offenders(SHIPPED, (edge) => edge.specifier.startsWith('.') && edge.file === undefined)).toEqual([]);
  });

  it('keeps lambda/, reader/, common/ and cli/ free of lib/, aws-cdk-lib and constructs', () => {
    const cdk = new Set(['aws-cdk-lib', 'constructs']);

    expect(
      offenders(
        ['lambda', 'reader', 'common', 'cli'],
        (edge) => under(edge.file, ['lib']) || cdk.has(edge.packageName ?? ''),
      ),
    ).toEqual([]);
  });

  it('keeps common/ free of lambda/, reader/ and cli/', () => {
    expect(offenders(['common'], (edge) => under(edge.file, ['lambda', 'reader', 'cli']))).toEqual([]);
  });

  it('keeps reader/ free of lambda/ and cli/', () => {
    expect(offenders(['reader'], (edge) => under(edge.file, ['lambda', 'cli']))).toEqual([]);
  });

  it('keeps shipped code free of the repository-only folders', () => {
    expect(offenders(SHIPPED, (edge) => under(edge.file, REPO_ONLY))).toEqual([]);
  });

  it("imports only Node builtins, dependencies and peerDependencies, plus what the Lambda's bundle inlines", () => {
    // Prepare: what each may name, from package.json, so this cannot drift from it. Shipped
    // declarations name the same packages as the code; the Lambda's types do not ship.
    const shared = new Set([...dependencies, ...peerDependencies]);
    const lambda = new Set([...dependencies, ...LAMBDA_BUNDLED]);
    const declared = new Set([...dependencies, ...peerDependencies, ...devDependencies]);
    const allowed = (edge: Import) => {
      const name = edge.packageName;
      if (name === undefined) return false;
      if (isBuiltin(edge.specifier)) return true;
      if (!under(edge.from, ['lambda'])) return shared.has(name);
      return edge.typeOnly
        ? declared.has(name) || declared.has(`@types/${name.replace(/^@(.*)\//, '$1__')}`)
        : lambda.has(name);
    };

    // Act
    const found = offenders(SHIPPED, (edge) => !edge.specifier.startsWith('.') && !allowed(edge));

    // Assess
    expect(LAMBDA_BUNDLED.filter((name) => !declared.has(name))).toEqual([]);
    expect(found).toEqual([]);
  });
});
