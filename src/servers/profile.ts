/**
 * What a server family contributes to a run. The core decides the order of things and owns the steps every
 * family shares (base DNs, the sync user); a profile only knows its own DNs, attributes and rules.
 */
import type { AccountPolicyState } from '../model/directory.js';
import type {
  ChangeSource,
  ExistingAccountFacts,
  Observation,
  PlannedStep,
  PrepareTarget,
  ReadRequest,
  SearchRequest,
  SyncAccountFacts,
} from '../model/plan.js';
import type { TopologyReading } from '../model/topology.js';

/**
 * What one phase of a preparation plans: the sync user (planned by the core for every family), the writes a
 * family needs before its rights can be planned, the rights, and on a source the change log.
 */
export type PlanPart = 'sync-user' | 'password-policy' | 'prerequisites' | 'access' | 'changelog';

/** The preparation of most families: everything planned from one observation, then written. */
export const ONE_PHASE: readonly (readonly PlanPart[])[] = [
  ['sync-user', 'password-policy', 'prerequisites', 'access', 'changelog'],
];

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
   * The preparation in phases (ONE_PHASE when absent): each phase is planned from a fresh observation once the
   * writes of the phase before it are made. For families whose rights name the sync user by something the
   * server assigns when it creates the account (AD's objectSid): the sync user and prerequisites first, then
   * the rights and the change log. A dry run plans every phase from the one observation.
   */
  readonly phases?: readonly (readonly PlanPart[])[];
  /**
   * The sync user out of reach of the server's password policy (no expiry, no lockout, no must-change), by the
   * family's own per-account mechanism, and a stuck state of the account (locked, expired, must change) cleared
   * as the admin. Planned right after the sync user (the 'password-policy' part). Pure.
   */
  planPasswordPolicy?(target: PrepareTarget, observed: Observation, account: SyncAccountFacts): PlannedStep[];
  /**
   * The account's password policy state as the admin sees it on the entry, for what a bind does not tell
   * (OpenLDAP answers a locked account's bind with a plain 49 unless olcPPolicyUseLockout is on). Pure.
   */
  observedAccountState?(target: PrepareTarget, observed: Observation): AccountPolicyState | undefined;
  /**
   * Object classes of the probe entry (named by `cn`) a destination's verification adds and deletes as the sync
   * user; `top, organizationalRole` when absent.
   */
  readonly probeEntryClasses?: readonly string[];
  /** Writes that must happen before the rights can be planned (the 'prerequisites' part of a phase). Pure. */
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
  planRemoval?(
    target: PrepareTarget,
    observed: Observation,
    disableChangelog: boolean,
    accountKept?: boolean,
  ): PlannedStep[];
  /**
   * Administrators the sync user must never be, as the observation shows them (389 DS's nsslapd-rootdn, each
   * OpenLDAP database's olcRootDN): `what` names the setting for the message. The admin's bind DN is checked by
   * the core. Pure.
   */
  administratorDns?(
    target: PrepareTarget,
    observed: Observation,
  ): readonly { readonly dn: string; readonly what: string }[];
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
  /**
   * After the change numbers, the source check also reads this entry as the sync user (the OpenDJ lineage grants
   * the root DSE numbers and the `cn=changelog` records through different rules).
   */
  readonly changelogEntryDn?: string;
  /** Root DSE attributes the sync user must be able to read on a source. */
  readonly changeNumberAttributes: readonly string[];
  /**
   * The replication this server takes part in, the settings a failover depends on, and conflict entries
   * (src/servers/*-topology.ts). Families without it say nothing of replication.
   */
  readonly topology?: TopologyReading;
  /** Why the sync user could not read the change numbers and what to do, given what was planned. */
  explainMissingChangeNumbers(target: PrepareTarget, observed: Observation, plan: readonly PlannedStep[]): string;
}
