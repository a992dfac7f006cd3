import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The declarations `tsc` emits for the package's main entry, by file relative to the repository,
 * emitted in memory with the repository's compiler options.
 */
function emitDeclarations(entry: string): Map<string, string> {
  const config = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram([path.join(root, entry)], {
    ...options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    outDir: path.join(root, 'declarations-in-memory'),
    rootDir: root,
  });
  const emitted = new Map<string, string>();
  const result = program.emit(undefined, (file, text) => {
    emitted.set(path.relative(path.join(root, 'declarations-in-memory'), file), text);
  });
  const errors = result.diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (errors.length > 0) throw new Error(`declaration emit failed:\n${errors.join('\n')}`);
  return emitted;
}

/**
 * What a jsii build would refuse in an exported type: readonly arrays (jsii wants `T[]`; the
 * property itself stays `readonly`) and mapped types.
 */
const NOT_JSII = [
  { what: 'a readonly array', pattern: /\breadonly\s+(?:[\w.]+(?:<[^>]*>)?|\([^)]*\))\[\]/g },
  { what: 'ReadonlyArray', pattern: /\bReadonlyArray</g },
  { what: 'a mapped type (Pick)', pattern: /\bPick</g },
  { what: 'a mapped type (Omit)', pattern: /\bOmit</g },
];

describe('the public API, as tsc declares it, is ready for jsii', () => {
  let declarations: Map<string, string>;
  beforeAll(() => {
    declarations = emitDeclarations('lib/index.ts');
  }, 120_000);

  const constructFiles = () => [...declarations.keys()].filter((file) => file.startsWith(`lib${path.sep}`));
  /** The files lib/index.ts re-exports from: what a jsii build would carry (internal helpers are not). */
  const exportedFiles = () => {
    const index = declarations.get(path.join('lib', 'index.d.ts'))!;
    const sources = [...index.matchAll(/from '\.\/([\w./-]+)\.js'/g)].map((match) =>
      path.join('lib', `${match[1]}.d.ts`),
    );
    return ['index.d.ts', ...sources].map((file) => (file === 'index.d.ts' ? path.join('lib', file) : file));
  };

  it('declares the construct, the stack and their props', () => {
    const names = ['ims-token-refresher.d.ts', 'ims-token-stack.d.ts', 'errors.d.ts', 'index.d.ts'];
    expect(constructFiles()).toEqual(expect.arrayContaining(names.map((name) => path.join('lib', name))));
    const refresher = declarations.get(path.join('lib', 'ims-token-refresher.d.ts'));
    expect(refresher).toContain('readonly credentialsReaders?: iam.IPrincipal[];');
    expect(declarations.get(path.join('lib', 'ims-token-stack.d.ts'))).toContain('readonly tokens: TokenConfig[];');
    expect(declarations.get(path.join('lib', 'config', 'types.d.ts'))).toContain('readonly tokens: TokenConfig[];');
  });

  it('has no readonly arrays, ReadonlyArray, Pick or Omit in lib/, the configuration types included', () => {
    expect(exportedFiles()).toEqual(expect.arrayContaining([path.join('lib', 'config', 'types.d.ts')]));
    const found = exportedFiles().flatMap((file) =>
      NOT_JSII.flatMap(({ what, pattern }) =>
        [...declarations.get(file)!.matchAll(pattern)].map((match) => `${file}: ${what}: ${match[0]}`),
      ),
    );

    expect(found).toEqual([]);
  });

  it('would catch what it looks for', () => {
    const sample =
      'readonly tokens: readonly TokenConfig[]; a: ReadonlyArray<string>; b: Pick<A, "x">; c: Omit<A, "y">;';
    expect(NOT_JSII.map(({ pattern }) => [...sample.matchAll(pattern)].length)).toEqual([1, 1, 1, 1]);
  });
});
