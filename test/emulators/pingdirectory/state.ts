/**
 * What the PingDirectory emulator knows and decides: its entries, who is bound, which privileges that account
 * holds, what it may read and write, and the change log. No sockets here (see server.ts). Every rule is listed,
 * with the documentation it comes from, in README.md beside this file.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Attribute, Filter, Modification } from './protocol.js';
import type { Session } from '../shared/ldap-server.js';
import {
  applyModification,
  authenticate,
  generalizedTime,
  ldifOfAttributes,
  ldifOfModifications,
  LdapFailure,
  makeEntry,
  matches,
  normalize,
  parentOf,
  RESULT,
  select as selectAttributes,
  stampWrite,
  values,
  within as isWithin,
  type SearchResultEntry,
  type StoredEntry,
} from '../shared/entries.js';

export interface EmulatorOptions {
  /** Answer as PingDirectoryProxy: no changelog backend, no change numbers. */
  readonly proxy: boolean;
  readonly adminPassword: string;
  readonly now?: () => Date;
}

export const DATA_SUFFIX = 'dc=example,dc=com';
export const ADMIN_DN = 'cn=Directory Manager,cn=Root DNs,cn=config';
export const ADMIN_ALTERNATE_DN = 'cn=Directory Manager';
const CONFIG_DN = 'cn=config';
const ROOT_DNS_DN = 'cn=Root DNs,cn=config';
const CHANGELOG_BACKEND_DN = 'ds-cfg-backend-id=changelog,cn=Backends,cn=config';
const CHANGELOG_DN = 'cn=changelog';
const POLICIES_DN = 'cn=Password Policies,cn=config';
const ROOT_POLICY_DN = `cn=Root Password Policy,${POLICIES_DN}`;
const DEFAULT_POLICY_DN = `cn=Default Password Policy,${POLICIES_DN}`;

/** `default-root-privilege-name` of `cn=Root DNs,cn=config`, PingDirectory 10.2. */
export const DEFAULT_ROOT_PRIVILEGES = [
  'audit-data-security',
  'bypass-acl',
  'modify-acl',
  'config-read',
  'config-write',
  'ldif-import',
  'ldif-export',
  'backend-backup',
  'backend-restore',
  'server-shutdown',
  'server-restart',
  'disconnect-client',
  'password-reset',
  'update-schema',
  'privilege-change',
  'unindexed-search',
  'lockdown-mode',
  'stream-values',
  'third-party-task',
  'use-admin-session',
  'soft-delete-read',
  'metrics-read',
  'manage-topology',
  'permit-get-password-policy-state-issues',
  'permit-proxied-mschapv2-details',
  'collect-support-data',
  'file-servlet-access',
];

/** Per-user resource limits (operational attributes; 0 is no limit). */
const RESOURCE_LIMIT_ATTRIBUTES = [
  'ds-rlim-size-limit',
  'ds-rlim-time-limit',
  'ds-rlim-lookthrough-limit',
  'ds-rlim-idle-time-limit',
];

/** Storage schemes whose `{SCHEME}` prefix makes a userPassword value pre-encoded. */
const KNOWN_SCHEMES = new Set([
  'ssha',
  'sha',
  'ssha256',
  'sha256',
  'ssha384',
  'ssha512',
  'sha512',
  'md5',
  'smd5',
  'crypt',
  'pbkdf2',
  'aes',
  'clear',
]);

/** Privilege names the emulator accepts in `ds-privilege-name` (the defaults and the others Ping documents). */
const KNOWN_PRIVILEGES = new Set([
  ...DEFAULT_ROOT_PRIVILEGES,
  'bypass-read-acl',
  'bypass-pw-policy',
  'proxied-auth',
  'jmx-read',
  'jmx-write',
  'jmx-notify',
  'exec-task',
  'permit-externally-processed-authentication',
  'permit-forwarding-client-connection-policy',
]);

/** Operational attributes: returned only when asked for by name or with `+`. */
const OPERATIONAL = new Set([
  'firstchangenumber',
  'lastchangenumber',
  'lastpurgedchangenumber',
  'ds-privilege-name',
  'ds-pwp-password-policy-dn',
  'changetime',
  'createtimestamp',
  'modifytimestamp',
  'creatorsname',
  'modifiersname',
  'deletedentryattrs',
  ...RESOURCE_LIMIT_ATTRIBUTES,
]);

const DURATION_UNITS: Readonly<Record<string, string>> = {
  ms: 'ms',
  s: 's',
  sec: 's',
  seconds: 's',
  m: 'm',
  min: 'm',
  minutes: 'm',
  h: 'h',
  hours: 'h',
  d: 'd',
  days: 'd',
  w: 'w',
  weeks: 'w',
};
const UNIT_SECONDS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

// ---------------------------------------------------------------- entries

function hasObjectClass(entry: StoredEntry, name: string): boolean {
  return values(entry, 'objectClass').some((value) => value.toLowerCase() === name.toLowerCase());
}

/** A value in a storage scheme's form (`{SSHA}...`): stored as it is, not encoded again. */
function isPreEncoded(value: string): boolean {
  const scheme = /^\{([A-Za-z0-9-]+)\}/.exec(value)?.[1];
  return scheme !== undefined && KNOWN_SCHEMES.has(scheme.toLowerCase());
}

/** Salted SHA-256 in the `{SSHA256}` form PingDirectory's default password storage scheme writes. */
function encodePassword(clear: string): string {
  if (isPreEncoded(clear)) return clear;
  const salt = randomBytes(8);
  const digest = createHash('sha256').update(clear, 'utf8').update(salt).digest();
  return `{SSHA256}${Buffer.concat([digest, salt]).toString('base64')}`;
}

function passwordMatches(stored: string, clear: string): boolean {
  if (stored.startsWith('{SSHA}')) {
    const raw = Buffer.from(stored.slice('{SSHA}'.length), 'base64');
    const candidate = createHash('sha1').update(clear, 'utf8').update(raw.subarray(20)).digest();
    return raw.length > 20 && timingSafeEqual(candidate, raw.subarray(0, 20));
  }
  if (!stored.startsWith('{SSHA256}')) return stored === clear;
  const raw = Buffer.from(stored.slice('{SSHA256}'.length), 'base64');
  const digest = raw.subarray(0, 32);
  const salt = raw.subarray(32);
  const candidate = createHash('sha256').update(clear, 'utf8').update(salt).digest();
  return candidate.length === digest.length && timingSafeEqual(candidate, digest);
}

interface ChangeRecord {
  readonly number: number;
  readonly time: Date;
  readonly targetDn: string;
  readonly changeType: 'add' | 'modify' | 'delete';
  readonly changes: string | undefined;
  /** Deletes: the deleted entry's values of the backend's changelog-deleted-entry-include-attribute, as LDIF. */
  readonly deletedEntryAttrs?: string;
}

export class EmulatedServer {
  private readonly entries = new Map<string, StoredEntry>();
  private readonly changes: ChangeRecord[] = [];
  private lastChangeNumber = 0;
  private lastPurgedChangeNumber = 0;
  private readonly now: () => Date;
  /** Failed binds in a row per account (reset by a successful bind), counted against lockout-failure-count. */
  private readonly failures = new Map<string, number>();
  /** When each account's password was last set, for max-password-age. */
  private readonly passwordSetAt = new Map<string, Date>();
  /** Accounts added (or reset by another) under a policy with force-change-on-add (or -reset). */
  private readonly mustChange = new Set<string>();

  public constructor(private readonly options: EmulatorOptions) {
    this.now = options.now ?? (() => new Date());
    this.seed();
  }

  public get proxy(): boolean {
    return this.options.proxy;
  }

  // ------------------------------------------------------------ bind

  public bind(session: Session, dn: string, password: string | undefined): void {
    session.boundDn = undefined;
    if (password === undefined)
      throw new LdapFailure(RESULT.authMethodNotSupported, 'Only simple authentication is emulated');
    if (dn.trim() === '' && password === '') return;
    if (password === '') {
      throw new LdapFailure(
        RESULT.unwillingToPerform,
        'Unauthenticated simple binds (a DN without a password) are not allowed',
      );
    }
    let account: StoredEntry;
    try {
      account = authenticate(this.entries, dn, password, ROOT_DNS_DN, passwordMatches);
    } catch (error) {
      // A wrong password counts against the policy of the account the DN names (when there is one).
      const named = this.entries.get(normalize(dn));
      if (named !== undefined && this.lockoutFailureCount(normalize(named.dn)) > 0) {
        this.failures.set(normalize(named.dn), (this.failures.get(normalize(named.dn)) ?? 0) + 1);
      }
      throw error;
    }
    const key = normalize(account.dn);
    const limit = this.lockoutFailureCount(key);
    if (limit > 0 && (this.failures.get(key) ?? 0) >= limit) {
      throw new LdapFailure(RESULT.invalidCredentials, 'The account is locked after too many failed binds', '', 1);
    }
    const maxAge = this.policyValue(key, 'ds-cfg-max-password-age');
    const setAt = this.passwordSetAt.get(key);
    if (maxAge !== undefined && setAt !== undefined && durationSeconds(maxAge) > 0) {
      if (this.now().getTime() - setAt.getTime() > durationSeconds(maxAge) * 1000)
        throw new LdapFailure(RESULT.invalidCredentials, 'The password has expired', '', 0);
    }
    this.failures.delete(key);
    session.boundDn = key;
  }

  // ------------------------------------------------------------ password policy

  /**
   * The policy that governs an account: the one its ds-pwp-password-policy-dn names, else the Root Password
   * Policy for a root DN user and the Default Password Policy for anyone else ("Assigning password policies to
   * users", "Viewing password policies").
   */
  private effectivePolicy(key: string): StoredEntry | undefined {
    const named = values(this.entries.get(key), 'ds-pwp-password-policy-dn')[0];
    if (named !== undefined) return this.entries.get(normalize(named));
    return this.entries.get(normalize(parentOf(key) === normalize(ROOT_DNS_DN) ? ROOT_POLICY_DN : DEFAULT_POLICY_DN));
  }

  private policyValue(key: string, attribute: string): string | undefined {
    return values(this.effectivePolicy(key), attribute)[0];
  }

  private lockoutFailureCount(key: string): number {
    return Number(this.policyValue(key, 'ds-cfg-lockout-failure-count') ?? '0');
  }

  /** A password set by someone else under force-change-on-add/-reset must be changed before anything else. */
  private passwordSet(session: Session, key: string, added: boolean): void {
    this.passwordSetAt.set(key, this.now());
    const force = this.policyValue(key, added ? 'ds-cfg-force-change-on-add' : 'ds-cfg-force-change-on-reset');
    if (session.boundDn !== key && force?.toLowerCase() === 'true') this.mustChange.add(key);
    else this.mustChange.delete(key);
  }

  /** Until it changes its password, an account under force-change may do nothing else (inferred: 53). */
  private requireNoPendingChange(session: Session, changingOwnPassword = false): void {
    if (session.boundDn === undefined || changingOwnPassword || !this.mustChange.has(session.boundDn)) return;
    // The policy that applies now decides: a policy without force-change no longer asks for it.
    const policy = this.effectivePolicy(session.boundDn);
    const forced = ['ds-cfg-force-change-on-add', 'ds-cfg-force-change-on-reset'].some(
      (name) => values(policy, name)[0]?.toLowerCase() === 'true',
    );
    if (!forced) return;
    throw new LdapFailure(RESULT.unwillingToPerform, 'You must change your password before any other operation');
  }

  // ------------------------------------------------------------ privileges

  /** The privileges of the session's account, computed from the configuration as it is now. */
  public privileges(session: Session): Set<string> {
    if (session.boundDn === undefined) return new Set();
    const account = this.entries.get(session.boundDn);
    if (account === undefined) return new Set();
    const rootUser =
      parentOf(session.boundDn) === normalize(ROOT_DNS_DN) && hasObjectClass(account, 'ds-cfg-root-dn-user');
    const inheritValue = values(account, 'ds-cfg-inherit-default-root-privileges')[0];
    const inherits = rootUser && (inheritValue === undefined || inheritValue.toLowerCase() === 'true');
    const held = new Set(
      inherits ? values(this.entries.get(normalize(ROOT_DNS_DN)), 'ds-cfg-default-root-privilege-name') : [],
    );
    const assigned = values(account, 'ds-privilege-name').map((value) => value.trim().toLowerCase());
    for (const name of assigned) if (!name.startsWith('-')) held.add(name);
    for (const name of assigned) if (name.startsWith('-')) held.delete(name.slice(1));
    return held;
  }

  private isRootUser(session: Session): boolean {
    if (session.boundDn === undefined) return false;
    const account = this.entries.get(session.boundDn);
    return (
      account !== undefined &&
      parentOf(session.boundDn) === normalize(ROOT_DNS_DN) &&
      hasObjectClass(account, 'ds-cfg-root-dn-user')
    );
  }

  private canReadEverything(held: Set<string>): boolean {
    return held.has('bypass-acl') || held.has('bypass-read-acl');
  }

  private changelogEnabled(): boolean {
    if (this.options.proxy) return false;
    return values(this.entries.get(normalize(CHANGELOG_BACKEND_DN)), 'ds-cfg-enabled')[0]?.toLowerCase() === 'true';
  }

  // ------------------------------------------------------------ search

  public search(
    session: Session,
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: Filter,
    requested: readonly string[],
  ): SearchResultEntry[] {
    const baseKey = normalize(base);
    const held = this.privileges(session);
    this.requireNoPendingChange(session);
    if (baseKey === '' && scope === 'base') {
      const rootDse = this.rootDse(held);
      return matches(rootDse, filter) ? [select(rootDse, requested)] : [];
    }
    this.purgeChangelog();
    if (isWithin(baseKey, normalize(CONFIG_DN)) && !held.has('config-read')) {
      throw new LdapFailure(
        RESULT.insufficientAccessRights,
        'You do not have sufficient privileges to access the server configuration (config-read is needed)',
      );
    }
    const candidates = this.visibleEntries(held);
    const baseEntry = candidates.get(baseKey);
    if (baseEntry === undefined) {
      throw new LdapFailure(
        RESULT.noSuchObject,
        `The entry '${base}' does not exist`,
        this.matchedDn(baseKey, candidates),
      );
    }
    const found: SearchResultEntry[] = [];
    for (const [key, entry] of candidates) {
      const inScope =
        scope === 'base' ? key === baseKey : scope === 'one' ? parentOf(key) === baseKey : isWithin(key, baseKey);
      if (inScope && matches(entry, filter)) found.push(select(entry, requested));
    }
    return found;
  }

  /** Entries this session can see: configuration and data as stored, plus cn=changelog while enabled. */
  private visibleEntries(held: Set<string>): Map<string, StoredEntry> {
    const visible = new Map<string, StoredEntry>();
    const readsData = this.canReadEverything(held);
    for (const [key, entry] of this.entries) {
      if (isWithin(key, normalize(CONFIG_DN))) visible.set(key, entry);
      else if (readsData) visible.set(key, entry);
    }
    if (this.changelogEnabled() && readsData) {
      visible.set(
        normalize(CHANGELOG_DN),
        makeEntry(CHANGELOG_DN, { objectClass: ['top', 'untypedObject'], cn: ['changelog'] }),
      );
      for (const record of this.changes) {
        const dn = `changeNumber=${record.number},${CHANGELOG_DN}`;
        visible.set(
          normalize(dn),
          makeEntry(dn, {
            objectClass: ['top', 'changeLogEntry'],
            changeNumber: [String(record.number)],
            targetDN: [record.targetDn],
            changeType: [record.changeType],
            ...(record.changes === undefined ? {} : { changes: [record.changes] }),
            ...(record.deletedEntryAttrs === undefined ? {} : { deletedEntryAttrs: [record.deletedEntryAttrs] }),
            changeTime: [generalizedTime(record.time)],
          }),
        );
      }
    }
    return visible;
  }

  private matchedDn(key: string, candidates: Map<string, StoredEntry>): string {
    for (let parent = parentOf(key); parent !== ''; parent = parentOf(parent)) {
      const entry = candidates.get(parent);
      if (entry !== undefined) return entry.dn;
    }
    return '';
  }

  private rootDse(held: Set<string>): StoredEntry {
    const version = this.options.proxy
      ? 'Ping Identity Directory Proxy Server 10.2.0.0'
      : 'Ping Identity Directory Server 10.2.0.0';
    const attributes: Record<string, string[]> = {
      objectClass: ['top', 'ds-root-dse'],
      namingContexts: [DATA_SUFFIX],
      subschemaSubentry: ['cn=schema'],
      supportedLDAPVersion: ['3'],
      vendorName: ['Ping Identity Corporation'],
      vendorVersion: [`${version} (prepare-endpoint-server test emulator, not the real product)`],
    };
    if (this.changelogEnabled() && this.canReadEverything(held)) {
      this.purgeChangelog();
      const first = this.changes[0]?.number ?? (this.lastChangeNumber === 0 ? 0 : this.lastChangeNumber + 1);
      attributes.firstChangeNumber = [String(first)];
      attributes.lastChangeNumber = [String(this.lastChangeNumber)];
      attributes.lastPurgedChangeNumber = [String(this.lastPurgedChangeNumber)];
    }
    return makeEntry('', attributes);
  }

  // ------------------------------------------------------------ writes

  public add(session: Session, dn: string, attributes: readonly Attribute[]): void {
    const key = normalize(dn);
    this.requireNoPendingChange(session);
    this.authorizeWrite(
      session,
      key,
      attributes.map((attribute) => attribute.name),
      dn,
    );
    if (this.entries.has(key)) throw new LdapFailure(RESULT.entryAlreadyExists, `The entry '${dn}' already exists`);
    const parent = parentOf(key);
    if (!this.entries.has(parent)) {
      throw new LdapFailure(
        RESULT.noSuchObject,
        `The parent of '${dn}' does not exist`,
        this.matchedDn(key, this.entries),
      );
    }
    const record: Record<string, string[]> = {};
    for (const attribute of attributes)
      record[attribute.name] = [...(record[attribute.name] ?? []), ...attribute.values];
    const entry = makeEntry(dn, record);
    if (values(entry, 'objectClass').length === 0)
      throw new LdapFailure(RESULT.objectClassViolation, 'The entry has no object class');
    if (parent === normalize(ROOT_DNS_DN) && !hasObjectClass(entry, 'ds-cfg-root-dn-user')) {
      throw new LdapFailure(
        RESULT.objectClassViolation,
        `Entries below '${ROOT_DNS_DN}' must be root DN users (objectClass ds-cfg-root-dn-user)`,
      );
    }
    if (isWithin(key, normalize(CONFIG_DN))) this.validateConfig(entry);
    const password = entry.attributes.get('userpassword');
    if (password !== undefined) {
      this.authorizePreEncoded(session, key, password.values);
      password.values = password.values.map(encodePassword);
    }
    this.stampWrite(entry, session, true);
    this.entries.set(key, entry);
    this.failures.delete(key);
    if (password !== undefined) this.passwordSet(session, key, true);
    this.recordChange(key, dn, 'add', ldifOfAttributes(attributes));
  }

  public modify(session: Session, dn: string, modifications: readonly Modification[]): void {
    const key = normalize(dn);
    const names = modifications.map((modification) => modification.attribute.name);
    this.requireNoPendingChange(
      session,
      session.boundDn === key && names.every((name) => name.toLowerCase() === 'userpassword'),
    );
    this.authorizeWrite(session, key, names, dn);
    const current = this.entries.get(key);
    if (current === undefined)
      throw new LdapFailure(RESULT.noSuchObject, `The entry '${dn}' does not exist`, this.matchedDn(key, this.entries));
    const touchesPassword = names.some((name) => name.toLowerCase() === 'userpassword');
    if (
      touchesPassword &&
      isWithin(key, normalize(DATA_SUFFIX)) &&
      session.boundDn !== key &&
      !this.privileges(session).has('password-reset')
    ) {
      throw new LdapFailure(
        RESULT.insufficientAccessRights,
        "Changing another user's password requires the password-reset privilege",
      );
    }
    if (touchesPassword) {
      this.authorizePreEncoded(
        session,
        key,
        modifications
          .filter((m) => m.attribute.name.toLowerCase() === 'userpassword' && m.operation !== 'delete')
          .flatMap((m) => m.attribute.values),
      );
    }
    const next = makeEntry(
      current.dn,
      Object.fromEntries([...current.attributes.values()].map((a) => [a.name, a.values])),
    );
    for (const modification of modifications) {
      const { operation, attribute } = modification;
      const incoming =
        attribute.name.toLowerCase() === 'userpassword' && operation !== 'delete'
          ? attribute.values.map(encodePassword)
          : [...attribute.values];
      // A delete names stored values in any case.
      applyModification(next, modification, incoming, (stored, named) => stored.toLowerCase() === named.toLowerCase());
    }
    if (isWithin(key, normalize(CONFIG_DN))) this.validateConfig(next);
    this.stampWrite(next, session, false);
    this.entries.set(key, next);
    if (touchesPassword) this.passwordSet(session, key, false);
    this.recordChange(key, dn, 'modify', ldifOfModifications(modifications));
  }

  public delete(session: Session, dn: string): void {
    const key = normalize(dn);
    this.requireNoPendingChange(session);
    this.authorizeWrite(session, key, [], dn);
    if (!this.entries.has(key))
      throw new LdapFailure(RESULT.noSuchObject, `The entry '${dn}' does not exist`, this.matchedDn(key, this.entries));
    if ([...this.entries.keys()].some((other) => parentOf(other) === key && other !== key)) {
      throw new LdapFailure(RESULT.notAllowedOnNonLeaf, `The entry '${dn}' has subordinate entries`);
    }
    const deletablePolicy =
      parentOf(key) === normalize(POLICIES_DN) &&
      key !== normalize(ROOT_POLICY_DN) &&
      key !== normalize(DEFAULT_POLICY_DN);
    if (isWithin(key, normalize(CONFIG_DN)) && parentOf(key) !== normalize(ROOT_DNS_DN) && !deletablePolicy) {
      throw new LdapFailure(
        RESULT.unwillingToPerform,
        'Only root DN users and password policies other than the two shipped ones may be deleted from the emulated configuration',
      );
    }
    const deleted = this.entries.get(key);
    this.entries.delete(key);
    this.failures.delete(key);
    this.mustChange.delete(key);
    this.passwordSetAt.delete(key);
    this.recordChange(key, dn, 'delete', undefined, deleted);
  }

  /**
   * Pre-encoded passwords are refused unless the writer holds bypass-pw-policy, which Ping documents as allowing
   * "setting a pre-encoded password" on other users' entries (the password policy's allow-pre-encoded-passwords
   * is false by default).
   */
  private authorizePreEncoded(session: Session, key: string, passwords: readonly string[]): void {
    if (!isWithin(key, normalize(DATA_SUFFIX)) || !passwords.some(isPreEncoded)) return;
    if (session.boundDn !== key && this.privileges(session).has('bypass-pw-policy')) return;
    throw new LdapFailure(
      RESULT.unwillingToPerform,
      'Pre-encoded passwords are not allowed for the password attribute userPassword',
    );
  }

  /** Who may write where (the emulator's stand-in for privileges plus the default access control). */
  private authorizeWrite(session: Session, key: string, attributeNames: readonly string[], dn: string): void {
    if (key === '') throw new LdapFailure(RESULT.unwillingToPerform, 'The root DSE cannot be changed over LDAP');
    if (isWithin(key, normalize(CHANGELOG_DN))) {
      throw new LdapFailure(
        RESULT.unwillingToPerform,
        'The changelog backend is read-only (writability-mode disabled)',
      );
    }
    const held = this.privileges(session);
    if (isWithin(key, normalize(CONFIG_DN))) {
      if (!this.isRootUser(session) || !held.has('config-write')) {
        throw new LdapFailure(
          RESULT.insufficientAccessRights,
          `Changing the server configuration ('${dn}') requires a root user with the config-write privilege`,
        );
      }
      const privilegeAttributes = [
        'ds-privilege-name',
        'ds-cfg-inherit-default-root-privileges',
        'ds-cfg-default-root-privilege-name',
      ];
      if (
        attributeNames.some((name) => privilegeAttributes.includes(name.toLowerCase())) &&
        !held.has('privilege-change')
      ) {
        throw new LdapFailure(
          RESULT.insufficientAccessRights,
          'Changing privileges requires the privilege-change privilege',
        );
      }
      return;
    }
    if (!held.has('bypass-acl')) {
      throw new LdapFailure(
        RESULT.insufficientAccessRights,
        `Insufficient access rights to change '${dn}' (the emulator has no ACIs: writes need bypass-acl)`,
      );
    }
  }

  /** What the configuration handler rejects: values it cannot read. */
  private validateConfig(entry: StoredEntry): void {
    for (const value of values(entry, 'ds-privilege-name')) {
      const name = value.trim().toLowerCase().replace(/^-/, '');
      if (!KNOWN_PRIVILEGES.has(name))
        throw new LdapFailure(RESULT.unwillingToPerform, `'${value}' is not a privilege name`);
    }
    for (const attribute of ['ds-cfg-enabled', 'ds-cfg-inherit-default-root-privileges']) {
      for (const value of values(entry, attribute)) {
        if (!/^(true|false)$/i.test(value))
          throw new LdapFailure(
            RESULT.unwillingToPerform,
            `'${value}' is not a valid value for ${attribute}: use true or false`,
          );
      }
    }
    if (hasObjectClass(entry, 'ds-cfg-password-policy')) {
      for (const name of ['ds-cfg-password-attribute', 'ds-cfg-default-password-storage-scheme']) {
        if (values(entry, name).length === 0)
          throw new LdapFailure(RESULT.objectClassViolation, `A password policy needs ${name}`);
      }
      for (const value of values(entry, 'ds-cfg-lockout-failure-count')) {
        if (!/^\d+$/.test(value.trim()))
          throw new LdapFailure(RESULT.unwillingToPerform, `'${value}' is not a valid lockout-failure-count`);
      }
      for (const value of values(entry, 'ds-cfg-max-password-age')) normalizeDuration(value);
      for (const name of ['ds-cfg-force-change-on-add', 'ds-cfg-force-change-on-reset']) {
        for (const value of values(entry, name)) {
          if (!/^(true|false)$/i.test(value))
            throw new LdapFailure(RESULT.unwillingToPerform, `'${value}' is not a valid value for ${name}`);
        }
      }
    }
    for (const name of RESOURCE_LIMIT_ATTRIBUTES) {
      for (const value of values(entry, name)) {
        if (!/^\d+$/.test(value.trim()))
          throw new LdapFailure(
            RESULT.unwillingToPerform,
            `'${value}' is not a valid value for ${name}: use a whole number, 0 for no limit`,
          );
      }
    }
    const age = entry.attributes.get('ds-cfg-changelog-maximum-age');
    if (age !== undefined) {
      if (age.values.length !== 1)
        throw new LdapFailure(RESULT.unwillingToPerform, 'changelog-maximum-age takes exactly one value');
      age.values = [normalizeDuration(age.values[0] ?? '')];
    }
  }

  /** createTimestamp/modifyTimestamp and creatorsName/modifiersName (RFC 4512 section 3.4), to the millisecond. */
  private stampWrite(entry: StoredEntry, session: Session, created: boolean): void {
    const who = session.boundDn === undefined ? '' : (this.entries.get(session.boundDn)?.dn ?? '');
    stampWrite(entry, who, this.now(), created);
  }

  // ------------------------------------------------------------ change log

  private recordChange(
    key: string,
    dn: string,
    changeType: ChangeRecord['changeType'],
    changes: string | undefined,
    deleted?: StoredEntry,
  ): void {
    if (!this.changelogEnabled() || !isWithin(key, normalize(DATA_SUFFIX))) return;
    this.lastChangeNumber += 1;
    const kept = values(
      this.entries.get(normalize(CHANGELOG_BACKEND_DN)),
      'ds-cfg-changelog-deleted-entry-include-attribute',
    );
    const deletedEntryAttrs =
      deleted === undefined || kept.length === 0
        ? undefined
        : kept
            .flatMap((name) => {
              const a = deleted.attributes.get(name.toLowerCase());
              return a === undefined ? [] : a.values.map((v) => `${a.name}: ${v}`);
            })
            .join('\n');
    this.changes.push({
      number: this.lastChangeNumber,
      time: this.now(),
      targetDn: dn,
      changeType,
      changes,
      ...(deletedEntryAttrs === undefined ? {} : { deletedEntryAttrs }),
    });
  }

  /** Drops changes older than changelog-maximum-age, counting them in lastPurgedChangeNumber. */
  private purgeChangelog(): void {
    const ageText = values(this.entries.get(normalize(CHANGELOG_BACKEND_DN)), 'ds-cfg-changelog-maximum-age')[0];
    if (ageText === undefined) return;
    const maxAgeMs = durationSeconds(ageText) * 1000;
    const cutoff = this.now().getTime() - maxAgeMs;
    while (this.changes.length > 0 && (this.changes[0]?.time.getTime() ?? 0) < cutoff) {
      this.lastPurgedChangeNumber = this.changes.shift()?.number ?? this.lastPurgedChangeNumber;
    }
  }

  // ------------------------------------------------------------ seed

  private seed(): void {
    const put = (dn: string, attributes: Record<string, readonly string[]>): void => {
      this.entries.set(normalize(dn), makeEntry(dn, attributes));
    };
    put(CONFIG_DN, { objectClass: ['top', 'ds-cfg-root-config'], cn: ['config'] });
    put(ROOT_DNS_DN, {
      objectClass: ['top', 'ds-cfg-root-dn'],
      cn: ['Root DNs'],
      'ds-cfg-default-root-privilege-name': DEFAULT_ROOT_PRIVILEGES,
    });
    put(ADMIN_DN, {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'ds-cfg-user', 'ds-cfg-root-dn-user'],
      cn: ['Directory Manager'],
      sn: ['Manager'],
      givenName: ['Directory'],
      userPassword: [encodePassword(this.options.adminPassword)],
      'ds-cfg-alternate-bind-dn': [ADMIN_ALTERNATE_DN],
      'ds-cfg-inherit-default-root-privileges': ['true'],
    });
    // Password policies as PingDirectory ships them ("Viewing password policies"): the Root Password Policy applies
    // to root DN users, the Default Password Policy to everyone else; neither expires, locks or forces a change.
    put('cn=Password Policies,cn=config', { objectClass: ['top', 'ds-cfg-branch'], cn: ['Password Policies'] });
    put('cn=Root Password Policy,cn=Password Policies,cn=config', {
      objectClass: ['top', 'ds-cfg-password-policy'],
      cn: ['Root Password Policy'],
      'ds-cfg-password-attribute': ['userPassword'],
      'ds-cfg-default-password-storage-scheme': ['cn=PBKDF2,cn=Password Storage Schemes,cn=config'],
      'ds-cfg-password-change-requires-current-password': ['true'],
      'ds-cfg-lockout-failure-count': ['0'],
      'ds-cfg-force-change-on-add': ['false'],
      'ds-cfg-force-change-on-reset': ['false'],
    });
    put('cn=Default Password Policy,cn=Password Policies,cn=config', {
      objectClass: ['top', 'ds-cfg-password-policy'],
      cn: ['Default Password Policy'],
      'ds-cfg-password-attribute': ['userPassword'],
      'ds-cfg-default-password-storage-scheme': ['cn=Salted SHA256,cn=Password Storage Schemes,cn=config'],
      'ds-cfg-lockout-failure-count': ['0'],
      'ds-cfg-force-change-on-add': ['false'],
      'ds-cfg-force-change-on-reset': ['false'],
    });
    put('cn=Backends,cn=config', { objectClass: ['top', 'ds-cfg-branch'], cn: ['Backends'] });
    if (!this.options.proxy) {
      put(CHANGELOG_BACKEND_DN, {
        objectClass: ['top', 'ds-cfg-backend', 'ds-cfg-changelog-backend'],
        'ds-cfg-backend-id': ['changelog'],
        'ds-cfg-enabled': ['false'],
        'ds-cfg-writability-mode': ['disabled'],
        'ds-cfg-base-dn': [CHANGELOG_DN],
        'ds-cfg-db-directory': ['db'],
        'ds-cfg-changelog-maximum-age': ['2 d'],
      });
      put('ds-cfg-backend-id=userRoot,cn=Backends,cn=config', {
        objectClass: ['top', 'ds-cfg-backend', 'ds-cfg-local-db-backend'],
        'ds-cfg-backend-id': ['userRoot'],
        'ds-cfg-enabled': ['true'],
        'ds-cfg-base-dn': [DATA_SUFFIX],
      });
    }
    put(DATA_SUFFIX, { objectClass: ['top', 'domain'], dc: ['example'] });
    put(`ou=People,${DATA_SUFFIX}`, { objectClass: ['top', 'organizationalUnit'], ou: ['People'] });
  }
}

// ---------------------------------------------------------------- helpers

/** A duration in the configuration's syntax (`2 d`, `36 h`); `2d` and `2 days` are read too and written back spaced. */
export function normalizeDuration(text: string): string {
  const match = /^\s*(\d+)\s*([a-z]+)\s*$/i.exec(text);
  const unit = match === null ? undefined : DURATION_UNITS[(match[2] ?? '').toLowerCase()];
  if (match === null || unit === undefined) {
    throw new LdapFailure(
      RESULT.unwillingToPerform,
      `'${text}' is not a valid duration: use a number and a unit such as '2 d' or '12 h'`,
    );
  }
  return `${Number(match[1])} ${unit}`;
}

function durationSeconds(text: string): number {
  const [amount = '0', unit = 's'] = normalizeDuration(text).split(' ');
  return Number(amount) * (UNIT_SECONDS[unit] ?? 1);
}

function select(entry: StoredEntry, requested: readonly string[]): SearchResultEntry {
  return selectAttributes(entry, requested, (name) => OPERATIONAL.has(name));
}
