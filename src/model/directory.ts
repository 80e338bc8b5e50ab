/**
 * The directory port: what the core asks of a connection to a directory server, and where to connect. The
 * core receives a DirectoryConnector through its dependencies (the CLI passes src/ldap's adapter, tests an
 * in-memory fake), so it never opens a connection itself. Shapes only; the one implementation that talks LDAP
 * is src/ldap/directory.ts.
 */
import type { Change, Entry, LdapControl } from './entries.js';

export type TransportSecurity = 'none' | 'ssl' | 'starttls';

export type Trust =
  | { readonly kind: 'system' }
  | { readonly kind: 'all' }
  /** PEM certificates to trust instead of the system's. */
  | { readonly kind: 'certificates'; readonly ca: readonly Buffer[]; readonly source: string };

export interface ConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly security: TransportSecurity;
  readonly trust: Trust;
  readonly connectTimeoutMs: number;
  readonly operationTimeoutMs: number;
  /**
   * Aborted on Ctrl-C or SIGTERM (its reason is the signal's name): a connect or read in flight is dropped at
   * once, a write in flight gets a short grace to be answered, then the connection is dropped too.
   */
  readonly signal?: AbortSignal;
}

export interface DirectoryStats {
  reads: number;
  writes: number;
  /**
   * Round trips on the run's critical path, across its connections: an operation sent while others are in
   * flight shares their round trip; one sent after an answer came back starts the next. Counted by the adapter
   * (absent where nothing counts them).
   */
  roundTrips?: number;
}

/** Options of a read or search (all optional; callers without them are unaffected). */
export interface SearchOptions {
  /** Request controls, such as Active Directory's SD flags or show-deleted controls. */
  readonly controls?: readonly LdapControl[];
  /** At most this many entries; the server stopping at the limit is not an error (the entries come back). */
  readonly sizeLimit?: number;
}

/** One round of an Active Directory DirSync search (LDAP_SERVER_DIRSYNC_OID). */
export interface DirSyncResult {
  readonly entries: Entry[];
  /** Base64 of the cookie to send next time to get only what changed since. */
  readonly cookie: string;
  /** The server has more changes than it returned in this round. */
  readonly more: boolean;
}

/**
 * One connection. Every failure is a PrepareError carrying the server's result code (a read of an entry that
 * does not exist is not a failure: it is undefined); an aborted `signal` stops an operation with 130/143.
 */
export interface Directory {
  /** `host:port`, as the console shows it. */
  readonly address: string;
  readonly stats: DirectoryStats;
  bind(dn: string, password: string): Promise<void>;
  /** Reads one entry; undefined when it does not exist (or this connection may not see it). */
  read(dn: string, attributes: readonly string[], options?: SearchOptions): Promise<Entry | undefined>;
  search(
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: string,
    attributes: readonly string[],
    options?: SearchOptions,
  ): Promise<Entry[]>;
  /**
   * Active Directory DirSync (MS-ADTS 3.1.1.3.4.1.3): the entries changed since `cookie` (everything when
   * absent) under a naming context root. Needs the "Replicating Directory Changes" right unless `flags` asks
   * for object security (0x1).
   */
  dirSync(
    base: string,
    filter: string,
    attributes: readonly string[],
    options?: { cookie?: string; flags?: number; maxBytes?: number },
  ): Promise<DirSyncResult>;
  apply(change: Change): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens a connection (negotiating StartTLS where asked); its reads and writes are counted into `stats`, which
 * the connections of one run share.
 */
export type DirectoryConnector = (options: ConnectionOptions, stats: DirectoryStats) => Promise<Directory>;
