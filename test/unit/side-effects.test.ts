/**
 * Importing a module does nothing: no output, no signal or exit handlers, no timers keeping the process
 * alive. Everything happens when main() (or a function) is called. This keeps the core reusable and tests
 * honest, and it is checked here for every compiled module under dist/src, in a fresh process of its own.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../helpers/cli.js';

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return modules(path);
    return name.endsWith('.js') ? [path] : [];
  });
}

const PROBE = `
const events = ['SIGINT', 'SIGTERM', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection'];
const before = events.map((e) => process.listenerCount(e));
for (const url of JSON.parse(process.env.PES_MODULES)) await import(url);
const after = events.map((e) => process.listenerCount(e));
const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout');
process.stdout.write(JSON.stringify({ before, after, timers }));
`;

test('no module under dist/src has side effects on import', () => {
  const files = modules(join(repoRoot, 'dist', 'src'));
  assert.ok(files.length > 20, `found ${files.length} modules`);
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', PROBE], {
    env: { ...process.env, PES_MODULES: JSON.stringify(files.map((f) => pathToFileURL(f).href)) },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Anything a module printed would come before the probe's JSON and break the parse.
  const report = JSON.parse(stdout) as { before: number[]; after: number[]; timers: string[] };
  assert.deepEqual(report.after, report.before, 'no process listeners added on import');
  assert.deepEqual(report.timers, [], 'no timer left running');
});
