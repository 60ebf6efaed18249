/**
 * The README and docs/ stay true to the repository in what a machine can check cheaply: every
 * `npm run <script>` they mention is a script of package.json (CI runs the README's test commands
 * themselves), every relative link points at a file that exists, and the README stays short enough
 * to read (the long material lives in docs/).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const scripts = Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts);

const documents = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
  'simulator/README.md',
  'dashboard/README.md',
  'infra/README.md',
  'local/README.md',
].filter((path) => existsSync(join(ROOT, path)));

/** `npm run foo`, `npm run -s foo`, `npm run foo:bar -- ...`: the script names mentioned. */
function npmScriptsMentioned(text: string): string[] {
  return [...text.matchAll(/npm run(?: -s)? ([a-z][\w:.-]*)/g)].map((match) => match[1] as string);
}

/** Relative link targets of a Markdown text, without their #fragment. */
function relativeLinks(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] as string)
    .filter((target) => !/^[a-z]+:/i.test(target) && !target.startsWith('#'))
    .map((target) => target.split('#')[0] as string);
}

describe('documentation', () => {
  it('reads what it checks (the checks can fail)', () => {
    expect(npmScriptsMentioned('run `npm run -s simulate -- --x` or npm run bench:e2e')).toEqual([
      'simulate',
      'bench:e2e',
    ]);
    expect(relativeLinks('[a](docs/a.md#x) [b](https://x.y) [c](#top)')).toEqual(['docs/a.md']);
    expect(documents).toContain('README.md');
    expect(documents.length).toBeGreaterThan(5);
  });

  it.each(documents)('%s names only npm scripts that exist', (path) => {
    const unknown = npmScriptsMentioned(readFileSync(join(ROOT, path), 'utf8')).filter(
      (name) => !scripts.includes(name),
    );
    expect(unknown).toEqual([]);
  });

  it.each(documents)('%s links only to files that exist', (path) => {
    const missing = relativeLinks(readFileSync(join(ROOT, path), 'utf8')).filter(
      (target) => !existsSync(join(ROOT, dirname(path), target)),
    );
    expect(missing).toEqual([]);
  });
});

describe('docs/api.md', () => {
  it('lists exactly the declared routes, with their access', async () => {
    const { API_ROUTES } = await import('../functions/shared/api-routes.js');
    const text = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
    const listed = [...text.matchAll(/^\| `([A-Z]+) (\/[^`]*)` \| (read|write)/gm)].map(
      (match) => `${match[1]} ${match[2]} ${match[3]}`,
    );
    expect(listed).toEqual(
      API_ROUTES.map((route) => `${route.method} ${route.path} ${route.write ? 'write' : 'read'}`),
    );
  });
});
