/**
 * The plan's vocabulary, shared by every layer: what a run is asked to achieve (PrepareTarget), what the admin
 * connection saw (Observation, with the reads and searches that fill it) and what a run will do or did
 * (PlannedStep). Plain data, no behaviour.
 */
import type { AccountPolicyState } from './directory.js';
import type { Change, Entry, LdapControl } from './entries.js';

export type StepStatus = 'created' | 'updated' | 'unchanged' | 'skipped' | 'warning';

export interface PlannedStep {
  /** Stable id for scripts and tests, such as `sync-user` or `aci:source:dc=example,dc=com`. */
  readonly id: string;
  readonly title: string;
  readonly status: StepStatus;
  /** What was found or will be done, in a few words. */
  readonly detail?: string;
  readonly changes: readonly Change[];
  /** Things the operator must do or know (restart needed, rights that could not be granted). */
  readonly warnings: readonly string[];
  /**
   * Said before the step's writes are sent (a known server fault the write can trigger), so the operator has
   * read it even when the server dies on the write.
   */
  readonly cautions?: readonly string[];
}

export interface RoleSet {
  readonly source: boolean;
  readonly destination: boolean;
}

/** What the run is asked to achieve, in the profile's terms. */
export interface PrepareTarget {
  readonly baseDns: readonly string[];
  readonly roles: RoleSet;
  readonly syncUserDn: string;
  /** Another server of the topology where the probe write proved the destination's rights (see Settings). */
  readonly writeProvenOn?: string;
  /** The change log maximum age the run asks for (the 2-day default when none was given). */
  readonly changelogMaxAgeSeconds: number;
  /**
   * No age was asked for (no option, no prompt answer): a finite age already on the server is kept, and
   * `changelogMaxAgeSeconds` applies only where none is set (see retention.ts).
   */
  readonly keepCurrentChangelogMaxAge?: boolean;
  readonly inheritDefaultRootPrivileges: boolean;
  /** OpenLDAP: an existing server-side folder for a new cn=accesslog database. */
  readonly accesslogDirectory?: string;
  /** Active Directory: membership of CN=Administrators instead of least-privilege ACEs. */
  readonly adAdministratorsGroup?: boolean;
  /** `--remove`: the run looks for everything the tool may have granted, wherever it is. */
  readonly removing?: boolean;
  /**
   * `--dry-run`: two-phase profiles plan the second phase from the first observation, so they plan what the
   * first phase's writes would make possible (Active Directory: a DACL readable once ownership is taken).
   */
  readonly dryRun?: boolean;
  /**
   * `--changelogDeletedEntryAttribute`: attributes a change log record of a delete must carry besides those the
   * family always keeps (objectClass, the entry id), where the family lets them be chosen.
   */
  readonly deletedEntryAttributes?: readonly string[];
  /**
   * How this run reached the server, for commands printed for someone to run by hand (ldapadd, ldappasswd):
   * the URL (`ldap://host:port`, `ldaps://...`, `ldapi://...`), whether StartTLS was used, and the admin's DN.
   */
  readonly adminConnection?: { readonly url: string; readonly startTls: boolean; readonly adminDn: string };
}

/** What the access test learned about an existing sync user. */
export interface ExistingAccountFacts {
  /** The password given was accepted. */
  readonly canBind: boolean;
  /** The server's words when it was not. */
  readonly bindDiagnostic?: string;
  readonly resetPassword: boolean;
  /** `--remove`: the account is about to go, its state does not matter. */
  readonly removing: boolean;
}

/** What the password policy step knows of the sync user beyond the observation. */
export interface SyncAccountFacts {
  /** The sync user step of this plan adds the account (so the observation has none yet). */
  readonly created: boolean;
  /** The sync user step of this plan replaces its password (which may set a must-change flag). */
  readonly passwordReset: boolean;
  /** What the password policy said at the sync user's bind, refused or not. */
  readonly state?: AccountPolicyState;
}

/** An entry to read as the admin before planning. */
export interface ReadRequest {
  readonly dn: string;
  readonly attributes: readonly string[];
  /**
   * Request controls for the read (Active Directory: SD flags, show deleted). Reads of one DN are merged, their
   * controls too (one per OID, the last wins).
   */
  readonly controls?: readonly LdapControl[];
}

/** A search to run as the admin before planning, for entries whose DNs the profile cannot know up front. */
export interface SearchRequest {
  /** How the profile finds the result again in the Observation. */
  readonly key: string;
  readonly base: string;
  readonly scope: 'one' | 'sub';
  readonly filter: string;
  readonly attributes: readonly string[];
  /** Request controls for the search (Active Directory: SD flags). */
  readonly controls?: readonly LdapControl[];
}

/** What the admin connection saw: the root DSE, and every entry the profile and the core asked for. */
export interface Observation {
  readonly rootDse: Entry | undefined;
  /** The entry at `dn` (undefined when absent); only DNs that were requested can be looked up. */
  entry(dn: string): Entry | undefined;
  /** The entries a SearchRequest found (empty when the base is missing or the admin may not see it). */
  found(key: string): readonly Entry[];
}

/** For servers whose change source is an entry to read rather than root DSE change numbers. */
export interface ChangeSource {
  /** Entry the sync user must be able to read, such as `cn=accesslog`. */
  readonly dn: string;
  /** Said after a successful check, for what a sync server needs beyond it. */
  readonly note: string;
  /**
   * Check with an Active Directory DirSync search of `dn` (a naming context root) instead of reading it: the
   * check passes when the search, as the sync user, returns an entry matching `filter`.
   */
  readonly dirSync?: { readonly filter: string };
  /**
   * The entry may not exist yet on a correctly prepared server (OpenLDAP creates `cn=accesslog` with the first
   * write it logs). When the sync user cannot find it, the run says so plainly and checks access another way:
   * an RFC 4533 refresh of `refreshBase` as the sync user, and (as the admin, searching `ruleBase` for
   * `ruleFilter`) that the entry found holds the rule `hasRule` looks for in `ruleAttribute`.
   */
  readonly mayNotExistYet?: {
    readonly explanation: string;
    readonly refreshBase: string;
    readonly ruleBase: string;
    readonly ruleFilter: string;
    readonly ruleAttribute: string;
    readonly hasRule: (values: readonly string[]) => boolean;
  };
}
