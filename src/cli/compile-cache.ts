/**
 * Node's module compile cache (`module.enableCompileCache()`, Node 22.1 and later): V8 keeps the compiled
 * code of every module the CLI loads on disk, so the next start skips compiling them. Called by
 * bin/prepare-endpoint-server before it imports the CLI; a Node without it (20) simply starts as before.
 *
 * The folder is per user, because a global install is read-only for whoever runs it and a cache shared with
 * other users could be filled by them with code this process would run: `$XDG_CACHE_HOME` or `~/.cache`,
 * else the temporary folder, always in a folder of our own (created 0700) that nobody else can write to or
 * swap out. Nothing here may fail a run: any problem means no cache, silently.
 */
import * as fs from 'node:fs';
import * as module from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

const FOLDER = 'prepare-endpoint-server';

/** The folders to try, best first, for the user `uid`. */
export function compileCacheCandidates(
  env: Readonly<Record<string, string | undefined>>,
  uid: number,
  temporary: string,
): string[] {
  const candidates: string[] = [];
  // The XDG base directory specification: a relative path in the variable is to be ignored.
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg !== undefined && isAbsolute(xdg)) candidates.push(join(xdg, FOLDER, 'compile-cache'));
  const home = env['HOME'];
  if (home !== undefined && isAbsolute(home) && home !== '/')
    candidates.push(join(home, '.cache', FOLDER, 'compile-cache'));
  candidates.push(join(temporary, `${FOLDER}-${uid}`, 'compile-cache'));
  return candidates;
}

/**
 * True when `dir` is a real folder (no symbolic link) of `uid` that only `uid` can write to, in a parent that
 * no one else can rename it out of (owned by `uid` or root and not writable by others, or sticky like /tmp).
 */
export function isPrivateFolder(dir: string, uid: number): boolean {
  try {
    const own = fs.lstatSync(dir);
    if (!own.isDirectory() || own.uid !== uid || (own.mode & 0o022) !== 0) return false;
    const parent = fs.lstatSync(dirname(dir));
    if (!parent.isDirectory() || (parent.uid !== uid && parent.uid !== 0)) return false;
    return (parent.mode & 0o022) === 0 || (parent.mode & 0o1000) !== 0;
  } catch {
    return false;
  }
}

/** Turns the compile cache on when this Node has it; returns the folder used, or undefined. Never throws. */
export function enableCompileCacheQuietly(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  // Typed here because @types/node follows the oldest supported Node (20), which has neither.
  const runtime = module as {
    enableCompileCache?: (dir: string) => { status: number };
    constants?: { compileCacheStatus?: { ENABLED: number } };
  };
  const enable = runtime.enableCompileCache;
  const enabled = runtime.constants?.compileCacheStatus?.ENABLED;
  if (typeof enable !== 'function' || enabled === undefined || typeof process.getuid !== 'function') return undefined;
  // NODE_COMPILE_CACHE (the user's own folder) and NODE_DISABLE_COMPILE_CACHE are Node's to honour.
  if (env['NODE_COMPILE_CACHE'] !== undefined || env['NODE_DISABLE_COMPILE_CACHE'] !== undefined) return undefined;
  const uid = process.getuid();
  for (const dir of compileCacheCandidates(env, uid, tmpdir())) {
    try {
      // The folder above the cache is the one made private: Node creates and fills compile-cache/ itself.
      fs.mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
      if (!isPrivateFolder(dirname(dir), uid)) continue;
      if (enable(dir).status === enabled) return dir;
    } catch {
      // a folder that cannot be made is no reason to fail or to say anything: try the next one
    }
  }
  return undefined;
}
