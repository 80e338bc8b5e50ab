/**
 * What a server family contributes to a run. The core decides the order of things and owns the steps every
 * family shares (base DNs, the sync user); a profile only knows its own DNs, attributes and rules.
 */
import type { Change, Entry, LdapControl } from '../ldap/types.js';

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

export interface ServerProfile {
  readonly family: string;
  /** Product name for the console, such as `389 Directory Server`. */
  readonly productName: string;
  defaultSyncUserDn(baseDns: readonly string[]): string;
  /**
   * Before anything is planned: refuse (throw a PrepareError) a sync user or base DN this family must never
   * work with, and return warnings about an existing account the tool will use as it is. Pure.
   */
  vetTarget?(target: PrepareTarget, observed: Observation, account: ExistingAccountFacts): string[];
  /** Attributes of the base DN entries the profile needs (for example `aci`). */
  readonly baseDnAttributes: readonly string[];
  /** Entries to read besides the base DNs, the sync user and its parent. */
  reads(target: PrepareTarget): ReadRequest[];
  /**
   * Entries to read once the first reads are in, for DNs only they can tell (389 DS: the group that
   * `passwordAdminDN` names; Active Directory: the entries its account records holding rights on). Pure.
   */
  followUpReads?(target: PrepareTarget, observed: Observation): ReadRequest[];
  /** Searches to run before planning (optional). */
  searches?(target: PrepareTarget): SearchRequest[];
  /** The attributes of a new sync user entry, password included (and, where rights live on it, its rights). */
  syncUserEntry(dn: string, password: string, target: PrepareTarget): Record<string, string[]>;
  /** The attribute a password reset replaces. */
  readonly passwordAttribute: string;
  /** The server accepts the password only over LDAPS or StartTLS (Active Directory's unicodePwd). */
  readonly passwordRequiresEncryption?: boolean;
  /**
   * Rights name the sync user by something the server assigns when it creates the account (AD's objectSid):
   * the core writes the sync user and planPrerequisites first, observes again, then plans access and the
   * change log. A dry run plans everything from the one observation.
   */
  readonly plansAccessAfterSyncUser?: boolean;
  /** With plansAccessAfterSyncUser: writes that must happen before the rights can be planned. Pure. */
  planPrerequisites?(target: PrepareTarget, observed: Observation): PlannedStep[];
  /** Rights for the roles: ACIs, access rules or privileges. Pure. */
  planAccess(target: PrepareTarget, observed: Observation): PlannedStep[];
  /**
   * The change log maximum age on the server now, in seconds (undefined when unset or unlimited): offered as the
   * prompt's default, so pressing Enter keeps it. Pure.
   */
  currentChangelogMaxAge?(target: PrepareTarget, observed: Observation): number | undefined;
  /** Source only: the change log and its maximum age. Pure. */
  planChangelog(target: PrepareTarget, observed: Observation): PlannedStep[];
  /**
   * `--remove`: take away every right this tool added for the sync user, and with `disableChangelog` turn the
   * change log off. The core deletes the account itself afterwards, when this tool created it; `accountKept` says
   * it will not (an account the tool adopted, or an entry that is no account). Pure. Profiles without it refuse
   * --remove.
   */
  planRemoval?(target: PrepareTarget, observed: Observation, disableChangelog: boolean, accountKept?: boolean): PlannedStep[];
  /**
   * Administrators the sync user must never be, as the observation shows them (389 DS's nsslapd-rootdn, each
   * OpenLDAP database's olcRootDN): `what` names the setting for the message. The admin's bind DN is checked by
   * the core. Pure.
   */
  administratorDns?(target: PrepareTarget, observed: Observation): readonly { readonly dn: string; readonly what: string }[];
  /** Other DNs that bind as the sync user's account (PingDirectory's ds-cfg-alternate-bind-dn). Pure. */
  syncUserAliases?(target: PrepareTarget, observed: Observation): readonly string[];
  /**
   * Two runs at once can leave a duplicate that no failed write reveals (slapd numbers overlay entries, so two
   * adds of one overlay both succeed): after writing, the core observes again and applies what is still needed.
   */
  readonly settlesAfterWrites?: boolean;
  /**
   * The server tells apart spellings of one DN that RFC 4514 says are equal (389 DS: `cn=Sync\20User` is not
   * `cn=Sync User`): an absent sync user is looked for by its RDN under its parent before it is created.
   */
  readonly distinguishesDnSpellings?: boolean;
  /** When set, the source check reads this entry as the sync user instead of the root DSE change numbers. */
  changeSource?(target: PrepareTarget): ChangeSource;
  /** Root DSE attributes the sync user must be able to read on a source. */
  readonly changeNumberAttributes: readonly string[];
  /** Why the sync user could not read the change numbers and what to do, given what was planned. */
  explainMissingChangeNumbers(target: PrepareTarget, observed: Observation, plan: readonly PlannedStep[]): string;
}
