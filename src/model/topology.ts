/**
 * Replication as one server shows it: its own role, the other servers it names (agreements, syncrepl providers,
 * referrals, domain controllers), and the settings a sync engine's failover to another server depends on.
 * Shapes only: each family reads its own (src/servers/*-topology.ts), the core compares and reports them.
 */
import type { Entry, LdapControl } from './entries.js';
import type { PrepareTarget } from './plan.js';

/** A writable server (389 supplier, OpenLDAP provider, a writable DC), a hub, or a read-only consumer. */
export type ReplicaRole = 'supplier' | 'hub' | 'consumer';

/** Another server of the topology, as this one names it. */
export interface ReplicationPeer {
  readonly host: string;
  readonly port: number;
  /** Its role when this server can tell (a consumer's referral names a supplier; an agreement says nothing). */
  readonly role?: ReplicaRole;
  /** Where this server names it: an agreement's DN, a syncrepl rid, a referral. */
  readonly via: string;
}

export interface ServerTopology {
  /** Undefined: this server replicates none of the base DNs. */
  readonly role: ReplicaRole | undefined;
  readonly peers: readonly ReplicationPeer[];
  /** One line each, for the console: replica ids, paused agreements, what could not be read. */
  readonly notes: readonly string[];
}

/** A search a family's topology reading needs (as the admin); `base` scope reads one entry. */
export interface TopologySearch {
  readonly key: string;
  readonly base: string;
  readonly scope: 'base' | 'one' | 'sub';
  readonly filter: string;
  readonly attributes: readonly string[];
  readonly controls?: readonly LdapControl[];
}

/** The entries each TopologySearch found, by key (empty when the search found nothing or was refused). */
export type TopologyEntries = ReadonlyMap<string, readonly Entry[]>;

/**
 * What failover depends on, one value per name (`change log: on`, `retention: 2d`), so two servers compare name
 * by name. A value the server does not show is `(none)`.
 */
export type FailoverFacts = Readonly<Record<string, string>>;

/** The tool's own replication conflict copies (to delete) and others' (to report), as the family tells them. */
export interface ConflictEntries {
  readonly ours: readonly Entry[];
  readonly others: readonly Entry[];
}

/**
 * A family's reading of replication (ServerProfile.topology). Pure: the core runs the searches as the admin and
 * hands the entries back.
 */
export interface TopologyReading {
  /** Everything the three readings below need, in one round of searches. */
  searches(target: PrepareTarget): TopologySearch[];
  topology(target: PrepareTarget, found: TopologyEntries): ServerTopology;
  /** The per-server settings a failover depends on, and the sync user's rights and limits on this server. */
  failoverFacts(target: PrepareTarget, found: TopologyEntries): FailoverFacts;
  /** Searches for replication conflict entries under the base DNs (389 DS's nsds5ReplConflict, AD's CNF: names). */
  conflictSearches?(target: PrepareTarget): TopologySearch[];
  /** The conflict entries among what conflictSearches found (the core tells the tool's own by their mark). */
  conflicts?(target: PrepareTarget, found: TopologyEntries): readonly Entry[];
  /**
   * A conflict copy of an entry this tool made for the sync user other than the account itself, which carries
   * no mark of its own (389 DS's user-level password policy entry: two runs under replication lag both add it).
   */
  isOwnConflict?(target: PrepareTarget, entry: Entry): boolean;
}
