/**
 * Two identities on one server, as a locked-down server needs them: a stock Debian slapd lets only root over
 * ldapi (SASL EXTERNAL) manage `cn=config`, while only the database's root DN (`cn=admin,<suffix>`) may write
 * its entries. With --useSASLExternal and --bindDN both given, the run sees one Directory: what is under
 * `cn=config` goes to the EXTERNAL connection, everything else to the bind DN's connection of its own.
 * With --useSASLExternal alone, everything goes to the EXTERNAL connection.
 */
import type {
  AccountPolicyState,
  BindOptions,
  Directory,
  DirectoryStats,
  DirSyncResult,
  SearchOptions,
} from '../model/directory.js';
import type { Change, Entry } from '../model/entries.js';
import { isWithin } from '../formats/dn.js';
import type { OpenDirectory } from './connections.js';

/** Where the server keeps its own configuration (OpenLDAP's back-config, 389 DS's cn=config). */
const CONFIGURATION_SUFFIX = 'cn=config';

export class TwoIdentityDirectory implements Directory {
  public readonly address: string;
  public readonly stats: DirectoryStats;
  /** The bind DN's connection, opened by bind(); until then the EXTERNAL connection does everything. */
  private data: Directory | undefined;

  public constructor(
    private readonly configuration: Directory,
    private readonly open: OpenDirectory,
  ) {
    this.address = configuration.address;
    this.stats = configuration.stats;
  }

  public bindExternal(): Promise<string | undefined> {
    return this.configuration.bindExternal();
  }

  /** Binds the data identity on a connection of its own (the EXTERNAL one keeps its identity). */
  public async bind(dn: string, password: string, options?: BindOptions): Promise<AccountPolicyState | void> {
    const data = this.data ?? (await this.open());
    this.data = data;
    return data.bind(dn, password, options);
  }

  public read(dn: string, attributes: readonly string[], options?: SearchOptions): Promise<Entry | undefined> {
    return this.for(dn).read(dn, attributes, options);
  }

  public search(
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: string,
    attributes: readonly string[],
    options?: SearchOptions,
  ): Promise<Entry[]> {
    return this.for(base).search(base, scope, filter, attributes, options);
  }

  public dirSync(
    base: string,
    filter: string,
    attributes: readonly string[],
    options?: { cookie?: string; flags?: number; maxBytes?: number },
  ): Promise<DirSyncResult> {
    return this.for(base).dirSync(base, filter, attributes, options);
  }

  public apply(change: Change): Promise<void> {
    return this.for(change.dn).apply(change);
  }

  public async close(): Promise<void> {
    await this.data?.close();
    await this.configuration.close();
  }

  /** The identity for a DN: the configuration's for cn=config, the bind DN's (when bound) for the rest. */
  private for(dn: string): Directory {
    if (this.data === undefined || (dn !== '' && isWithin(dn, CONFIGURATION_SUFFIX))) return this.configuration;
    return this.data;
  }
}
