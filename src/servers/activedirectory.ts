/**
 * Active Directory (Windows Server and Samba AD DC alike). The sync user is an ordinary enabled user whose
 * password never expires; its rights are ACEs in the DACLs (nTSecurityDescriptor) of the naming context, the
 * base DNs and CN=Deleted Objects, naming it by its objectSid. There is no change log to enable: a sync server
 * polls DirSync (LDAP_SERVER_DIRSYNC_OID), which needs the "Replicating Directory Changes" extended right on
 * the domain naming context. `--adAdministratorsGroup` instead makes the account a member of
 * CN=Administrators, which is what Ping's documentation describes.
 *
 * Descriptors are read and written with the SD flags control asking for the DACL only (the owner, group and
 * SACL stay as they are); CN=Deleted Objects is reached with the show-deleted control, and when the admin may
 * not read its DACL (the default: only SYSTEM may) it first takes ownership for BUILTIN\Administrators, as
 * `dsacls "CN=Deleted Objects,..." /takeOwnership` does in Ping's documentation.
 */
import { AdTopologyReading } from './ad-topology.js';
import { dnEquals, formatDn, isValidDn, isWithin, normalizeDn, parseDn } from '../formats/dn.js';
import { PrepareError, ResultCode } from '../model/errors.js';
import { equalityFilter, escapeFilterValue } from '../formats/filter.js';
import {
  binaryValue,
  DIRSYNC_OID,
  firstValue,
  valuesOf,
  type Change,
  type Entry,
  type LdapControl,
} from '../model/entries.js';
import {
  AccessMask,
  AceFlags,
  AceType,
  decodeSecurityDescriptor,
  decodeSid,
  DescriptorFormatError,
  encodeSecurityDescriptor,
  findAce,
  sameSid,
  SecurityInformation,
  withAce,
  withoutAces,
  type Ace,
  type SecurityDescriptor,
} from './ad/security-descriptor.js';
import { SYNC_USER_DESCRIPTION } from './person.js';
import {
  passwordSettingsReads,
  planAdPasswordSettings,
  planAdPasswordSettingsRemoval,
} from './ad/password-settings.js';
import type { PlanPart, ServerProfile } from './profile.js';
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
import { changed, manual, skipped, unchanged } from '../model/steps.js';

export const SD_FLAGS_OID = '1.2.840.113556.1.4.801';
export const SHOW_DELETED_OID = '1.2.840.113556.1.4.417';
/** DS-Replication-Get-Changes, "Replicating Directory Changes" (MS-ADTS 5.1.3.2.1). */
export const REPLICATING_DIRECTORY_CHANGES = '1131f6aa-9c07-11d1-f79f-00c04fc2dcd2';
export const BUILTIN_ADMINISTRATORS_SID = 'S-1-5-32-544';
/** userAccountControl: NORMAL_ACCOUNT (0x200) + DONT_EXPIRE_PASSWORD (0x10000); enabled (no ACCOUNTDISABLE). */
export const SYNC_USER_ACCOUNT_CONTROL = String(0x200 | 0x10000);

/** Read rights for CN=Deleted Objects and its tombstones: list, read properties, read the descriptor. */
const DELETED_OBJECTS_READ =
  AccessMask.LIST_CHILDREN | AccessMask.READ_PROPERTY | AccessMask.LIST_OBJECT | AccessMask.READ_CONTROL;
/** schemaIDGUIDs of the classes a destination sync creates and changes (the same in every forest: base schema). */
export const SYNCED_CLASSES = {
  user: 'bf967aba-0de6-11d0-a285-00aa003049e2',
  group: 'bf967a9c-0de6-11d0-a285-00aa003049e2',
  contact: '5cb41ed0-0e4c-11d0-a286-00aa003049e2',
  organizationalUnit: 'bf967aa5-0de6-11d0-a285-00aa003049e2',
  inetOrgPerson: '4828cc14-1437-45bc-9b07-ad6f015e5f28',
} as const;
/** The two password extended rights a destination needs, and no other (MS-ADTS 5.1.3.2.1). */
export const RESET_PASSWORD = '00299570-246d-11d0-a768-00aa006e0529';
export const CHANGE_PASSWORD = 'ab721a53-1e2f-11d0-9819-00aa0040529b';
/** gPLink and gPOptions: linking a Group Policy to an OU would reach every computer and user below it. */
const GP_LINK = 'f30e3bbe-9ff0-11d1-b603-0000f80367c1';
const GP_OPTIONS = 'f30e3bbf-9ff0-11d1-b603-0000f80367c1';

/** Read everything below (and of) the base: list, read properties, list object, read the descriptor. */
const DESTINATION_READ =
  AccessMask.LIST_CHILDREN | AccessMask.READ_PROPERTY | AccessMask.LIST_OBJECT | AccessMask.READ_CONTROL;
/** On the synced objects below the base: write every property and delete the object itself. */
const DESTINATION_OBJECT_RIGHTS = AccessMask.READ_PROPERTY | AccessMask.WRITE_PROPERTY | AccessMask.DELETE;
/**
 * Denied on every protected account and group (and the sync user's own account): whatever else is granted, it
 * may not change them, their membership, their password or their descriptor, nor delete or move them.
 */
const PROTECTED_DENY =
  AccessMask.CREATE_CHILD |
  AccessMask.DELETE_CHILD |
  AccessMask.SELF_WRITE |
  AccessMask.WRITE_PROPERTY |
  AccessMask.DELETE_TREE |
  AccessMask.CONTROL_ACCESS |
  AccessMask.DELETE |
  AccessMask.WRITE_DAC |
  AccessMask.WRITE_OWNER;
/**
 * The destination ACE of versions up to 0.1.0: every right but WRITE_DAC and WRITE_OWNER, on the base and all
 * below, "all extended rights" included (DS-Replication-Get-Changes-All, so DCSync). Removed when found.
 */
const LEGACY_DESTINATION_RIGHTS =
  AccessMask.CREATE_CHILD |
  AccessMask.DELETE_CHILD |
  AccessMask.LIST_CHILDREN |
  AccessMask.SELF_WRITE |
  AccessMask.READ_PROPERTY |
  AccessMask.WRITE_PROPERTY |
  AccessMask.DELETE_TREE |
  AccessMask.LIST_OBJECT |
  AccessMask.CONTROL_ACCESS |
  AccessMask.DELETE |
  AccessMask.READ_CONTROL;

/** Builtin groups Windows protects with AdminSDHolder (their SIDs are the same in every domain). */
const PROTECTED_BUILTIN_SIDS = [
  'S-1-5-32-544',
  'S-1-5-32-548',
  'S-1-5-32-549',
  'S-1-5-32-550',
  'S-1-5-32-551',
  'S-1-5-32-552',
];
/** Protected domain groups found by their default names (their SIDs need the domain SID, not known up front). */
const PROTECTED_DOMAIN_GROUPS = [
  'Domain Admins',
  'Enterprise Admins',
  'Schema Admins',
  'Domain Controllers',
  'Read-only Domain Controllers',
  'Key Admins',
  'Enterprise Key Admins',
];
const IN_CHAIN = '1.2.840.113556.1.4.1941';

/** The SD flags control value: BER `SEQUENCE { INTEGER flags }`, base64. */
export function sdFlagsControl(flags: number): LdapControl {
  return {
    oid: SD_FLAGS_OID,
    critical: true,
    value: Buffer.from([0x30, 0x03, 0x02, 0x01, flags & 0x7f]).toString('base64'),
  };
}

const SHOW_DELETED: LdapControl = { oid: SHOW_DELETED_OID, critical: true };
const DACL_ONLY = sdFlagsControl(SecurityInformation.DACL);

/** `CN=Sync User` -> `SyncUser`: sAMAccountName allows at most 20 characters and none of `"/\[]:;|=,+*?<>@` or spaces. */
export function samAccountNameFor(dn: string): string {
  const label = parseDn(dn)[0]?.[0]?.value ?? 'SyncUser';
  const name = label
    .replace(/["/\\[\]:;|=,+*?<>@\s]/g, '')
    .replace(/\.+$/, '')
    .slice(0, 20);
  return name === '' ? 'SyncUser' : name;
}

function sdOf(entry: Entry | undefined): SecurityDescriptor | undefined {
  const bytes = binaryValue(entry, 'nTSecurityDescriptor');
  if (bytes === undefined) return undefined;
  try {
    return decodeSecurityDescriptor(bytes);
  } catch (error) {
    if (error instanceof DescriptorFormatError) {
      throw new Error(`'${entry?.dn ?? ''}' has an nTSecurityDescriptor this tool cannot decode: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

function sidOf(entry: Entry | undefined): string | undefined {
  const bytes = binaryValue(entry, 'objectSid');
  return bytes === undefined ? undefined : decodeSid(bytes);
}

interface WantedAce {
  readonly dn: string;
  readonly ace: Ace;
  /** What the ACE is for, in a few words. */
  readonly purpose: string;
}

export class ActiveDirectoryProfile implements ServerProfile {
  public readonly family = 'activedirectory';
  public readonly productName = 'Active Directory';
  public readonly baseDnAttributes = ['objectClass'] as const;
  public readonly passwordAttribute = 'unicodePwd';
  /** AD sets unicodePwd only over LDAPS or StartTLS. */
  public readonly passwordRequiresEncryption = true;
  /** ACEs name the sync user by its objectSid, which the server assigns when the account is created. */
  public readonly phases: readonly (readonly PlanPart[])[] = [
    ['sync-user', 'password-policy', 'prerequisites'],
    ['access', 'changelog'],
  ];
  /** A descriptor is written whole: a run that wrote one checks after its writes that no other run's write lost its ACE. */
  public readonly settlesAfterWrites = true;
  /** AD has none; the source check is a DirSync search (changeSource). */
  public readonly changeNumberAttributes = [] as const;

  private readonly defaultNamingContext: string | undefined;

  /** The other partitions the server holds (configuration, schema, DNS zones): some sit below the domain's DN. */
  private readonly otherNamingContexts: readonly string[];

  public readonly topology: AdTopologyReading;

  public constructor(rootDse?: Entry) {
    this.topology = new AdTopologyReading(rootDse);
    this.defaultNamingContext = firstValue(rootDse, 'defaultNamingContext');
    this.otherNamingContexts = valuesOf(rootDse, 'namingContexts').filter(
      (nc) => this.defaultNamingContext === undefined || !dnEquals(nc, this.defaultNamingContext),
    );
  }

  /** The domain naming context: the root DSE's defaultNamingContext, else the DC= suffix of the first base DN. */
  public domainNc(baseDns: readonly string[]): string {
    if (this.defaultNamingContext !== undefined && this.defaultNamingContext !== '') return this.defaultNamingContext;
    const rdns = parseDn(baseDns[0] ?? '');
    const first = rdns.findIndex((rdn) => rdn.length === 1 && rdn[0]?.type.toLowerCase() === 'dc');
    return formatDn(first < 0 ? rdns : rdns.slice(first));
  }

  public defaultSyncUserDn(baseDns: readonly string[]): string {
    return `CN=Sync User,CN=Users,${this.domainNc(baseDns)}`;
  }

  private deletedObjectsDn(target: PrepareTarget): string {
    return `CN=Deleted Objects,${this.domainNc(target.baseDns)}`;
  }

  private administratorsDn(target: PrepareTarget): string {
    return `CN=Administrators,CN=Builtin,${this.domainNc(target.baseDns)}`;
  }

  public reads(target: PrepareTarget): ReadRequest[] {
    const nc = this.domainNc(target.baseDns);
    const reads: ReadRequest[] = [
      {
        dn: target.syncUserDn,
        attributes: [
          'objectClass',
          'objectSid',
          'sAMAccountName',
          'userAccountControl',
          'adminCount',
          'lockoutTime',
          'pwdLastSet',
          'isCriticalSystemObject',
          'description',
          RIGHTS_RECORD,
        ],
      },
      { dn: this.administratorsDn(target), attributes: ['member'] },
      // Read whatever the roles: a run for one role says what an earlier run left for the other.
      { dn: nc, attributes: ['nTSecurityDescriptor'], controls: [DACL_ONLY] },
      ...target.baseDns.map((base) => ({ dn: base, attributes: ['nTSecurityDescriptor'], controls: [DACL_ONLY] })),
    ];
    if (target.roles.source) {
      reads.push({
        dn: this.deletedObjectsDn(target),
        attributes: ['nTSecurityDescriptor'],
        controls: [SHOW_DELETED, sdFlagsControl(SecurityInformation.OWNER | SecurityInformation.DACL)],
      });
    }
    if (target.roles.destination) {
      // Its own account gets the protected objects' deny ACE when it lives below a base DN.
      reads.push({ dn: target.syncUserDn, attributes: ['nTSecurityDescriptor'], controls: [DACL_ONLY] });
    }
    reads.push(...passwordSettingsReads(nc));
    return reads;
  }

  /** Its own PSO (no lockout, no maximum age), and a lock or must-change flag cleared as the admin. */
  public planPasswordPolicy(target: PrepareTarget, observed: Observation, account: SyncAccountFacts): PlannedStep[] {
    return planAdPasswordSettings(target, observed, account, this.domainNc(target.baseDns));
  }

  /** A contact: one of the classes a destination creates (SYNCED_CLASSES), and no account. */
  public readonly probeEntryClasses = ['top', 'contact'] as const;

  public syncUserEntry(dn: string, password: string): Record<string, string[]> {
    const cn = parseDn(dn)[0]?.[0]?.value ?? 'Sync User';
    return {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      cn: [cn],
      sAMAccountName: [samAccountNameFor(dn)],
      description: [SYNC_USER_DESCRIPTION],
      userAccountControl: [SYNC_USER_ACCOUNT_CONTROL],
      // Text here; the LDAP layer sends it as AD wants it (UTF-16LE, in double quotes).
      unicodePwd: [password],
    };
  }

  /**
   * Before the rights: when the admin cannot read CN=Deleted Objects' DACL (only SYSTEM may, by default), take
   * ownership of it for BUILTIN\Administrators, as `dsacls /takeOwnership` does; the owner may then read and
   * extend the DACL once the core observes again.
   */
  public planPrerequisites(target: PrepareTarget, observed: Observation): PlannedStep[] {
    if (!target.roles.source || target.adAdministratorsGroup === true) return [];
    const dn = this.deletedObjectsDn(target);
    const entry = observed.entry(dn);
    const title = `Ownership of '${dn}'`;
    if (entry === undefined) {
      return [
        manual({ id: 'ad:deleted-objects-owner', title }, 'not visible to the admin', [
          `'${dn}' is not visible to the admin (even with the show-deleted control): deletes cannot be granted; bind as a Domain Admin`,
        ]),
      ];
    }
    if (sdOf(entry)?.dacl !== undefined) {
      return [];
    }
    const owner = encodeSecurityDescriptor({ revision: 1, control: 0, owner: BUILTIN_ADMINISTRATORS_SID });
    return [
      changed(
        { id: 'ad:deleted-objects-owner', title },
        'updated',
        'owner set to BUILTIN\\Administrators so its DACL can be read and extended (as dsacls /takeOwnership does)',
        [
          {
            kind: 'modify',
            dn,
            controls: [SHOW_DELETED, sdFlagsControl(SecurityInformation.OWNER)],
            modifications: [
              {
                operation: 'replace',
                attribute: 'nTSecurityDescriptor',
                values: [Buffer.from(owner).toString('base64')],
              },
            ],
          },
        ],
      ),
    ];
  }

  public planAccess(target: PrepareTarget, observed: Observation): PlannedStep[] {
    const sid = sidOf(observed.entry(target.syncUserDn));
    if (target.adAdministratorsGroup === true) return [this.planMembership(target, observed)];
    const wanted = this.wantedAces(target, sid ?? '');
    // By normalized DN; `dn` keeps the first spelling met, for the console.
    const byDn = new Map<string, { readonly dn: string; readonly aces: WantedAce[] }>();
    for (const w of wanted) {
      const group = byDn.get(normalizeDn(w.dn));
      if (group === undefined) byDn.set(normalizeDn(w.dn), { dn: w.dn, aces: [w] });
      else group.aces.push(w);
    }
    // The denies on protected objects go first: there is never a moment with the grants but without them (and
    // a write to a base DN rewrites the inherited part of every descriptor below it, so they are read first).
    const steps = target.roles.destination ? [this.planProtected(target, observed, sid)] : [];
    steps.push(...[...byDn.values()].map(({ dn, aces }) => this.planAces(dn, aces, observed, sid, target)));
    const leaving = this.planMembershipRemoval(target, observed);
    if (leaving !== undefined) steps.push(leaving);
    steps.push(
      this.planRightsRecord(
        target,
        observed,
        [...byDn.values()].map(({ dn }) => dn),
      ),
    );
    const leftovers = this.otherRoleLeftovers(target, observed, sid);
    if (leftovers.length > 0) {
      steps.push(
        manual({ id: 'ad:other-role', title: 'Rights of a role not asked for in this run' }, 'kept', leftovers),
      );
    }
    return steps;
  }

  /**
   * Without --adAdministratorsGroup, a membership of Administrators an earlier run with it made goes: the ACEs
   * grant the same role more narrowly.
   */
  private planMembershipRemoval(target: PrepareTarget, observed: Observation): PlannedStep | undefined {
    const group = this.administratorsDn(target);
    if (!isMember(observed.entry(group), target.syncUserDn)) return undefined;
    return changed(
      { id: 'ad:administrators', title: `Membership of '${group}'` },
      'updated',
      'removed: --adAdministratorsGroup was not given, and the ACEs grant the role more narrowly',
      [
        {
          kind: 'modify',
          dn: group,
          modifications: [{ operation: 'delete', attribute: 'member', values: [target.syncUserDn] }],
        },
      ],
    );
  }

  /**
   * The account's own record of every entry whose DACL names it (`info`, a text attribute the admin writes), so
   * that --remove finds them all, whatever base DNs it is given.
   */
  private planRightsRecord(target: PrepareTarget, observed: Observation, dns: readonly string[]): PlannedStep {
    const id = 'ad:rights-record';
    const title = `Record of the entries holding the sync user's ACEs ('${RIGHTS_RECORD}' of the account)`;
    const account = observed.entry(target.syncUserDn);
    const recorded = recordedDns(account);
    const all = new Map<string, string>();
    for (const dn of [...recorded, ...dns]) if (!all.has(normalizeDn(dn))) all.set(normalizeDn(dn), dn);
    const text = renderRecord([...all.values()]);
    const current = firstValue(account, RIGHTS_RECORD);
    if (current !== undefined && current !== '' && !current.startsWith(RECORD_HEADING)) {
      // Someone's own notes: never overwritten. --remove then cleans the base DNs it is given and the domain's protected objects.
      return manual({ id, title }, `'${RIGHTS_RECORD}' holds someone else's text: not recorded`, [
        `'${target.syncUserDn}' has its own '${RIGHTS_RECORD}' text, so this tool did not record where it holds ACEs: give --remove every --baseDN it was prepared with`,
      ]);
    }
    if (account !== undefined && current === text) {
      return unchanged({ id, title }, `${all.size} entr${all.size === 1 ? 'y' : 'ies'}`);
    }
    return changed(
      { id, title },
      recorded.length === 0 ? 'created' : 'updated',
      `${all.size} entr${all.size === 1 ? 'y' : 'ies'}`,
      [
        {
          kind: 'modify',
          dn: target.syncUserDn,
          modifications: [{ operation: 'replace', attribute: RIGHTS_RECORD, values: [text] }],
        },
      ],
    );
  }

  /** Rights an earlier run granted for the role this run does not ask for: kept (a role may be prepared alone), and said. */
  private otherRoleLeftovers(target: PrepareTarget, observed: Observation, sid: string | undefined): string[] {
    if (sid === undefined || target.removing === true) return [];
    const messages: string[] = [];
    const how = 'run --remove (with every --baseDN) to take all rights away, then prepare again with the roles wanted';
    if (!target.roles.source) {
      const nc = this.domainNc(target.baseDns);
      const getChanges: Ace = {
        type: AceType.ACCESS_ALLOWED_OBJECT,
        flags: 0,
        mask: AccessMask.CONTROL_ACCESS,
        sid,
        objectType: REPLICATING_DIRECTORY_CHANGES,
      };
      if (findAce(sdOf(observed.entry(nc))?.dacl, getChanges) !== undefined) {
        messages.push(
          `'${target.syncUserDn}' still holds the source right (DirSync) on '${nc}' from an earlier --isSource run: kept; ${how}`,
        );
      }
    }
    if (!target.roles.destination) {
      for (const base of target.baseDns) {
        const destination = destinationAces(base, sid);
        const dacl = sdOf(observed.entry(base))?.dacl;
        if (
          destination.some((w) => findAce(dacl, w.ace) !== undefined) ||
          (dacl?.aces ?? []).some((ace) => isLegacyDestinationAce(ace, sid))
        ) {
          messages.push(
            `'${target.syncUserDn}' still holds destination rights on '${base}' from an earlier --isDestination run: kept; ${how}`,
          );
        }
      }
    }
    return messages;
  }

  public followUpReads(target: PrepareTarget, observed: Observation): ReadRequest[] {
    return recordedDns(observed.entry(target.syncUserDn)).map((dn) =>
      normalizeDn(dn) === normalizeDn(this.deletedObjectsDn(target))
        ? {
            dn,
            attributes: ['nTSecurityDescriptor'],
            controls: [SHOW_DELETED, sdFlagsControl(SecurityInformation.OWNER | SecurityInformation.DACL)],
          }
        : { dn, attributes: ['nTSecurityDescriptor'], controls: [DACL_ONLY] },
    );
  }

  /**
   * Refuses what must never be the sync user or a base DN, before anything is planned: an account that is not a
   * user (a computer, a domain controller, a trust), a built-in or protected one (krbtgt, Administrator,
   * adminCount=1), a base DN outside the domain partition; says what is wrong with an existing account that
   * does not take the password (disabled, locked, expired) instead of resetting it blindly; warns about risky
   * flags on an account it did not create.
   */
  public vetTarget(target: PrepareTarget, observed: Observation, account: ExistingAccountFacts): string[] {
    const nc = this.domainNc(target.baseDns);
    for (const base of target.baseDns) {
      // CN=Configuration,DC=example,DC=com reads as below the domain, but is a partition of its own.
      if (!isWithin(base, nc) || this.otherNamingContexts.some((other) => isWithin(base, other))) {
        throw new PrepareError(
          ResultCode.PARAM_ERROR,
          `The base DN '${base}' is not in the domain naming context '${nc}': this tool grants and checks rights in the domain partition only`,
          `use base DNs under '${nc}' (the configuration and schema partitions are not synchronized data)`,
        );
      }
    }
    const existing = observed.entry(target.syncUserDn);
    if (existing === undefined) {
      const name = samAccountNameFor(target.syncUserDn);
      const taken = observed.found('sam-account-name').find((entry) => !dnEquals(entry.dn, target.syncUserDn));
      if (taken !== undefined && !account.removing) {
        throw new PrepareError(
          ResultCode.ENTRY_ALREADY_EXISTS,
          `The new sync user would get the sAMAccountName '${name}', which '${taken.dn}' already has`,
          'choose a --syncServerBindDN whose first RDN gives another name (sAMAccountName is that RDN cut to 20 characters)',
        );
      }
      return [];
    }
    const refuse = (why: string): never => {
      throw new PrepareError(
        ResultCode.UNWILLING_TO_PERFORM,
        `The sync user DN '${target.syncUserDn}' names ${why}: this tool never takes such an account over`,
        'choose another --syncServerBindDN: a new account, or an ordinary user account made for the sync',
      );
    };
    const classes = valuesOf(existing, 'objectClass').map((name) => name.toLowerCase());
    const control = Number(firstValue(existing, 'userAccountControl') ?? '0');
    if (
      classes.includes('computer') ||
      (control & (UAC.WORKSTATION_TRUST_ACCOUNT | UAC.SERVER_TRUST_ACCOUNT | UAC.INTERDOMAIN_TRUST_ACCOUNT)) !== 0
    ) {
      refuse(`a computer, domain controller or trust account (userAccountControl ${control})`);
    }
    if (classes.length > 0 && !classes.includes('user'))
      refuse(`an entry that is not a user account (objectClass ${classes.join(', ')})`);
    const sid = sidOf(existing);
    const rid = sid === undefined ? undefined : Number(sid.split('-').at(-1));
    if (rid !== undefined && rid < 1000)
      refuse(`a built-in account (RID ${rid}${rid === 502 ? ', krbtgt' : rid === 500 ? ', Administrator' : ''})`);
    // An account this tool made may carry adminCount=1 after an --adAdministratorsGroup run (Windows' SDProp sets it).
    const ours = valuesOf(existing, 'description').includes(SYNC_USER_DESCRIPTION);
    if (firstValue(existing, 'adminCount') === '1' && !ours)
      refuse("a protected account (adminCount=1: a member, now or once, of an administrators' group)");
    if (/^true$/i.test(firstValue(existing, 'isCriticalSystemObject') ?? '')) refuse('a critical system object');
    if (account.removing) return [];

    if (!account.canBind) {
      const state = accountState(existing, control, account.bindDiagnostic);
      // Its own account's lock or must-change flag the password policy step clears; anyone else's is refused.
      if (state !== undefined && !(ours && state.clearable)) {
        throw new PrepareError(
          ResultCode.INVALID_CREDENTIALS,
          `The sync user '${target.syncUserDn}' exists but cannot bind: the account ${state.words}`,
          account.resetPassword
            ? '--resetSyncServerBindPassword sets a password, nothing more: fix the account on the domain controller first (this tool does not change an account it did not create)'
            : 'fix the account on the domain controller, then run this command again',
        );
      }
    }
    const risky = Object.entries(RISKY_FLAGS)
      .filter(([, bit]) => (control & bit) !== 0)
      .map(([name]) => name);
    return risky.length === 0
      ? []
      : [
          `The sync user '${target.syncUserDn}' has risky userAccountControl flags: ${risky.join(', ')}: clear them on the domain controller (this tool does not change an account it did not create)`,
        ];
  }

  /**
   * Searches each destination base DN for the accounts and groups the destination rights must never reach: those
   * Windows protects (adminCount=1, kept so by AdminSDHolder and SDProp), the protected groups and everything
   * nested in them at any depth (Samba runs no SDProp, so there nobody else keeps them apart).
   */
  public searches(target: PrepareTarget): SearchRequest[] {
    const nc = this.domainNc(target.baseDns);
    const sam: SearchRequest = {
      key: 'sam-account-name',
      base: nc,
      scope: 'sub',
      filter: equalityFilter('sAMAccountName', samAccountNameFor(target.syncUserDn)),
      attributes: ['sAMAccountName'],
    };
    if (!target.roles.destination) return [sam];
    const chains = [
      ...PROTECTED_BUILTIN_SIDS.map((sid) => `<SID=${sid}>`),
      ...PROTECTED_DOMAIN_GROUPS.map((name) => `CN=${name},CN=Users,${nc}`),
    ].map((group) => `(memberOf:${IN_CHAIN}:=${escapeFilterValue(group)})`);
    const filter = `(|(adminCount=1)${PROTECTED_BUILTIN_SIDS.map((sid) => `(objectSid=${sid})`).join('')}${chains.join('')})`;
    // --remove looks in the whole domain: the deny ACEs of base DNs it is not given are taken away too.
    const bases = target.removing === true ? [nc] : target.baseDns;
    return [
      sam,
      ...bases.map((base, index): SearchRequest => ({
        key: `protected:${index}`,
        base,
        scope: 'sub',
        filter,
        attributes: ['nTSecurityDescriptor', 'objectSid'],
        controls: [DACL_ONLY],
      })),
    ];
  }

  /** Protected objects below the destination base DNs, and the sync user's own account, each once. */
  private protectedEntries(target: PrepareTarget, observed: Observation): Entry[] {
    const seen = new Map<string, Entry>();
    (target.removing === true ? [this.domainNc(target.baseDns)] : target.baseDns).forEach((_, index) => {
      for (const entry of observed.found(`protected:${index}`)) seen.set(normalizeDn(entry.dn), entry);
    });
    const self = observed.entry(target.syncUserDn);
    if (self !== undefined && target.baseDns.some((base) => isWithin(target.syncUserDn, base)))
      seen.set(normalizeDn(self.dn), self);
    return [...seen.values()];
  }

  /**
   * An explicit deny ACE for the sync user on every protected object below a destination base DN: explicit
   * denies come first in a DACL, so they win over the inherited destination rights (and over anything granted
   * to a group the account joins later). Windows also resets these objects' DACLs from AdminSDHolder every
   * hour, which removes the inherited rights as well; Samba does not, so the deny is what protects them there.
   */
  private planProtected(target: PrepareTarget, observed: Observation, sid: string | undefined): PlannedStep {
    const id = 'ad:protected';
    const title = 'Protected accounts and groups kept out of reach';
    if (sid === undefined) {
      return changed(
        { id, title },
        'created',
        'deny ACEs on the protected accounts and groups below the base DNs, for the new account',
        [],
      );
    }
    const changes: Change[] = [];
    const unreadable: string[] = [];
    let present = 0;
    const entries = this.protectedEntries(target, observed);
    for (const entry of entries) {
      const sd = sdOf(entry);
      if (sd?.dacl === undefined) {
        unreadable.push(entry.dn);
        continue;
      }
      const deny: Ace = { type: AceType.ACCESS_DENIED, flags: 0, mask: PROTECTED_DENY, sid };
      if (findAce(sd.dacl, deny) !== undefined) {
        present += 1;
        continue;
      }
      changes.push(
        this.daclChange(
          entry.dn,
          encodeSecurityDescriptor({ revision: sd.revision, control: sd.control, dacl: withAce(sd.dacl, deny) }),
          false,
          entry,
        ),
      );
    }
    const warnings = unreadable.map(
      (dn) =>
        `Deny '${target.syncUserDn}' (${sid}) every write on '${dn}' by hand: the admin may not read its nTSecurityDescriptor`,
    );
    const detail =
      `deny ACE on ${entries.length} protected object${entries.length === 1 ? '' : 's'}` +
      (changes.length > 0 ? ` (${changes.length} added${present > 0 ? `, ${present} present` : ''})` : ', all present');
    if (warnings.length > 0) return manual({ id, title }, detail, warnings, changes);
    return changes.length > 0
      ? changed({ id, title }, present > 0 ? 'updated' : 'created', detail, changes)
      : unchanged({ id, title }, detail);
  }

  private wantedAces(target: PrepareTarget, sid: string): WantedAce[] {
    const wanted: WantedAce[] = [];
    if (target.roles.source) {
      wanted.push({
        dn: this.domainNc(target.baseDns),
        purpose: 'DirSync: Replicating Directory Changes',
        ace: {
          type: AceType.ACCESS_ALLOWED_OBJECT,
          flags: 0,
          mask: AccessMask.CONTROL_ACCESS,
          sid,
          objectType: REPLICATING_DIRECTORY_CHANGES,
        },
      });
      wanted.push({
        dn: this.deletedObjectsDn(target),
        purpose: 'read deleted objects',
        ace: { type: AceType.ACCESS_ALLOWED, flags: AceFlags.CONTAINER_INHERIT, mask: DELETED_OBJECTS_READ, sid },
      });
    }
    if (target.roles.destination) {
      for (const base of target.baseDns) wanted.push(...destinationAces(base, sid));
    }
    return wanted;
  }

  private planAces(
    dn: string,
    aces: readonly WantedAce[],
    observed: Observation,
    sid: string | undefined,
    target: PrepareTarget,
  ): PlannedStep {
    const id = `ace:${dn}`;
    const title = `Rights for the sync user on '${dn}'`;
    const purposes = aces.map((a) => a.purpose).join('; ');
    if (sid === undefined) {
      // Only in a dry run before the account exists: the SID the ACEs name does not exist yet.
      return changed(
        { id, title },
        'created',
        `${purposes} (ACEs for the new account's objectSid, known once it is created)`,
        [],
      );
    }
    const entry = observed.entry(dn);
    const sd = sdOf(entry);
    const isDeletedObjects = normalizeDn(dn) === normalizeDn(this.deletedObjectsDn(target));
    if (sd?.dacl === undefined && isDeletedObjects && entry !== undefined && target.dryRun === true) {
      // The real run takes ownership first (planPrerequisites), then reads the DACL and grants.
      return changed({ id, title }, 'updated', `${purposes}, once the ownership planned above is taken`, []);
    }
    if (sd?.dacl === undefined) {
      const owned = isDeletedObjects && observed.entry(dn) !== undefined;
      return manual(
        { id, title },
        entry === undefined ? 'not visible to the admin' : 'the admin may not read its DACL',
        [
          `Grant '${target.syncUserDn}' (${sid}) ${purposes} on '${dn}' by hand: the admin ${entry === undefined ? 'cannot see the entry' : 'may not read its nTSecurityDescriptor'}` +
            (owned ? ' (run this command again after taking ownership, or use dsacls /takeOwnership)' : ''),
        ],
      );
    }
    // The broad destination ACE of earlier versions goes first: it would also "cover" the narrower ones.
    const withoutLegacy = withoutAces(sd.dacl, (ace) => isLegacyDestinationAce(ace, sid));
    const current = withoutLegacy ?? sd.dacl;
    const missing = aces.filter((a) => findAce(current, a.ace) === undefined);
    if (missing.length === 0 && withoutLegacy === undefined) {
      return unchanged({ id, title }, `${purposes}: present`);
    }
    let dacl = current;
    for (const a of missing) dacl = withAce(dacl, a.ace);
    const bytes = encodeSecurityDescriptor({ revision: sd.revision, control: sd.control, dacl });
    const added =
      missing.length === 0
        ? []
        : [
            `${missing.length} ACE${missing.length === 1 ? '' : 's'} added: ${[...new Set(missing.map((a) => a.purpose))].join('; ')}`,
          ];
    return changed(
      { id, title },
      'updated',
      [
        ...(withoutLegacy === undefined ? [] : ['the broad destination ACE of an earlier version removed']),
        ...added,
      ].join('; '),
      [this.daclChange(dn, bytes, isDeletedObjects, entry)],
    );
  }

  /**
   * A descriptor is written whole (AD has no per-ACE modify), so the write names the descriptor it was computed
   * from: the core re-reads it just before writing and plans again when another writer changed it meanwhile.
   */
  private daclChange(dn: string, descriptor: Uint8Array, deleted: boolean, readFrom: Entry | undefined): Change {
    return {
      kind: 'modify',
      dn,
      controls: deleted ? [SHOW_DELETED, DACL_ONLY] : [DACL_ONLY],
      modifications: [
        {
          operation: 'replace',
          attribute: 'nTSecurityDescriptor',
          values: [Buffer.from(descriptor).toString('base64')],
        },
      ],
      unlessChanged: {
        attribute: 'nTSecurityDescriptor',
        values: valuesOf(readFrom, 'nTSecurityDescriptor'),
        // Read as the observation read it (Deleted Objects: owner and DACL, with show-deleted).
        controls: deleted
          ? [SHOW_DELETED, sdFlagsControl(SecurityInformation.OWNER | SecurityInformation.DACL)]
          : [DACL_ONLY],
      },
    };
  }

  private planMembership(target: PrepareTarget, observed: Observation): PlannedStep {
    const group = this.administratorsDn(target);
    const id = 'ad:administrators';
    const title = `Membership of '${group}'`;
    if (observed.entry(group) === undefined) {
      return manual({ id, title }, 'group not visible to the admin', [
        `'${group}' was not found: add '${target.syncUserDn}' to the Administrators group by hand`,
      ]);
    }
    if (isMember(observed.entry(group), target.syncUserDn)) {
      return unchanged({ id, title }, 'already a member');
    }
    return changed({ id, title }, 'updated', 'sync user added (--adAdministratorsGroup)', [
      {
        kind: 'modify',
        dn: group,
        modifications: [{ operation: 'add', attribute: 'member', values: [target.syncUserDn] }],
      },
    ]);
  }

  public planChangelog(target: PrepareTarget): PlannedStep[] {
    return [
      skipped(
        { id: 'changelog', title: 'Change tracking' },
        `Active Directory has no change log to enable: a sync server polls DirSync on '${this.domainNc(target.baseDns)}'; deletes are kept for the tombstone lifetime, not --changelogMaximumAge`,
      ),
    ];
  }

  public planRemoval(
    target: PrepareTarget,
    observed: Observation,
    _disableChangelog?: boolean,
    accountKept?: boolean,
  ): PlannedStep[] {
    const user = observed.entry(target.syncUserDn);
    const sid = sidOf(user);
    const steps: PlannedStep[] = [];
    const protectedEntries = new Map(
      this.protectedEntries(target, observed).map((entry) => [normalizeDn(entry.dn), entry]),
    );
    const dns = [
      this.domainNc(target.baseDns),
      this.deletedObjectsDn(target),
      ...target.baseDns,
      ...recordedDns(user),
      ...[...protectedEntries.values()].map((entry) => entry.dn),
    ];
    const seen = new Set<string>();
    for (const dn of dns) {
      const key = normalizeDn(dn);
      if (seen.has(key)) continue;
      seen.add(key);
      const id = `ace:${dn}`;
      const title = `Rights for the sync user on '${dn}'`;
      const read = protectedEntries.get(key) ?? observed.entry(dn);
      const sd = sdOf(read);
      // Only ACEs of the shapes this tool writes: an adopted account may hold ACEs an administrator gave it.
      const dacl = sid === undefined ? undefined : withoutAces(sd?.dacl, (ace) => isOurAce(ace, sid));
      if (sid === undefined || sd === undefined || dacl === undefined) {
        steps.push(
          unchanged(
            { id, title },
            sid === undefined ? 'no sync user, no ACEs of its SID' : 'no ACE of this tool for the sync user',
          ),
        );
        continue;
      }
      const isDeleted = key === normalizeDn(this.deletedObjectsDn(target));
      steps.push(
        changed({ id, title }, 'updated', `this tool's ACEs for ${sid} removed`, [
          this.daclChange(
            dn,
            encodeSecurityDescriptor({ revision: sd.revision, control: sd.control, dacl }),
            isDeleted,
            read,
          ),
        ]),
      );
    }
    const group = this.administratorsDn(target);
    if (isMember(observed.entry(group), target.syncUserDn)) {
      // Only an account this tool made got its membership from this tool (--adAdministratorsGroup).
      const ours = valuesOf(user, 'description').includes(SYNC_USER_DESCRIPTION);
      steps.push(
        ours
          ? changed({ id: 'ad:administrators', title: `Membership of '${group}'` }, 'updated', 'sync user removed', [
              {
                kind: 'modify',
                dn: group,
                modifications: [{ operation: 'delete', attribute: 'member', values: [target.syncUserDn] }],
              },
            ])
          : manual({ id: 'ad:administrators', title: `Membership of '${group}'` }, 'kept', [
              `'${target.syncUserDn}' was not created by this tool and is a member of '${group}': kept; remove it by hand if --adAdministratorsGroup added it`,
            ]),
      );
    }
    steps.push(planAdPasswordSettingsRemoval(target, observed, this.domainNc(target.baseDns), accountKept === true));
    return steps;
  }

  public changeSource(target: PrepareTarget): ChangeSource {
    const nc = this.domainNc(target.baseDns);
    return {
      dn: nc,
      dirSync: { filter: equalityFilter('distinguishedName', target.syncUserDn) },
      note:
        'Active Directory has no cn=changelog and no firstChangeNumber/lastChangeNumber: a sync server polls DirSync ' +
        `(${DIRSYNC_OID}) on '${nc}', and the DirSync check above stands in for the change numbers`,
    };
  }

  public explainMissingChangeNumbers(target: PrepareTarget): string {
    return (
      `the sync user may not run DirSync on '${this.domainNc(target.baseDns)}': it needs the "Replicating Directory Changes" ` +
      `extended right (${REPLICATING_DIRECTORY_CHANGES}) there (or membership of Administrators, with --adAdministratorsGroup)`
    );
  }
}

/** The destination ACEs on one base DN, for the account with `sid`. */
function destinationAces(base: string, sid: string): WantedAce[] {
  const classes = Object.values(SYNCED_CLASSES);
  const aces: WantedAce[] = [
    // Denies first: canonical order puts them before the allows, and the server keeps that order.
    ...[GP_LINK, GP_OPTIONS].map((property) => ({
      dn: base,
      purpose: 'never link Group Policies to OUs',
      ace: {
        type: AceType.ACCESS_DENIED_OBJECT,
        flags: AceFlags.CONTAINER_INHERIT | AceFlags.INHERIT_ONLY,
        mask: AccessMask.WRITE_PROPERTY,
        sid,
        objectType: property,
        inheritedObjectType: SYNCED_CLASSES.organizationalUnit,
      },
    })),
    {
      dn: base,
      purpose: 'read the base DN and everything below it',
      ace: { type: AceType.ACCESS_ALLOWED, flags: AceFlags.CONTAINER_INHERIT, mask: DESTINATION_READ, sid },
    },
    ...classes.map((objectClass) => ({
      dn: base,
      purpose: 'create users, groups, contacts, inetOrgPersons and OUs in the base DN and below',
      ace: {
        type: AceType.ACCESS_ALLOWED_OBJECT,
        flags: AceFlags.CONTAINER_INHERIT,
        mask: AccessMask.CREATE_CHILD,
        sid,
        objectType: objectClass,
      },
    })),
    ...classes.map((objectClass) => ({
      dn: base,
      purpose: 'write and delete those objects below the base DN (not the base DN itself)',
      ace: {
        type: AceType.ACCESS_ALLOWED_OBJECT,
        flags: AceFlags.CONTAINER_INHERIT | AceFlags.INHERIT_ONLY,
        mask: DESTINATION_OBJECT_RIGHTS,
        sid,
        inheritedObjectType: objectClass,
      },
    })),
    ...[SYNCED_CLASSES.user, SYNCED_CLASSES.inetOrgPerson].flatMap((objectClass) =>
      [RESET_PASSWORD, CHANGE_PASSWORD].map((right) => ({
        dn: base,
        purpose: 'reset and change passwords of users below the base DN',
        ace: {
          type: AceType.ACCESS_ALLOWED_OBJECT,
          flags: AceFlags.CONTAINER_INHERIT | AceFlags.INHERIT_ONLY,
          mask: AccessMask.CONTROL_ACCESS,
          sid,
          objectType: right,
          inheritedObjectType: objectClass,
        },
      })),
    ),
  ];
  return aces;
}

/** An explicit ACE for `sid` of a shape this tool writes (any role, any version): what --remove takes away. */
function isOurAce(ace: Ace, sid: string): boolean {
  if (ace.raw !== undefined || !sameSid(ace.sid, sid) || (ace.flags & AceFlags.INHERITED) !== 0) return false;
  if (isLegacyDestinationAce(ace, sid)) return true;
  const shapes: Ace[] = [
    {
      type: AceType.ACCESS_ALLOWED_OBJECT,
      flags: 0,
      mask: AccessMask.CONTROL_ACCESS,
      sid,
      objectType: REPLICATING_DIRECTORY_CHANGES,
    },
    { type: AceType.ACCESS_ALLOWED, flags: AceFlags.CONTAINER_INHERIT, mask: DELETED_OBJECTS_READ, sid },
    { type: AceType.ACCESS_DENIED, flags: 0, mask: PROTECTED_DENY, sid },
    ...destinationAces('', sid).map((wanted) => wanted.ace),
  ];
  return shapes.some(
    (shape) =>
      shape.type === ace.type &&
      shape.mask >>> 0 === ace.mask >>> 0 &&
      (shape.flags & 0x0f) === (ace.flags & 0x0f) &&
      (shape.objectType ?? '').toLowerCase() === (ace.objectType ?? '').toLowerCase() &&
      (shape.inheritedObjectType ?? '').toLowerCase() === (ace.inheritedObjectType ?? '').toLowerCase(),
  );
}

/** The destination ACE earlier versions wrote (see LEGACY_DESTINATION_RIGHTS). */
function isLegacyDestinationAce(ace: Ace, sid: string): boolean {
  return (
    ace.raw === undefined &&
    ace.type === AceType.ACCESS_ALLOWED &&
    sameSid(ace.sid, sid) &&
    ace.mask >>> 0 === LEGACY_DESTINATION_RIGHTS &&
    (ace.flags & AceFlags.INHERITED) === 0
  );
}

/** userAccountControl bits (MS-ADTS 2.2.16). */
const UAC = {
  ACCOUNTDISABLE: 0x2,
  LOCKOUT: 0x10,
  INTERDOMAIN_TRUST_ACCOUNT: 0x800,
  WORKSTATION_TRUST_ACCOUNT: 0x1000,
  SERVER_TRUST_ACCOUNT: 0x2000,
  PASSWORD_EXPIRED: 0x800000,
} as const;

/** Flags that weaken an account used by a service: warned about, never changed on an account the tool did not make. */
const RISKY_FLAGS = {
  PASSWD_NOTREQD: 0x20,
  ENCRYPTED_TEXT_PWD_ALLOWED: 0x80,
  TRUSTED_FOR_DELEGATION: 0x80000,
  USE_DES_KEY_ONLY: 0x200000,
  DONT_REQ_PREAUTH: 0x400000,
  TRUSTED_TO_AUTH_FOR_DELEGATION: 0x1000000,
} as const;

/** AD's bind diagnostics (`AcceptSecurityContext error, data NNN`) that say the account, not the password, is wrong. */
const BIND_DIAGNOSTICS: Readonly<Record<string, string>> = {
  '530': 'may not log on at this time',
  '531': 'may not log on from this workstation',
  '532': 'has an expired password',
  '533': 'is disabled',
  '701': 'has expired',
  '773': 'must change its password at next logon',
  '775': 'is locked out',
};

/**
 * What keeps an existing account from binding, from its attributes first, then the server's diagnostic:
 * its words, and whether it is a lock or a must-change (what the password policy step clears on its own account).
 */
function accountState(
  entry: Entry,
  control: number,
  diagnostic: string | undefined,
): { readonly words: string; readonly clearable: boolean } | undefined {
  if ((control & UAC.ACCOUNTDISABLE) !== 0)
    return { words: 'is disabled (userAccountControl has ACCOUNTDISABLE)', clearable: false };
  // An expired password is never cleared for the account, even when it is also locked.
  const expired = (control & UAC.PASSWORD_EXPIRED) !== 0;
  const lockout = firstValue(entry, 'lockoutTime');
  if ((control & UAC.LOCKOUT) !== 0 || (lockout !== undefined && lockout !== '0'))
    return { words: 'is locked out (lockoutTime is set)', clearable: !expired };
  if (expired) return { words: 'has an expired password', clearable: false };
  if (firstValue(entry, 'pwdLastSet') === '0')
    return { words: 'must change its password at next logon (pwdLastSet is 0)', clearable: true };
  const code = /\bdata ([0-9a-f]{3})\b/i.exec(diagnostic ?? '')?.[1]?.toLowerCase();
  const said = code === undefined ? undefined : BIND_DIAGNOSTICS[code];
  return said === undefined
    ? undefined
    : { words: `${said} (the server said: data ${code})`, clearable: code === '773' || code === '775' };
}

/** The account attribute holding the record of where its ACEs are (`info`, "Notes" in the AD consoles). */
const RIGHTS_RECORD = 'info';
const RECORD_HEADING = 'prepare-endpoint-server: ACEs for this account on:';

function recordedDns(account: Entry | undefined): string[] {
  const lines = (firstValue(account, RIGHTS_RECORD) ?? '').split(/\r?\n/);
  if (lines[0] !== RECORD_HEADING) return [];
  return lines
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => line !== '' && isValidDn(line));
}

function renderRecord(dns: readonly string[]): string {
  return [RECORD_HEADING, ...[...dns].sort((a, b) => normalizeDn(a).localeCompare(normalizeDn(b)))].join('\n');
}

function isMember(group: Entry | undefined, dn: string): boolean {
  const wanted = normalizeDn(dn);
  return valuesOf(group, 'member').some((member) => {
    try {
      return normalizeDn(member) === wanted;
    } catch {
      return false;
    }
  });
}
