// A small synchronization engine for the tests: what PingDataSync does between a prepared source and a prepared
// destination, bound only as the two sync users. A full resync reads every entry of the sync scope from the
// source (unpaged or paged) and makes the destination equal; then the engine replays the source's change log
// (389 DS retro changelog, OpenLDAP accesslog) record by record. It correlates records with entries by the
// source's entry id (nsUniqueId through targetUniqueId, entryUUID through reqEntryUUID), and decides whether a
// delete is in scope from the deleted entry's object classes carried in the record, as a Sync Class with an
// include filter must. It is the proof that "prepared" means ready; it is not a product.
import { createHash, randomBytes } from 'node:crypto';
import { Attribute, Change, Client } from 'ldapts';

export interface Account {
  readonly url: string;
  readonly dn: string;
  readonly password: string;
}

export type SourceKind = '389ds' | 'openldap';

/** What is synchronized: entries under `base` with one of `classes`, except the DNs in `excluded`. */
export interface SyncScope {
  readonly base: string;
  readonly classes: readonly string[];
  readonly excluded: readonly string[];
}

export type Attributes = Record<string, string[]>;

export interface ChangeRecord {
  /** Change number (389 DS) or reqStart (OpenLDAP): the position in the log. */
  readonly position: string;
  readonly type: 'add' | 'modify' | 'modrdn' | 'delete';
  readonly dn: string;
  /** The source entry's id: targetUniqueId (389 DS) or reqEntryUUID (OpenLDAP). */
  readonly entryId: string | undefined;
  /** add: the new entry; delete: what the record says the deleted entry held. */
  readonly attributes: Attributes;
  readonly modifications: readonly { operation: 'add' | 'delete' | 'replace'; attribute: string; values: string[] }[];
  readonly newRdn?: string;
  readonly newSuperior?: string;
  /** 389 DS: when this server logged the change (changeTime): where a failover back-tracks to. */
  readonly changeTime?: string;
}

export interface ResyncReport {
  readonly read: number;
  readonly added: number;
  readonly modified: number;
  readonly deleted: number;
  readonly unchanged: number;
}

/** Attributes a server keeps for itself: never copied, never compared. */
const OPERATIONAL = new Set([
  'creatorsname',
  'modifiersname',
  'createtimestamp',
  'modifytimestamp',
  'entryid',
  'parentid',
  'entryuuid',
  'nsuniqueid',
  'dsentrydn',
  'entrydn',
  'entrycsn',
  'structuralobjectclass',
  'contextcsn',
  'hassubordinates',
  'numsubordinates',
  'subschemasubentry',
  'nsaccountlock',
  // 389 DS password policy state, which it logs with a password change: the destination's own business.
  'passwordgraceusertime',
  'passwordexpirationtime',
  'passwordallowchangetime',
  'passwordhistory',
  'passwordretrycount',
  'retrycountresettime',
  'accountunlocktime',
  'pwdupdatetime',
  'passwordexpwarned',
  'pwdreset',
]);

const ID_ATTRIBUTE: Record<SourceKind, string> = { '389ds': 'nsUniqueId', openldap: 'entryUUID' };
const WRITERS = 4;

/** `{SSHA}` of a password (salted SHA-1, the scheme both servers verify): what a sync carries. */
export function ssha(password: string, salt: Buffer = randomBytes(8)): string {
  const digest = createHash('sha1').update(password, 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

function normalize(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((rdn) =>
      rdn
        .trim()
        .toLowerCase()
        .replace(/\s*=\s*/, '='),
    )
    .join(',');
}

function parentOf(dn: string): string {
  const index = dn.search(/(?<!\\),/);
  return index < 0 ? '' : dn.slice(index + 1).trim();
}

function depth(dn: string): number {
  return dn.split(/(?<!\\),/).length;
}

function strings(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
}

/** An entry's user attributes, names lower-cased, values sorted. */
export function userAttributes(entry: Record<string, unknown>): Attributes {
  const out: Attributes = {};
  for (const [name, value] of Object.entries(entry)) {
    const key = name.toLowerCase();
    if (key === 'dn' || key === '*' || key === '+' || OPERATIONAL.has(key)) continue;
    // ldapts lists every attribute asked for, present or not: an absent one has no values.
    const values = strings(value);
    if (values.length > 0) out[key] = [...(out[key] ?? []), ...values].sort();
  }
  return out;
}

export async function connect(account: Account): Promise<Client> {
  const client = new Client({ url: account.url, timeout: 60_000, connectTimeout: 5_000 });
  await client.bind(account.dn, account.password);
  return client;
}

/** Runs `tasks` with at most `limit` in flight. */
async function pool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, worker: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async (_, worker) => {
      while (next < items.length) {
        const item = items[next++]!;
        await task(item, worker);
      }
    }),
  );
}

/** LDIF lines (RFC 2849) unfolded and decoded: `name: value`, `name:: base64`, and 389's trailing NUL removed. */
export function ldifLines(text: string): { name: string; value: string }[] {
  const unfolded = text.replace(/\0+$/, '').replace(/\r?\n /g, '');
  return unfolded
    .split(/\r?\n/)
    .filter((line) => line !== '')
    .map((line) => {
      if (line === '-') return { name: '-', value: '' };
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      const rest = line.slice(colon + 1);
      return rest.startsWith(':')
        ? { name, value: Buffer.from(rest.slice(1).trim(), 'base64').toString('utf8') }
        : { name, value: rest.replace(/^ /, '') };
    });
}

function attributesOfLdif(text: string): Attributes {
  const out: Attributes = {};
  for (const { name, value } of ldifLines(text)) {
    const key = name.toLowerCase();
    if (key === '-' || OPERATIONAL.has(key)) continue;
    out[key] = [...(out[key] ?? []), value];
  }
  return out;
}

function modificationsOfLdif(text: string): ChangeRecord['modifications'] {
  const out: { operation: 'add' | 'delete' | 'replace'; attribute: string; values: string[] }[] = [];
  let current: (typeof out)[number] | undefined;
  for (const { name, value } of ldifLines(text)) {
    if (name === '-') {
      current = undefined;
    } else if (current === undefined && /^(add|delete|replace)$/i.test(name)) {
      current = { operation: name.toLowerCase() as 'add' | 'delete' | 'replace', attribute: value.trim(), values: [] };
      out.push(current);
    } else if (current !== undefined) {
      current.values.push(value);
    }
  }
  return out.filter((m) => !OPERATIONAL.has(m.attribute.toLowerCase()));
}

/** `attr:+ value`, `attr:- value`, `attr:= value`, `attr:-` (all values): OpenLDAP's reqMod. */
function modificationsOfReqMod(values: readonly string[]): ChangeRecord['modifications'] {
  const out: { operation: 'add' | 'delete' | 'replace'; attribute: string; values: string[] }[] = [];
  for (const line of values) {
    const match = /^([^:]+):([+\-=#])(?: (.*))?$/s.exec(line);
    if (match === null || match[2] === '#') continue;
    const attribute = match[1]!;
    if (OPERATIONAL.has(attribute.toLowerCase())) continue;
    const operation = match[2] === '+' ? 'add' : match[2] === '-' ? 'delete' : 'replace';
    const last = out[out.length - 1];
    if (last !== undefined && last.attribute === attribute && last.operation === operation) {
      if (match[3] !== undefined) last.values.push(match[3]);
    } else {
      out.push({ operation, attribute, values: match[3] === undefined ? [] : [match[3]] });
    }
  }
  return out;
}

/** `name: value` lines (OpenLDAP's reqOld) as attributes. */
function attributesOfLines(values: readonly string[]): Attributes {
  const out: Attributes = {};
  for (const line of values) {
    const colon = line.indexOf(': ');
    if (colon < 0) continue;
    const key = line.slice(0, colon).toLowerCase();
    if (OPERATIONAL.has(key)) continue;
    out[key] = [...(out[key] ?? []), line.slice(colon + 2)];
  }
  return out;
}

export class ReferenceSync {
  /** Source entry id -> destination DN: how a record finds the entry it is about after renames. */
  private readonly correlation = new Map<string, string>();
  private position: string | undefined;
  /** Every record read, for the tests to look at. */
  public readonly recordsRead: ChangeRecord[] = [];
  public writes = 0;
  /** What each applied change was (not where: change numbers are per server), to skip it after a failover. */
  private readonly appliedChanges = new Set<string>();
  /** The changeTime of the last record applied: where a failover back-tracks from. */
  private lastChangeTime: string | undefined;
  /** After failOver(): the next read back-tracks to records logged at or after this time. */
  private backtrackTo: string | undefined;
  private failedOver = false;
  /** Records read again after a failover that had been applied before it (skipped, never applied twice). */
  public alreadyApplied = 0;

  public constructor(
    private readonly kind: SourceKind,
    private source: Account,
    private readonly destination: Account,
    private readonly scope: SyncScope,
  ) {}

  private inScopeFilter(): string {
    return `(|${this.scope.classes.map((c) => `(objectClass=${c})`).join('')})`;
  }

  private excluded(dn: string): boolean {
    return this.scope.excluded.some((other) => normalize(other) === normalize(dn));
  }

  private inClass(attributes: Attributes): boolean {
    const classes = (attributes['objectclass'] ?? []).map((c) => c.toLowerCase());
    return this.scope.classes.some((c) => classes.includes(c.toLowerCase()));
  }

  /** The entries in scope as `account` sees them: DN (normalized) -> user attributes. */
  public async read(
    account: Account,
    options: { paged?: boolean; withIds?: boolean } = {},
  ): Promise<Map<string, { dn: string; attributes: Attributes; id?: string }>> {
    const client = await connect(account);
    try {
      const id = ID_ATTRIBUTE[this.kind];
      const { searchEntries } = await client.search(this.scope.base, {
        scope: 'sub',
        filter: this.inScopeFilter(),
        attributes: options.withIds === true ? ['*', id] : ['*'],
        ...(options.paged === true ? { paged: { pageSize: 500 } } : {}),
      });
      const out = new Map<string, { dn: string; attributes: Attributes; id?: string }>();
      for (const entry of searchEntries) {
        if (this.excluded(entry.dn)) continue;
        const idValue = Object.entries(entry).find(([name]) => name.toLowerCase() === id.toLowerCase())?.[1];
        out.set(normalize(entry.dn), {
          dn: entry.dn,
          attributes: userAttributes(entry),
          ...(idValue === undefined ? {} : { id: strings(idValue)[0] }),
        });
      }
      return out;
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /** Notes where the change log is now: replay starts after it (taken before a resync reads anything). */
  public async markChangeLogPosition(): Promise<void> {
    const client = await connect(this.source);
    try {
      if (this.kind === '389ds') {
        const { searchEntries } = await client.search('', { scope: 'base', attributes: ['lastChangeNumber'] });
        this.position = strings(searchEntries[0]?.['lastChangeNumber'] ?? '0')[0];
      } else {
        const { searchEntries } = await client.search('cn=accesslog', {
          scope: 'one',
          filter: '(objectClass=auditWriteObject)',
          attributes: ['reqStart'],
        });
        // An empty log: every record is new (reqStart values are generalized times, always greater than '').
        this.position =
          searchEntries
            .map((e) => strings(e['reqStart'])[0] ?? '')
            .sort()
            .pop() ?? '';
      }
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /**
   * The source is gone: read from `next` instead, another server of its replicated topology. Change numbers are
   * that server's own, so the engine back-tracks by time: the next read takes every record `next` logged from
   * `backtrackSeconds` before the last change applied, and skips the ones already applied (389 DS only).
   */
  public failOver(next: Account, backtrackSeconds: number): void {
    if (this.kind !== '389ds') throw new Error('failOver: 389 DS only');
    if (this.lastChangeTime === undefined) throw new Error('failOver: no change applied yet');
    this.source = next;
    this.failedOver = true;
    this.backtrackTo = shiftGeneralizedTime(this.lastChangeTime, -backtrackSeconds);
    this.position = '0';
  }

  /** Makes the destination's scope equal to the source's, as a full resync does. */
  public async fullResync(options: { paged: boolean }): Promise<ResyncReport> {
    const sourceEntries = await this.read(this.source, { paged: options.paged, withIds: true });
    const destinationEntries = await this.read(this.destination, { paged: true });
    for (const entry of sourceEntries.values()) if (entry.id !== undefined) this.correlation.set(entry.id, entry.dn);
    const adds: { dn: string; attributes: Attributes }[] = [];
    const modifies: { dn: string; changes: Change[] }[] = [];
    let unchanged = 0;
    for (const [key, entry] of sourceEntries) {
      const current = destinationEntries.get(key);
      if (current === undefined) {
        adds.push(entry);
        continue;
      }
      const changes = difference(current.attributes, entry.attributes);
      if (changes.length === 0) unchanged += 1;
      else modifies.push({ dn: current.dn, changes });
    }
    const deletes = [...destinationEntries].filter(([key]) => !sourceEntries.has(key)).map(([, entry]) => entry.dn);
    const writers = await Promise.all(Array.from({ length: WRITERS }, () => connect(this.destination)));
    try {
      // Parents before children: one depth at a time, each depth in parallel.
      const depths = [...new Set(adds.map((a) => depth(a.dn)))].sort((a, b) => a - b);
      for (const level of depths) {
        await pool(
          adds.filter((a) => depth(a.dn) === level),
          WRITERS,
          async (entry, worker) => {
            await writers[worker]!.add(entry.dn, entry.attributes);
            this.writes += 1;
          },
        );
      }
      await pool(modifies, WRITERS, async (entry, worker) => {
        await writers[worker]!.modify(entry.dn, entry.changes);
        this.writes += 1;
      });
      for (const dn of deletes.sort((a, b) => depth(b) - depth(a))) {
        await writers[0]!.del(dn);
        this.writes += 1;
      }
    } finally {
      await Promise.all(writers.map((w) => w.unbind().catch(() => undefined)));
    }
    return {
      read: sourceEntries.size,
      added: adds.length,
      modified: modifies.length,
      deleted: deletes.length,
      unchanged,
    };
  }

  /** The change log records after the marked position, oldest first, as the source sync user reads them. */
  public async readChanges(): Promise<ChangeRecord[]> {
    if (this.position === undefined) throw new Error('markChangeLogPosition() first');
    const client = await connect(this.source);
    try {
      const backtrackTo = this.backtrackTo;
      this.backtrackTo = undefined;
      const records =
        this.kind === '389ds'
          ? (await this.read389Records(client, this.position)).filter(
              (record) => backtrackTo === undefined || (record.changeTime ?? '') >= backtrackTo,
            )
          : await this.readAccesslogRecords(client, this.position);
      if (records.length > 0) this.position = records[records.length - 1]!.position;
      this.recordsRead.push(...records);
      return records;
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  private async read389Records(client: Client, after: string): Promise<ChangeRecord[]> {
    const { searchEntries } = await client.search('cn=changelog', {
      scope: 'one',
      filter: `(changeNumber>=${Number(after) + 1})`,
      attributes: ['*', 'targetUniqueId'],
      paged: { pageSize: 500 },
    });
    const get = (entry: Record<string, unknown>, name: string): string | undefined => {
      const found = Object.entries(entry).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
      return found === undefined ? undefined : strings(found)[0];
    };
    return searchEntries
      .map((entry): ChangeRecord => {
        const type = (get(entry, 'changeType') ?? '').toLowerCase() as ChangeRecord['type'];
        const changes = get(entry, 'changes') ?? '';
        const newRdn = get(entry, 'newRDN');
        const newSuperior = get(entry, 'newSuperior');
        return {
          position: get(entry, 'changeNumber') ?? '0',
          type,
          dn: get(entry, 'targetDn') ?? '',
          entryId: get(entry, 'targetUniqueId'),
          attributes: type === 'add' || type === 'delete' ? attributesOfLdif(changes) : {},
          modifications: type === 'modify' ? modificationsOfLdif(changes) : [],
          ...(newRdn === undefined ? {} : { newRdn }),
          ...(newSuperior === undefined ? {} : { newSuperior }),
          ...(get(entry, 'changeTime') === undefined ? {} : { changeTime: get(entry, 'changeTime') }),
        };
      })
      .sort((a, b) => Number(a.position) - Number(b.position));
  }

  private async readAccesslogRecords(client: Client, after: string): Promise<ChangeRecord[]> {
    const { searchEntries } = await client.search('cn=accesslog', {
      scope: 'one',
      filter: `(&(objectClass=auditWriteObject)(reqResult=0)${after === '' ? '' : `(reqStart>=${after})`})`,
      attributes: ['reqStart', 'reqType', 'reqDN', 'reqMod', 'reqOld', 'reqNewRDN', 'reqNewSuperior', 'reqEntryUUID'],
      paged: { pageSize: 500 },
    });
    return searchEntries
      .map((entry): ChangeRecord => {
        const one = (name: string): string | undefined =>
          entry[name] === undefined ? undefined : strings(entry[name])[0];
        const all = (name: string): string[] => (entry[name] === undefined ? [] : strings(entry[name]));
        const type = one('reqType') as ChangeRecord['type'];
        const newRdn = one('reqNewRDN');
        const newSuperior = one('reqNewSuperior');
        const added = type === 'add' ? modificationsOfReqMod(all('reqMod')) : [];
        return {
          position: one('reqStart') ?? '',
          type,
          dn: one('reqDN') ?? '',
          entryId: one('reqEntryUUID'),
          attributes:
            type === 'add'
              ? Object.fromEntries(added.map((m) => [m.attribute.toLowerCase(), m.values]))
              : type === 'delete'
                ? attributesOfLines(all('reqOld'))
                : {},
          modifications: type === 'modify' ? modificationsOfReqMod(all('reqMod')) : [],
          ...(newRdn === undefined ? {} : { newRdn }),
          ...(newSuperior === undefined ? {} : { newSuperior }),
        };
      })
      .filter((record) => record.position !== after)
      .sort((a, b) => a.position.localeCompare(b.position));
  }

  /** Applies records to the destination in order; returns how many were applied and skipped (out of scope). */
  public async replay(records: readonly ChangeRecord[]): Promise<{ applied: number; skipped: number }> {
    const client = await connect(this.destination);
    let applied = 0;
    let skipped = 0;
    try {
      for (const record of records) {
        const identity = changeIdentity(record);
        // Only a back-tracked read holds changes already applied; before any failover, two equal changes are two.
        if (this.failedOver && this.appliedChanges.has(identity)) {
          this.alreadyApplied += 1;
          continue;
        }
        try {
          if (!(await this.apply(client, record))) skipped += 1;
          else {
            applied += 1;
            this.appliedChanges.add(identity);
          }
          if (record.changeTime !== undefined) this.lastChangeTime = record.changeTime;
        } catch (error) {
          throw new Error(
            `change ${record.position} (${record.type} ${record.dn}) failed on the destination: ${String(error)}; record ${JSON.stringify(record)}`,
            { cause: error },
          );
        }
      }
    } finally {
      await client.unbind().catch(() => undefined);
    }
    return { applied, skipped };
  }

  private inScopeDn(dn: string): boolean {
    const key = normalize(dn);
    const base = normalize(this.scope.base);
    return (key === base || key.endsWith(`,${base}`)) && !this.excluded(dn);
  }

  /** One record. False when it is out of scope (another class, an excluded DN, outside the base). */
  private async apply(client: Client, record: ChangeRecord): Promise<boolean> {
    if (record.entryId === undefined)
      throw new Error(`change ${record.position} (${record.type} ${record.dn}) carries no entry id`);
    const known = this.correlation.get(record.entryId);
    switch (record.type) {
      case 'add': {
        if (!this.inScopeDn(record.dn) || !this.inClass(record.attributes)) return false;
        await client.add(record.dn, record.attributes);
        this.correlation.set(record.entryId, record.dn);
        break;
      }
      case 'modify': {
        if (known === undefined) return false;
        const changes = record.modifications.map(
          (m) =>
            new Change({
              operation: m.operation,
              modification: new Attribute({ type: m.attribute, values: m.values }),
            }),
        );
        if (changes.length === 0) return false;
        await client.modify(known, changes);
        break;
      }
      case 'modrdn': {
        if (known === undefined || record.newRdn === undefined) return false;
        const target = `${record.newRdn},${record.newSuperior ?? parentOf(known)}`;
        await client.modifyDN(known, target);
        this.correlation.set(record.entryId, target);
        break;
      }
      case 'delete': {
        // A Sync Class with an include filter decides from the deleted entry's attributes: without them in the
        // record, a delete cannot be told in or out of scope.
        if (record.attributes['objectclass'] === undefined) {
          throw new Error(
            `delete record ${record.position} of ${record.dn} does not say what the entry was (no objectClass)`,
          );
        }
        if (!this.inScopeDn(record.dn) || !this.inClass(record.attributes)) return false;
        await client.del(known ?? record.dn);
        this.correlation.delete(record.entryId);
        break;
      }
    }
    this.writes += 1;
    return true;
  }
}

/** The modify that turns `current` into `wanted` (attribute by attribute). */
function difference(current: Attributes, wanted: Attributes): Change[] {
  const changes: Change[] = [];
  for (const [name, values] of Object.entries(wanted)) {
    const have = current[name] ?? [];
    if (have.length !== values.length || have.some((v, i) => v !== values[i])) {
      changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: name, values }) }));
    }
  }
  for (const name of Object.keys(current)) {
    if (wanted[name] === undefined)
      changes.push(new Change({ operation: 'delete', modification: new Attribute({ type: name }) }));
  }
  return changes;
}

/**
 * What a change is, whichever server logged it: its type, the entry's id and what it wrote (user attributes
 * only: servers log their own operational ones). The streams of the tests never make one change twice.
 */
function changeIdentity(record: ChangeRecord): string {
  const user = (name: string): boolean => !OPERATIONAL.has(name.toLowerCase());
  return JSON.stringify([
    record.type,
    record.entryId,
    Object.entries(record.attributes)
      .filter(([name]) => user(name))
      .map(([name, values]) => [name.toLowerCase(), [...values].sort()])
      .sort(),
    record.modifications
      .filter((m) => user(m.attribute))
      .map((m) => [m.operation, m.attribute.toLowerCase(), [...m.values].sort()]),
    record.newRdn ?? null,
    record.newSuperior ?? null,
  ]);
}

/** `20261208014500Z` moved by `seconds`. */
function shiftGeneralizedTime(time: string, seconds: number): string {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})/.exec(time);
  if (match === null) throw new Error(`not a generalized time: ${time}`);
  const [, y, mo, d, h, mi, se] = match.map(Number) as [number, number, number, number, number, number, number];
  const shifted = new Date(Date.UTC(y, mo - 1, d, h, mi, se) + seconds * 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${shifted.getUTCFullYear()}${pad(shifted.getUTCMonth() + 1)}${pad(shifted.getUTCDate())}${pad(shifted.getUTCHours())}${pad(shifted.getUTCMinutes())}${pad(shifted.getUTCSeconds())}Z`;
}
