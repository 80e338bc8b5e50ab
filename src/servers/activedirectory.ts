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
import { formatDn, normalizeDn, parseDn } from '../ldap/dn.js';
import { equalityFilter } from '../ldap/filter.js';
import { binaryValue, firstValue, valuesOf, type Change, type Entry, type LdapControl } from '../ldap/types.js';
import {
  AccessMask,
  AceFlags,
  AceType,
  decodeSecurityDescriptor,
  decodeSid,
  describeAce,
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
import type { ChangeSource, Observation, PlannedStep, PrepareTarget, ReadRequest, ServerProfile } from './profile.js';

export const SD_FLAGS_OID = '1.2.840.113556.1.4.801';
export const SHOW_DELETED_OID = '1.2.840.113556.1.4.417';
export const DIRSYNC_OID = '1.2.840.113556.1.4.841';
/** DS-Replication-Get-Changes, "Replicating Directory Changes" (MS-ADTS 5.1.3.2.1). */
export const REPLICATING_DIRECTORY_CHANGES = '1131f6aa-9c07-11d1-f79f-00c04fc2dcd2';
export const BUILTIN_ADMINISTRATORS_SID = 'S-1-5-32-544';
/** userAccountControl: NORMAL_ACCOUNT (0x200) + DONT_EXPIRE_PASSWORD (0x10000); enabled (no ACCOUNTDISABLE). */
export const SYNC_USER_ACCOUNT_CONTROL = String(0x200 | 0x10000);

/** Read rights for CN=Deleted Objects and its tombstones: list, read properties, read the descriptor. */
const DELETED_OBJECTS_READ = AccessMask.LIST_CHILDREN | AccessMask.READ_PROPERTY | AccessMask.LIST_OBJECT | AccessMask.READ_CONTROL;
/**
 * A destination creates, modifies, renames, deletes and resets passwords (the extended rights of CONTROL_ACCESS)
 * of any object below the base DN: everything but changing permissions and ownership.
 */
const DESTINATION_RIGHTS =
  AccessMask.CREATE_CHILD | AccessMask.DELETE_CHILD | AccessMask.LIST_CHILDREN | AccessMask.SELF_WRITE |
  AccessMask.READ_PROPERTY | AccessMask.WRITE_PROPERTY | AccessMask.DELETE_TREE | AccessMask.LIST_OBJECT |
  AccessMask.CONTROL_ACCESS | AccessMask.DELETE | AccessMask.READ_CONTROL;

/** The SD flags control value: BER `SEQUENCE { INTEGER flags }`, base64. */
export function sdFlagsControl(flags: number): LdapControl {
  return { oid: SD_FLAGS_OID, critical: true, value: Buffer.from([0x30, 0x03, 0x02, 0x01, flags & 0x7f]).toString('base64') };
}

const SHOW_DELETED: LdapControl = { oid: SHOW_DELETED_OID, critical: true };
const DACL_ONLY = sdFlagsControl(SecurityInformation.DACL);

/** `CN=Sync User` -> `SyncUser`: sAMAccountName allows at most 20 characters and none of `"/\[]:;|=,+*?<>@` or spaces. */
export function samAccountNameFor(dn: string): string {
  const label = parseDn(dn)[0]?.[0]?.value ?? 'SyncUser';
  const name = label.replace(/["/\\[\]:;|=,+*?<>@\s]/g, '').replace(/\.+$/, '').slice(0, 20);
  return name === '' ? 'SyncUser' : name;
}

function sdOf(entry: Entry | undefined): SecurityDescriptor | undefined {
  const bytes = binaryValue(entry, 'nTSecurityDescriptor');
  if (bytes === undefined) return undefined;
  try {
    return decodeSecurityDescriptor(bytes);
  } catch (error) {
    if (error instanceof DescriptorFormatError) throw new Error(`'${entry?.dn ?? ''}' has an nTSecurityDescriptor this tool cannot decode: ${error.message}`);
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
  public readonly plansAccessAfterSyncUser = true;
  /** A descriptor is written whole: a run that wrote one checks after its writes that no other run's write lost its ACE. */
  public readonly settlesAfterWrites = true;
  /** AD has none; the source check is a DirSync search (changeSource). */
  public readonly changeNumberAttributes = [] as const;

  private readonly defaultNamingContext: string | undefined;

  public constructor(rootDse?: Entry) {
    this.defaultNamingContext = firstValue(rootDse, 'defaultNamingContext');
  }

  /** The domain naming context: the root DSE's defaultNamingContext, else the DC= suffix of the first base DN. */
  public domainNc(baseDns: readonly string[]): string {
    if (this.defaultNamingContext !== undefined && this.defaultNamingContext !== '') return this.defaultNamingContext;
    const rdns = parseDn(baseDns[0] ?? '');
    const first = rdns.findIndex((rdn) => rdn.length === 1 && rdn[0]!.type.toLowerCase() === 'dc');
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
      { dn: target.syncUserDn, attributes: ['objectSid', 'sAMAccountName', 'userAccountControl'] },
      { dn: this.administratorsDn(target), attributes: ['member'] },
    ];
    if (target.roles.source) {
      reads.push({ dn: nc, attributes: ['nTSecurityDescriptor'], controls: [DACL_ONLY] });
      reads.push({
        dn: this.deletedObjectsDn(target),
        attributes: ['nTSecurityDescriptor'],
        controls: [SHOW_DELETED, sdFlagsControl(SecurityInformation.OWNER | SecurityInformation.DACL)],
      });
    }
    if (target.roles.destination) {
      for (const base of target.baseDns) reads.push({ dn: base, attributes: ['nTSecurityDescriptor'], controls: [DACL_ONLY] });
    }
    return reads;
  }

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
      return [{
        id: 'ad:deleted-objects-owner', title, status: 'warning', changes: [], detail: 'not visible to the admin',
        warnings: [`'${dn}' is not visible to the admin (even with the show-deleted control): deletes cannot be granted; bind as a Domain Admin`],
      }];
    }
    if (sdOf(entry)?.dacl !== undefined) {
      return [];
    }
    const owner = encodeSecurityDescriptor({ revision: 1, control: 0, owner: BUILTIN_ADMINISTRATORS_SID });
    return [{
      id: 'ad:deleted-objects-owner',
      title,
      status: 'updated',
      detail: 'owner set to BUILTIN\\Administrators so its DACL can be read and extended (as dsacls /takeOwnership does)',
      changes: [{
        kind: 'modify',
        dn,
        controls: [SHOW_DELETED, sdFlagsControl(SecurityInformation.OWNER)],
        modifications: [{ operation: 'replace', attribute: 'nTSecurityDescriptor', values: [Buffer.from(owner).toString('base64')] }],
      }],
      warnings: [],
    }];
  }

  public planAccess(target: PrepareTarget, observed: Observation): PlannedStep[] {
    const sid = sidOf(observed.entry(target.syncUserDn));
    if (target.adAdministratorsGroup === true) return [this.planMembership(target, observed)];
    const wanted = this.wantedAces(target, sid ?? '');
    const byDn = new Map<string, WantedAce[]>();
    for (const w of wanted) byDn.set(normalizeDn(w.dn), [...(byDn.get(normalizeDn(w.dn)) ?? []), w]);
    return [...byDn.values()].map((aces) => this.planAces(aces, observed, sid, target));
  }

  private wantedAces(target: PrepareTarget, sid: string): WantedAce[] {
    const wanted: WantedAce[] = [];
    if (target.roles.source) {
      wanted.push({
        dn: this.domainNc(target.baseDns),
        purpose: 'DirSync: Replicating Directory Changes',
        ace: { type: AceType.ACCESS_ALLOWED_OBJECT, flags: 0, mask: AccessMask.CONTROL_ACCESS, sid, objectType: REPLICATING_DIRECTORY_CHANGES },
      });
      wanted.push({
        dn: this.deletedObjectsDn(target),
        purpose: 'read deleted objects',
        ace: { type: AceType.ACCESS_ALLOWED, flags: AceFlags.CONTAINER_INHERIT, mask: DELETED_OBJECTS_READ, sid },
      });
    }
    if (target.roles.destination) {
      for (const base of target.baseDns) {
        wanted.push({
          dn: base,
          purpose: 'create, modify, delete and reset passwords below the base DN',
          ace: { type: AceType.ACCESS_ALLOWED, flags: AceFlags.CONTAINER_INHERIT, mask: DESTINATION_RIGHTS, sid },
        });
      }
    }
    return wanted;
  }

  private planAces(aces: readonly WantedAce[], observed: Observation, sid: string | undefined, target: PrepareTarget): PlannedStep {
    const dn = aces[0]!.dn;
    const id = `ace:${dn}`;
    const title = `Rights for the sync user on '${dn}'`;
    const purposes = aces.map((a) => a.purpose).join('; ');
    if (sid === undefined) {
      // Only in a dry run before the account exists: the SID the ACEs name does not exist yet.
      return {
        id, title, status: 'created', changes: [],
        detail: `${purposes} (ACEs for the new account's objectSid, known once it is created)`, warnings: [],
      };
    }
    const entry = observed.entry(dn);
    const sd = sdOf(entry);
    const isDeletedObjects = normalizeDn(dn) === normalizeDn(this.deletedObjectsDn(target));
    if (sd?.dacl === undefined) {
      const owned = isDeletedObjects && observed.entry(dn) !== undefined;
      return {
        id, title, status: 'warning', changes: [],
        detail: entry === undefined ? 'not visible to the admin' : 'the admin may not read its DACL',
        warnings: [
          `Grant '${target.syncUserDn}' (${sid}) ${purposes} on '${dn}' by hand: the admin ${entry === undefined ? 'cannot see the entry' : 'may not read its nTSecurityDescriptor'}` +
            (owned ? ' (run this command again after taking ownership, or use dsacls /takeOwnership)' : ''),
        ],
      };
    }
    const missing = aces.filter((a) => findAce(sd.dacl, a.ace) === undefined);
    if (missing.length === 0) {
      return { id, title, status: 'unchanged', detail: `${purposes}: present`, changes: [], warnings: [] };
    }
    let dacl = sd.dacl;
    for (const a of missing) dacl = withAce(dacl, a.ace);
    const bytes = encodeSecurityDescriptor({ revision: sd.revision, control: sd.control, dacl });
    return {
      id,
      title,
      status: 'updated',
      detail: missing.map((a) => `${a.purpose} (${describeAce(a.ace)})`).join('; '),
      changes: [this.daclChange(dn, bytes, isDeletedObjects)],
      warnings: [],
    };
  }

  private daclChange(dn: string, descriptor: Uint8Array, deleted: boolean): Change {
    return {
      kind: 'modify',
      dn,
      controls: deleted ? [SHOW_DELETED, DACL_ONLY] : [DACL_ONLY],
      modifications: [{ operation: 'replace', attribute: 'nTSecurityDescriptor', values: [Buffer.from(descriptor).toString('base64')] }],
    };
  }

  private planMembership(target: PrepareTarget, observed: Observation): PlannedStep {
    const group = this.administratorsDn(target);
    const id = 'ad:administrators';
    const title = `Membership of '${group}'`;
    if (observed.entry(group) === undefined) {
      return { id, title, status: 'warning', changes: [], detail: 'group not visible to the admin', warnings: [`'${group}' was not found: add '${target.syncUserDn}' to the Administrators group by hand`] };
    }
    if (isMember(observed.entry(group), target.syncUserDn)) {
      return { id, title, status: 'unchanged', detail: 'already a member', changes: [], warnings: [] };
    }
    return {
      id, title, status: 'updated', detail: 'sync user added (--adAdministratorsGroup)',
      changes: [{ kind: 'modify', dn: group, modifications: [{ operation: 'add', attribute: 'member', values: [target.syncUserDn] }] }],
      warnings: [],
    };
  }

  public planChangelog(target: PrepareTarget): PlannedStep[] {
    return [{
      id: 'changelog',
      title: 'Change tracking',
      status: 'skipped',
      detail: `Active Directory has no change log to enable: a sync server polls DirSync on '${this.domainNc(target.baseDns)}'; deletes are kept for the tombstone lifetime, not --changelogMaximumAge`,
      changes: [],
      warnings: [],
    }];
  }

  public planRemoval(target: PrepareTarget, observed: Observation): PlannedStep[] {
    const user = observed.entry(target.syncUserDn);
    const sid = sidOf(user);
    const steps: PlannedStep[] = [];
    const dns = [this.domainNc(target.baseDns), this.deletedObjectsDn(target), ...target.baseDns];
    const seen = new Set<string>();
    for (const dn of dns) {
      const key = normalizeDn(dn);
      if (seen.has(key)) continue;
      seen.add(key);
      const id = `ace:${dn}`;
      const title = `Rights for the sync user on '${dn}'`;
      const sd = sdOf(observed.entry(dn));
      const dacl = sid === undefined ? undefined : withoutAces(sd?.dacl, (ace) => sameSid(ace.sid, sid));
      if (sid === undefined || sd === undefined || dacl === undefined) {
        steps.push({ id, title, status: 'unchanged', detail: sid === undefined ? 'no sync user, no ACEs of its SID' : 'no ACE for the sync user', changes: [], warnings: [] });
        continue;
      }
      const isDeleted = key === normalizeDn(this.deletedObjectsDn(target));
      steps.push({
        id, title, status: 'updated', detail: `ACEs for ${sid} removed`,
        changes: [this.daclChange(dn, encodeSecurityDescriptor({ revision: sd.revision, control: sd.control, dacl }), isDeleted)],
        warnings: [],
      });
    }
    const group = this.administratorsDn(target);
    if (isMember(observed.entry(group), target.syncUserDn)) {
      steps.push({
        id: 'ad:administrators', title: `Membership of '${group}'`, status: 'updated', detail: 'sync user removed',
        changes: [{ kind: 'modify', dn: group, modifications: [{ operation: 'delete', attribute: 'member', values: [target.syncUserDn] }] }],
        warnings: [],
      });
    }
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
    return `the sync user may not run DirSync on '${this.domainNc(target.baseDns)}': it needs the "Replicating Directory Changes" ` +
      `extended right (${REPLICATING_DIRECTORY_CHANGES}) there (or membership of Administrators, with --adAdministratorsGroup)`;
  }
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
