// The compile cache of bin/prepare-endpoint-server (Node 22+): which folders it tries, that it only uses a
// folder private to the user, and that it is on where the runtime has it and silently off where it does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileCacheCandidates, isPrivateFolder } from '../../src/cli/compile-cache.js';
import { repoRoot } from '../helpers/cli.js';

const hasCompileCache = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';

test('candidates: $XDG_CACHE_HOME, then ~/.cache, then a folder of the user in the temporary folder', () => {
  assert.deepEqual(compileCacheCandidates({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' }, 1000, '/tmp'), [
    '/x/cache/prepare-endpoint-server/compile-cache',
    '/home/u/.cache/prepare-endpoint-server/compile-cache',
    '/tmp/prepare-endpoint-server-1000/compile-cache',
  ]);
  // A relative XDG path is to be ignored (XDG base directory specification); HOME=/ (daemons) is no home.
  assert.deepEqual(compileCacheCandidates({ XDG_CACHE_HOME: 'cache', HOME: '/' }, 0, '/var/tmp'), [
    '/var/tmp/prepare-endpoint-server-0/compile-cache',
  ]);
  assert.deepEqual(compileCacheCandidates({}, 65534, '/tmp'), ['/tmp/prepare-endpoint-server-65534/compile-cache']);
});

test('a folder is used only when it is ours, a real folder, and no one else can write to it or swap it out', (t) => {
  const uid = process.getuid?.();
  if (uid === undefined) {
    t.skip('no user ids on this platform');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'pes-cc-'));
  try {
    const own = join(dir, 'own');
    mkdirSync(own, { mode: 0o700 });
    assert.equal(isPrivateFolder(own, uid), true, 'ours, 0700, in a folder of ours');
    chmodSync(own, 0o770);
    assert.equal(isPrivateFolder(own, uid), false, 'group-writable');
    chmodSync(own, 0o700);
    chmodSync(dir, 0o777);
    assert.equal(isPrivateFolder(own, uid), false, 'in a folder others can write to (they could rename it away)');
    chmodSync(dir, 0o1777);
    assert.equal(isPrivateFolder(own, uid), true, 'in a sticky folder such as /tmp');
    chmodSync(dir, 0o700);
    symlinkSync(own, join(dir, 'link'));
    assert.equal(isPrivateFolder(join(dir, 'link'), uid), false, 'a symbolic link');
    writeFileSync(join(dir, 'file'), '');
    assert.equal(isPrivateFolder(join(dir, 'file'), uid), false, 'a file');
    assert.equal(isPrivateFolder(join(dir, 'missing'), uid), false, 'missing');
    assert.equal(isPrivateFolder(own, uid + 1), false, "another user's");
    if (uid === 0) {
      chownSync(own, 65534, 65534);
      assert.equal(isPrivateFolder(own, 0), false, 'a folder another user made (root must not run code from it)');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`enableCompileCacheQuietly on Node ${process.versions.node}: ${hasCompileCache ? "on, in the user's cache folder" : 'not in this runtime, nothing happens'}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pes-cc-run-'));
  try {
    const entry = pathToFileURL(join(repoRoot, 'dist', 'src', 'cli', 'compile-cache.js')).href;
    const probe = `const { enableCompileCacheQuietly } = await import(${JSON.stringify(entry)});
      const used = enableCompileCacheQuietly(process.env);
      await import('node:module');
      process.stdout.write(JSON.stringify(used ?? null));`;
    const run = (env: NodeJS.ProcessEnv): unknown =>
      JSON.parse(
        execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
          env: { PATH: process.env.PATH, ...env },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      ) as unknown;
    const cacheHome = join(dir, 'cache');
    const used = run({ XDG_CACHE_HOME: cacheHome, HOME: join(dir, 'home') });
    if (hasCompileCache) {
      assert.equal(used, join(cacheHome, 'prepare-endpoint-server', 'compile-cache'));
      assert.ok(readdirSync(used).length > 0, 'the cache was written at exit');
    } else {
      assert.equal(used, null);
      assert.deepEqual(readdirSync(dir), [], 'no folder made');
    }
    // Node's own switches win: the user's NODE_COMPILE_CACHE folder, or no cache at all.
    assert.equal(run({ XDG_CACHE_HOME: cacheHome, NODE_DISABLE_COMPILE_CACHE: '1' }), null);
    // A cache folder that cannot be made is silence, not a failure: the next candidate, or none.
    const blocked = join(dir, 'blocked');
    writeFileSync(blocked, '');
    assert.equal(run({ XDG_CACHE_HOME: blocked, HOME: blocked, TMPDIR: blocked }), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
