// Small ldapts helpers for tests that look at a directory server directly
// (independently of the code under test).
import { Attribute, Change, Client } from 'ldapts';

export interface Bind {
  dn: string;
  password: string;
}

/** A throw-away server's admin as a Bind. */
export function adminBind(server: { adminDn: string; adminPassword: string }): Bind {
  return { dn: server.adminDn, password: server.adminPassword };
}

const TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;

const NO_SUCH_OBJECT = 32;
const INVALID_CREDENTIALS = 49;
const INSUFFICIENT_ACCESS = 50;

/** The LDAP result code of an ldapts error, if it has one. */
export function resultCode(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/** Connects (and binds, if `bind` is given), runs fn, always unbinds. */
export async function withClient<T>(url: string, bind: Bind | undefined, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url, timeout: TIMEOUT_MS, connectTimeout: CONNECT_TIMEOUT_MS });
  try {
    if (bind) await client.bind(bind.dn, bind.password);
    return await fn(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

function toStrings(v: Buffer | Buffer[] | string[] | string): string[] {
  const list: Array<Buffer | string> = Array.isArray(v) ? v : [v];
  return list.map((x) => (typeof x === 'string' ? x : x.toString('utf8')));
}

/**
 * Base-scope read of one entry. Returns its attributes with lower-cased names
 * (values always string arrays; `dn` included), or undefined if it does not exist.
 */
export async function readEntry(
  url: string,
  bind: Bind | undefined,
  dn: string,
  attributes?: string[],
): Promise<Record<string, string[]> | undefined> {
  return withClient(url, bind, async (c) => {
    try {
      const res = await c.search(dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        ...(attributes ? { attributes } : {}),
      });
      const entry = res.searchEntries[0];
      if (!entry) return undefined;
      const out: Record<string, string[]> = {};
      for (const [name, value] of Object.entries(entry)) {
        const key = name.toLowerCase();
        out[key] = [...(out[key] ?? []), ...toStrings(value)];
      }
      return out;
    } catch (err) {
      if (resultCode(err) === NO_SUCH_OBJECT) return undefined;
      throw err;
    }
  });
}

/**
 * True if a simple bind with dn/password succeeds, false on invalidCredentials (49).
 * An empty password is an unauthenticated bind (which servers accept), so it is false.
 */
export async function canBind(url: string, dn: string, password: string): Promise<boolean> {
  if (password === '') return false;
  try {
    await withClient(url, { dn, password }, async () => undefined);
    return true;
  } catch (err) {
    if (resultCode(err) === INVALID_CREDENTIALS) return false;
    throw err;
  }
}

/** Subtree search; returns the DNs found (empty if the base does not exist). */
export async function searchDns(url: string, bind: Bind | undefined, base: string, filter: string): Promise<string[]> {
  return withClient(url, bind, async (c) => {
    try {
      const res = await c.search(base, { scope: 'sub', filter, attributes: ['1.1'] });
      return res.searchEntries.map((e) => e.dn);
    } catch (err) {
      if (resultCode(err) === NO_SUCH_OBJECT) return [];
      throw err;
    }
  });
}

/**
 * Entries under `base` with the first value of each attribute as a string (names lower-cased, `dn` kept);
 * none when the base does not exist (32) or `bind` may not read it (50).
 */
export async function searchFirstValues(
  url: string,
  bind: Bind | undefined,
  base: string,
  opts: { scope: 'base' | 'one' | 'sub'; filter: string; attributes: string[] },
): Promise<Array<Record<string, string>>> {
  return withClient(url, bind, async (c) => {
    try {
      const res = await c.search(base, opts);
      return res.searchEntries.map((e) => {
        const out: Record<string, string> = { dn: e.dn };
        for (const [k, v] of Object.entries(e)) {
          if (k === 'dn') continue;
          const first = Array.isArray(v) ? v[0] : v;
          out[k.toLowerCase()] =
            first === undefined ? '' : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
        }
        return out;
      });
    } catch (err) {
      const code = resultCode(err);
      if (code === NO_SUCH_OBJECT || code === INSUFFICIENT_ACCESS) return [];
      throw err;
    }
  });
}

/** Every attribute of an entry (user and operational), names lower-cased and sorted, values base64 for binary. */
export type Dump = Record<string, Record<string, string[]>>;

/** One modify of one attribute of `dn`, as `bind`. */
export async function modifyAttribute(
  url: string,
  bind: Bind,
  dn: string,
  operation: 'add' | 'delete' | 'replace',
  type: string,
  values: string[],
): Promise<void> {
  await withClient(url, bind, (c) =>
    c.modify(dn, new Change({ operation, modification: new Attribute({ type, values }) })),
  );
}

/**
 * Every attribute (user and operational) of every entry under `base` (or of `base` alone), keyed
 * `scope:dn` in lower case: compare two dumps for "byte-for-byte unchanged". Empty if `base` does not exist.
 */
export async function dumpEntries(url: string, bind: Bind, base: string, scope: 'base' | 'sub'): Promise<Dump> {
  return withClient(url, bind, async (c) => {
    const out: Dump = {};
    let res;
    try {
      res = await c.search(base, { scope, filter: '(objectClass=*)', attributes: ['*', '+'] });
    } catch (err) {
      if ((err as { code?: unknown }).code === NO_SUCH_OBJECT) return out;
      throw err;
    }
    for (const entry of res.searchEntries) {
      const attributes: Record<string, string[]> = {};
      for (const [name, value] of Object.entries(entry)) {
        if (name === 'dn') continue;
        const values = Array.isArray(value) ? value : [value];
        attributes[name.toLowerCase()] = values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : String(v)));
      }
      out[`${scope}:${entry.dn.toLowerCase()}`] = Object.fromEntries(
        Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)),
      );
    }
    return out;
  });
}

/**
 * What a run against 389 DS may touch, dumped (see dumpEntries): everything under `base`, cn=config, the Retro
 * Changelog plugin, the root DSE and cn=changelog.
 */
export async function ds389Dumps(url: string, bind: Bind, base: string): Promise<Dump[]> {
  return [
    await dumpEntries(url, bind, base, 'sub'),
    await dumpEntries(url, bind, 'cn=config', 'base'),
    await dumpEntries(url, bind, 'cn=Retro Changelog Plugin,cn=plugins,cn=config', 'base'),
    await dumpEntries(url, bind, '', 'base'),
    await dumpEntries(url, bind, 'cn=changelog', 'base'),
  ];
}
