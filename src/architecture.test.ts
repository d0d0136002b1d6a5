// The import graph of src/ stays the one docs/architecture.md draws: no cycles, and data flows one way
// (a source never imports a sink). Reads the TypeScript sources, so type-only imports count too.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const srcDir = new URL('../../src', import.meta.url).pathname;

/** Product code: tests, their helpers and fixtures may import anything. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? e.name === 'fixtures'
        ? []
        : sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && e.name !== 'test-helpers.ts'
        ? [join(dir, e.name)]
        : [],
  );
}

/**
 * The one import that goes up from core/: the context every component gets carries the config, so
 * core/context.ts names its type (config/ itself uses core/errors.ts). Type only: nothing runs in a loop.
 */
const CONTEXT_CARRIES_CONFIG = 'core/context.ts -> config/schema.ts';

/** The same graph between top-level folders (sensor.ts, at the root, is its own node). */
function folderGraph(files: Map<string, string[]>): Map<string, string[]> {
  const folder = (f: string): string => f.split('/')[0]!;
  const graph = new Map<string, Set<string>>();
  for (const [file, deps] of files) {
    const from = graph.get(folder(file)) ?? new Set<string>();
    for (const d of deps)
      if (folder(d) !== folder(file) && `${file} -> ${d}` !== CONTEXT_CARRIES_CONFIG) from.add(folder(d));
    graph.set(folder(file), from);
  }
  return new Map([...graph].map(([k, v]) => [k, [...v]]));
}

/** File (relative to src/) → the src/ files it imports or re-exports, type-only ones included. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(srcDir)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, false);
    const deps = importedFiles
      .map((f) => f.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(srcDir, resolve(dirname(file), name.replace(/\.js$/, '.ts'))));
    graph.set(relative(srcDir, file), [...new Set(deps)]);
  }
  return graph;
}

/** One cycle per strongly connected component of more than one file (or a file importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || graph.get(v)!.includes(v)) found.push(scc.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

const graph = importGraph();

test('the import graph is read (sanity: sensor.ts wires every folder)', () => {
  const folders = new Set(graph.get('sensor.ts')!.map((f) => f.split('/')[0]));
  for (const f of ['capture', 'listen', 'enrich', 'detect', 'firewall', 'store', 'export', 'web'])
    assert.ok(folders.has(f), `sensor.ts imports nothing from ${f}/`);
});

test('no import cycles in src/', () => {
  assert.deepEqual(cycles(graph), []);
});

test('no import cycles between folders of src/', () => {
  assert.deepEqual(cycles(folderGraph(graph)), []);
});

test('the cycle check finds a cycle (two files, and one through three)', () => {
  const g = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['a.ts', 'c.ts']],
    ['c.ts', ['d.ts']],
    ['d.ts', ['e.ts']],
    ['e.ts', ['c.ts']],
  ]);
  assert.deepEqual(cycles(g), [
    ['c.ts', 'd.ts', 'e.ts'],
    ['a.ts', 'b.ts'],
  ]);
});

test('sources and annotators never import a sink (the data flows one way)', () => {
  const upstream = ['capture/', 'listen/', 'enrich/', 'detect/', 'firewall/'];
  const sinks = ['store/', 'export/', 'web/'];
  const wrong = [...graph].flatMap(([file, deps]) =>
    upstream.some((u) => file.startsWith(u))
      ? deps.filter((d) => sinks.some((s) => d.startsWith(s))).map((d) => `${file} -> ${d}`)
      : [],
  );
  assert.deepEqual(wrong, []);
});

test('only the config loader and the CLI read the config loader', () => {
  const wrong = [...graph].flatMap(([file, deps]) =>
    deps.includes('config/load.ts') && !file.startsWith('config/') && !file.startsWith('cli/') ? [file] : [],
  );
  assert.deepEqual(wrong, []);
});

test('no module-level WeakMap or WeakSet in src/: sensor.ts hands collaborators over, no hidden registry', () => {
  const wrong = sourceFiles(srcDir).flatMap((file) => {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
    return sf.statements
      .filter((st) => ts.isVariableStatement(st) && /\bnew Weak(Map|Set)\b/.test(st.getText(sf)))
      .map(() => relative(srcDir, file));
  });
  assert.deepEqual(wrong, []);
});
