/**
 * Issue 17: entry points stay thin. Every function (declarations, methods, arrows, function
 * expressions) in the Lambda entry files, the local composition root and the shared API handler's
 * modules (functions/handlers/api, tests left out) is at most
 * MAX_FUNCTION_LINES long, measured with the TypeScript compiler's own parser from the function's
 * first token to its last line; each Lambda entry file is at most MAX_ENTRY_LINES long.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAX_FUNCTION_LINES = 100;
const MAX_ENTRY_LINES = 120;

const lambdaEntries = readdirSync(join(ROOT, 'functions/lambda'))
  .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && name !== 'test-support.ts')
  .map((name) => join(ROOT, 'functions/lambda', name));
// The shared API handler (both runtimes serve it): its route table is one small function per area.
const apiModules = readdirSync(join(ROOT, 'functions/handlers/api'))
  .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
  .map((name) => join(ROOT, 'functions/handlers/api', name));
const CHECKED = [...lambdaEntries, join(ROOT, 'local/runtime.ts'), ...apiModules];
/** Handlers split to the same bound: the data operations (triage, redrive, replay), enrich, the notifier. */
const SPLIT_HANDLERS = readdirSync(join(ROOT, 'functions/handlers'))
  .filter((name) => /^(data-ops.*|enrich|notifier)\.ts$/.test(name) && !name.endsWith('.test.ts'))
  .map((name) => join(ROOT, 'functions/handlers', name));

interface FunctionLength {
  readonly file: string;
  readonly name: string;
  readonly lines: number;
}

/** Every function-like node of `path` with its length in lines. */
function functionLengths(path: string): FunctionLength[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: FunctionLength[] = [];
  const lineOf = (position: number) => source.getLineAndCharacterOfPosition(position).line;
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const name =
        ('name' in node && node.name && ts.isIdentifier(node.name) && node.name.text) ||
        (ts.isVariableDeclaration(node.parent) &&
          ts.isIdentifier(node.parent.name) &&
          node.parent.name.text) ||
        `<anonymous>:${lineOf(node.getStart(source)) + 1}`;
      found.push({
        file: relative(ROOT, path),
        name,
        lines: lineOf(node.getEnd()) - lineOf(node.getStart(source)) + 1,
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('thin entry points (issue 17)', () => {
  it(`no function over ${MAX_FUNCTION_LINES} lines in the Lambda entries, local/runtime.ts and the API handler`, () => {
    const tooLong = CHECKED.flatMap(functionLengths).filter((f) => f.lines > MAX_FUNCTION_LINES);
    expect(tooLong).toEqual([]);
  });

  it(`no function over ${MAX_FUNCTION_LINES} lines in the split handlers`, () => {
    expect(SPLIT_HANDLERS.length).toBeGreaterThan(0);
    const tooLong = SPLIT_HANDLERS.flatMap(functionLengths).filter((f) => f.lines > MAX_FUNCTION_LINES);
    expect(tooLong).toEqual([]);
  });

  it(`no Lambda entry file over ${MAX_ENTRY_LINES} lines`, () => {
    const tooLong = lambdaEntries
      .map((path) => ({
        file: relative(ROOT, path),
        lines: readFileSync(path, 'utf8').split('\n').length - 1,
      }))
      .filter((entry) => entry.lines > MAX_ENTRY_LINES);
    expect(tooLong).toEqual([]);
  });
});
