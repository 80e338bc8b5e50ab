// Small ldapts helpers for tests that look at a directory server directly
// (independently of the code under test).
import { Client } from 'ldapts';

export interface Bind {
  dn: string;
  password: string;
}

const TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;

const NO_SUCH_OBJECT = 32;
const INVALID_CREDENTIALS = 49;

function resultCode(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/** Connects (and binds, if `bind` is given), runs fn, always unbinds. */
export async function withClient<T>(
  url: string,
  bind: Bind | undefined,
  fn: (c: Client) => Promise<T>,
): Promise<T> {
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
export async function searchDns(
  url: string,
  bind: Bind | undefined,
  base: string,
  filter: string,
): Promise<string[]> {
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
