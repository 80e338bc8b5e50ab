/**
 * An in-memory directory server behind the core's directory port (src/model/directory.ts), so the core's run
 * (observe, plan, apply, settle, verify) can be driven in process. Entries live in a map; binds check the
 * password in `userPassword`/`unicodePwd` (kept as text) or in `passwords`; writes fail with the result codes a
 * server answers (68, 32, 20, 16, 66), turned into PrepareErrors by src/ldap's own translation. Hooks let a test
 * write as someone else between the observation and the run's write, fail a write, or stop the run with a
 * signal before or during a write.
 */
import { ResultCodeError } from 'ldapts';
import { isWithin, normalizeDn, parentDn } from '../../src/formats/dn.js';
import { interruption } from '../../src/model/errors.js';
import type { Change, Entry } from '../../src/model/entries.js';
import type {
  ConnectionOptions,
  Directory,
  DirectoryConnector,
  DirectoryStats,
  DirSyncResult,
  SearchOptions,
} from '../../src/model/directory.js';
import { translateError } from '../../src/ldap/translate-error.js';

/** A server's answer with an LDAP result code, as ldapts raises it (its constructor is protected). */
class ServerAnswer extends ResultCodeError {
  public constructor(code: number, message: string) {
    super(code, message);
  }
}

/** Attributes as a test writes them: names in any case, values as text (base64 for binary attributes). */
export type Attributes = Readonly<Record<string, readonly string[]>>;

interface StoredEntry {
  readonly dn: string;
  /** Lower-cased names, as the adapter returns them. */
  readonly attributes: Map<string, string[]>;
}

/** Who asks: the DN the connection is bound as (undefined: anonymous). */
export type Visibility = (boundDn: string | undefined, dn: string, attribute: string) => boolean;

/**
 * What happens to a write in flight when the run's signal is aborted during it: the server answers within
 * the adapter's grace (the write is made and reported), or the connection is dropped first and the write is
 * lost or made without the run knowing (the adapter's "may or may not have been made").
 */
export type AbortDuringWrite = 'answered' | 'dropped-lost' | 'dropped-made';

interface WriteFailure {
  readonly matches: (change: Change) => boolean;
  readonly code: number;
  readonly message: string;
  remaining: number;
}

export class FakeDirectoryServer {
  private readonly entries = new Map<string, StoredEntry>();
  /** Passwords of accounts without an entry (389 DS's cn=Directory Manager). */
  public readonly passwords = new Map<string, string>();
  /** Every write the server made, in order (the run's and those a test made as someone else). */
  public readonly writes: Change[] = [];
  /** Every write a connection asked for, made or not. */
  public readonly attempted: Change[] = [];
  public connectionsOpened = 0;
  public openConnections = 0;
  /** Attributes a connection sees; everything by default. */
  public visible: Visibility = () => true;
  /** Called before the server takes a connection's write: a test writes as someone else here, or aborts the run. */
  public beforeWrite: ((change: Change, index: number) => void | Promise<void>) | undefined;
  /** Called after a write was made: the server's own consequences (an id it assigns, an entry a plugin creates). */
  public afterWrite: ((change: Change) => void) | undefined;
  public abortDuringWrite: AbortDuringWrite = 'answered';
  /** Called as the server takes each read or search (`index` counts them from 0): a test aborts the run here. */
  public beforeRead: ((base: string, index: number) => void) | undefined;
  public readsTaken = 0;
  /** Reads and searches the run asked for (taken or, after a signal, refused): sent together, they are all in flight. */
  public readsRequested = 0;
  private readonly failures: WriteFailure[] = [];

  /** The DN a SASL EXTERNAL bind maps to (undefined: the server refuses it, 48). */
  public externalIdentity: string | undefined;

  public constructor(public readonly address = 'fake.example:389') {}

  /** Puts an entry as it is (no checks, not counted as a write): the server's initial state. */
  public put(dn: string, attributes: Attributes = {}): this {
    this.entries.set(normalizeDn(dn), { dn, attributes: lowerCased(attributes) });
    return this;
  }

  /** The entry now, names lower-cased; undefined when absent. */
  public entry(dn: string): Record<string, string[]> | undefined {
    const stored = this.entries.get(normalizeDn(dn));
    return stored === undefined
      ? undefined
      : Object.fromEntries([...stored.attributes].map(([name, values]) => [name, [...values]]));
  }

  /** Values of one attribute now ([] when the entry or the attribute is absent). */
  public values(dn: string, attribute: string): string[] {
    return this.entry(dn)?.[attribute.toLowerCase()] ?? [];
  }

  /** The whole state, for comparing two servers (entries by normalized DN, attribute names and values sorted). */
  public snapshot(): Record<string, Record<string, string[]>> {
    return Object.fromEntries(
      [...this.entries.keys()].sort().map((key) => {
        const stored = this.entries.get(key)!;
        return [
          key,
          Object.fromEntries(
            [...stored.attributes.keys()].sort().map((name) => [name, [...stored.attributes.get(name)!].sort()]),
          ),
        ];
      }),
    );
  }

  /** A write by someone else (another run, a person): made at once, with the checks a server makes. */
  public writeAsSomeoneElse(change: Change): void {
    this.make(change);
  }

  /** The next `times` writes that `matches` selects fail with `code` (the server's answer, translated as the adapter does). */
  public failWrite(
    matches: (change: Change) => boolean,
    code: number,
    message = 'refused by the test',
    times = 1,
  ): void {
    this.failures.push({ matches, code, message, remaining: times });
  }

  /** The port's factory: each call is a new connection to this server. */
  public readonly connect: DirectoryConnector = async (options: ConnectionOptions, stats: DirectoryStats) => {
    if (options.signal?.aborted === true)
      throw interruption(options.signal.reason, `while connecting to ${this.address}`);
    this.connectionsOpened += 1;
    this.openConnections += 1;
    return new FakeConnection(this, options, stats);
  };

  /** Reads as `boundDn` sees it. */
  public readAs(boundDn: string | undefined, dn: string, attributes: readonly string[]): Entry | undefined {
    const stored = this.entries.get(normalizeDn(dn));
    return stored === undefined ? undefined : this.project(stored, boundDn, attributes);
  }

  public searchAs(
    boundDn: string | undefined,
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: string,
    attributes: readonly string[],
    sizeLimit?: number,
  ): Entry[] {
    const baseKey = normalizeDn(base);
    const found: Entry[] = [];
    for (const [key, stored] of this.entries) {
      const inScope =
        scope === 'base'
          ? key === baseKey
          : scope === 'one'
            ? key !== '' && normalizeDn(parentDn(stored.dn) ?? '') === baseKey
            : key !== '' && (baseKey === '' || isWithin(stored.dn, base));
      if (!inScope || !matches(parseFilter(filter), stored, (name) => this.visible(boundDn, stored.dn, name))) continue;
      found.push(this.project(stored, boundDn, attributes));
      if (sizeLimit !== undefined && found.length >= sizeLimit) break;
    }
    return found;
  }

  public exists(dn: string): boolean {
    return this.entries.has(normalizeDn(dn));
  }

  /** The password `dn` binds with, if it is an account. */
  public passwordOf(dn: string): string | undefined {
    const key = normalizeDn(dn);
    const stored = this.entries.get(key);
    return (
      stored?.attributes.get('userpassword')?.[0] ??
      stored?.attributes.get('unicodepwd')?.[0] ??
      this.passwords.get(key)
    );
  }

  /** The server's checks and the write itself; throws the server's answer when it refuses. */
  public make(change: Change): void {
    const failure = this.failures.find((f) => f.remaining > 0 && f.matches(change));
    if (failure !== undefined) {
      failure.remaining -= 1;
      throw new ServerAnswer(failure.code, failure.message);
    }
    const key = normalizeDn(change.dn);
    const existing = this.entries.get(key);
    switch (change.kind) {
      case 'add': {
        if (existing !== undefined) throw new ServerAnswer(68, 'Entry already exists');
        const parent = parentDn(change.dn);
        if (parent !== undefined && parent !== '' && !this.exists(parent)) throw new ServerAnswer(32, 'No such object');
        this.entries.set(key, { dn: change.dn, attributes: lowerCased(change.attributes) });
        break;
      }
      case 'delete': {
        if (existing === undefined) throw new ServerAnswer(32, 'No such object');
        if (
          [...this.entries.values()].some(
            (other) => normalizeDn(parentDn(other.dn) ?? '') === key && other !== existing,
          )
        ) {
          throw new ServerAnswer(66, 'Operation not allowed on non-leaf');
        }
        this.entries.delete(key);
        break;
      }
      case 'modify': {
        if (existing === undefined) throw new ServerAnswer(32, 'No such object');
        // All modifications or none, as a server applies a modify.
        const next = new Map([...existing.attributes].map(([name, values]) => [name, [...values]]));
        for (const m of change.modifications) {
          const name = m.attribute.toLowerCase();
          const now = next.get(name) ?? [];
          switch (m.operation) {
            case 'add':
              if (m.values.some((value) => now.includes(value))) throw new ServerAnswer(20, 'Type or value exists');
              next.set(name, [...now, ...m.values]);
              break;
            case 'replace':
              if (m.values.length === 0) next.delete(name);
              else next.set(name, [...m.values]);
              break;
            case 'delete':
              if (m.values.length === 0) {
                if (now.length === 0) throw new ServerAnswer(16, 'No such attribute');
                next.delete(name);
                break;
              }
              if (m.values.some((value) => !now.includes(value))) throw new ServerAnswer(16, 'No such attribute');
              next.set(
                name,
                now.filter((value) => !m.values.includes(value)),
              );
              if (next.get(name)!.length === 0) next.delete(name);
              break;
          }
        }
        this.entries.set(key, { dn: existing.dn, attributes: next });
        break;
      }
    }
    this.writes.push(change);
    this.afterWrite?.(change);
  }

  private project(stored: StoredEntry, boundDn: string | undefined, attributes: readonly string[]): Entry {
    const all = attributes.includes('*') || attributes.includes('+');
    const wanted = new Set(attributes.map((name) => name.toLowerCase()));
    const shown = new Map<string, string[]>();
    for (const [name, values] of stored.attributes) {
      if ((all || wanted.has(name)) && this.visible(boundDn, stored.dn, name)) shown.set(name, [...values]);
    }
    return { dn: stored.dn, attributes: shown };
  }
}

class FakeConnection implements Directory {
  public readonly address: string;
  private boundDn: string | undefined;
  private closed = false;

  public constructor(
    private readonly server: FakeDirectoryServer,
    private readonly options: ConnectionOptions,
    public readonly stats: DirectoryStats,
  ) {
    this.address = server.address;
  }

  public async bind(dn: string, password: string): Promise<void> {
    await this.operation('bind', dn);
    const expected = this.server.passwordOf(dn);
    if (expected === undefined || expected !== password) {
      throw translateError(new ServerAnswer(49, 'Invalid credentials'), this.context('bind', dn));
    }
    this.boundDn = dn;
  }

  public async bindExternal(): Promise<string | undefined> {
    await this.operation('bind', '');
    const identity = this.server.externalIdentity;
    if (identity === undefined) {
      throw translateError(
        new ServerAnswer(48, 'SASL(-4): no mechanism available'),
        this.context('SASL EXTERNAL bind', ''),
      );
    }
    this.boundDn = identity;
    return identity;
  }

  public async read(dn: string, attributes: readonly string[], options?: SearchOptions): Promise<Entry | undefined> {
    const found = await this.search(dn, 'base', '(objectClass=*)', attributes, options);
    return found[0];
  }

  public async search(
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: string,
    attributes: readonly string[],
    options?: SearchOptions,
  ): Promise<Entry[]> {
    this.stats.reads += 1;
    this.server.readsRequested += 1;
    await this.operation('search', base);
    this.server.beforeRead?.(base, this.server.readsTaken++);
    // The adapter drops a read in flight at once.
    const signal = this.options.signal;
    if (signal?.aborted === true)
      throw interruption(
        signal.reason,
        `during the search of ${base === '' ? 'the root DSE' : `'${base}'`} on ${this.address}`,
      );
    // A missing base is no entry, as the adapter answers noSuchObject on a search.
    if (base !== '' && !this.server.exists(base)) return [];
    return this.server.searchAs(this.boundDn, base, scope, filter, attributes, options?.sizeLimit);
  }

  public async dirSync(base: string, filter: string, attributes: readonly string[]): Promise<DirSyncResult> {
    this.stats.reads += 1;
    await this.operation('DirSync search', base);
    return {
      entries: this.server.searchAs(this.boundDn, base, 'sub', filter, attributes),
      cookie: Buffer.from('fake').toString('base64'),
      more: false,
    };
  }

  public async apply(change: Change): Promise<void> {
    this.stats.writes += 1;
    await this.operation(change.kind, change.dn);
    this.server.attempted.push(change);
    const signal = this.options.signal;
    await this.server.beforeWrite?.(change, this.server.attempted.length - 1);
    const abortedDuring = signal?.aborted === true;
    const mode = abortedDuring ? this.server.abortDuringWrite : 'answered';
    if (mode !== 'dropped-lost') {
      try {
        this.server.make(change);
      } catch (error) {
        if (mode === 'answered')
          throw translateError(error, { ...this.context(change.kind, change.dn), ...attributesOf(change) });
      }
    }
    if (mode !== 'answered') {
      const where = change.dn === '' ? 'the root DSE' : `'${change.dn}'`;
      throw interruption(
        signal?.reason,
        `during the ${change.kind} of ${where}: ${this.address} did not answer it in time, so it may or may not have been made`,
      );
    }
  }

  public async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.server.openConnections -= 1;
  }

  /** Every operation checks the run's signal first and yields once, as a network round trip would. */
  private async operation(operation: string, dn: string): Promise<void> {
    if (this.closed) throw new Error(`the test's fake: ${operation} on a closed connection`);
    const signal = this.options.signal;
    const where = dn === '' ? 'the root DSE' : `'${dn}'`;
    if (signal?.aborted === true)
      throw interruption(signal.reason, `before the ${operation} of ${where} on ${this.address}`);
    await Promise.resolve();
  }

  private context(operation: string, dn: string): Parameters<typeof translateError>[1] {
    return {
      operation,
      dn,
      boundDn: this.boundDn,
      address: this.address,
      security: this.options.security,
      trust: this.options.trust,
    };
  }
}

function attributesOf(change: Change): { attributes?: readonly string[] } {
  switch (change.kind) {
    case 'add':
      return { attributes: Object.keys(change.attributes) };
    case 'modify':
      return { attributes: change.modifications.map((m) => m.attribute) };
    case 'delete':
      return {};
  }
}

function lowerCased(attributes: Attributes): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const [name, values] of Object.entries(attributes)) {
    if (values.length > 0) result.set(name.toLowerCase(), [...(result.get(name.toLowerCase()) ?? []), ...values]);
  }
  return result;
}

// Filters: the part of RFC 4515 the profiles send (and, or, not, presence, equality with `*` substrings).
type Filter =
  | { readonly kind: 'and' | 'or'; readonly parts: readonly Filter[] }
  | { readonly kind: 'not'; readonly part: Filter }
  | { readonly kind: 'present'; readonly attribute: string }
  | { readonly kind: 'equal'; readonly attribute: string; readonly pattern: readonly string[] };

function parseFilter(text: string): Filter {
  const [filter, rest] = parseAt(text.trim(), 0);
  if (rest !== text.trim().length) throw new Error(`the test's fake cannot read the filter ${text}`);
  return filter;
}

function parseAt(text: string, at: number): [Filter, number] {
  if (text[at] !== '(') throw new Error(`the test's fake cannot read the filter ${text}`);
  const op = text[at + 1];
  if (op === '&' || op === '|' || op === '!') {
    const parts: Filter[] = [];
    let next = at + 2;
    while (text[next] === '(') {
      const [part, after] = parseAt(text, next);
      parts.push(part);
      next = after;
    }
    if (text[next] !== ')') throw new Error(`the test's fake cannot read the filter ${text}`);
    if (op === '!') return [{ kind: 'not', part: parts[0]! }, next + 1];
    return [{ kind: op === '&' ? 'and' : 'or', parts }, next + 1];
  }
  const close = text.indexOf(')', at);
  const item = text.slice(at + 1, close);
  const equals = item.indexOf('=');
  const attribute = item.slice(0, equals).toLowerCase();
  const value = item.slice(equals + 1);
  if (value === '*') return [{ kind: 'present', attribute }, close + 1];
  const unescape = (part: string): string =>
    part.replace(/\\([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return [{ kind: 'equal', attribute, pattern: value.split('*').map(unescape) }, close + 1];
}

function matches(filter: Filter, entry: StoredEntry, visible: (attribute: string) => boolean): boolean {
  switch (filter.kind) {
    case 'and':
      return filter.parts.every((part) => matches(part, entry, visible));
    case 'or':
      return filter.parts.some((part) => matches(part, entry, visible));
    case 'not':
      return !matches(filter.part, entry, visible);
    case 'present':
      // Every entry has an object class, whatever a test stored.
      return (
        filter.attribute === 'objectclass' || (visible(filter.attribute) && entry.attributes.has(filter.attribute))
      );
    case 'equal': {
      const values =
        filter.attribute === 'distinguishedname'
          ? [entry.dn]
          : visible(filter.attribute)
            ? (entry.attributes.get(filter.attribute) ?? [])
            : [];
      return values.some((value) => patternMatches(filter.pattern, value, filter.attribute === 'distinguishedname'));
    }
  }
}

function patternMatches(pattern: readonly string[], value: string, isDn: boolean): boolean {
  if (pattern.length === 1) {
    return isDn ? normalizeDn(value) === normalizeDn(pattern[0]!) : value.toLowerCase() === pattern[0]!.toLowerCase();
  }
  const regex = new RegExp(`^${pattern.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'is');
  return regex.test(value);
}
