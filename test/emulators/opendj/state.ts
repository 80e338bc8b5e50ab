/**
 * What the PingDS/OpenDJ emulator knows and decides: entries, binds, privileges, access control (global ACIs and
 * entry ACIs), the replication server's configuration and the external changelog. No sockets here (server.ts).
 * Each rule, with the documentation it comes from, is listed in README.md beside this file.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Attribute, Filter, Modification } from '../pingdirectory/protocol.js';
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
  within,
  type SearchResultEntry,
  type StoredEntry,
} from '../shared/entries.js';
import type { Session } from '../shared/ldap-server.js';
import { decide, parseAci, setOperationalAttributes, type Aci } from './aci.js';

export type Flavor = 'pingds' | 'opendj';
export type ChangelogMode = 'disabled' | 'enabled' | 'enabled-cookie-mode-only';

export interface EmulatorOptions {
  /** pingds: PingDS 8 root DSE, `changelog-enabled` on the replication server, `ecl-include-for-deletes` on the domain; opendj: OpenDJ 4, `compute-change-number`, an external changelog domain entry. */
  readonly flavor: Flavor;
  /** The server also runs a replication server (the only kind that keeps cn=changelog). */
  readonly replicationServer: boolean;
  /** pingds: the replication server's changelog-enabled at start (the product default is enabled-cookie-mode-only). */
  readonly changelogMode: ChangelogMode;
  readonly adminPassword: string;
}

export const DATA_SUFFIX = 'dc=example,dc=com';
export const ADMIN_DN = 'cn=Directory Manager,cn=Root DNs,cn=config';
/** A data administrator with every right on the data and none on the configuration (tests the exit 50 path). */
export const DATA_ADMIN_DN = `uid=data-admin,ou=People,${DATA_SUFFIX}`;
export const DATA_ADMIN_PASSWORD = 'data-admin-pw';
const CONFIG = 'cn=config';
const ROOT_DNS = 'cn=Root DNs,cn=config';
const ACCESS_CONTROL_HANDLER = 'cn=Access Control Handler,cn=config';
const PROVIDER = 'cn=Multimaster Synchronization,cn=Synchronization Providers,cn=config';
const REPLICATION_SERVER = `cn=replication server,${PROVIDER}`;
const DOMAINS = `cn=domains,${PROVIDER}`;
const DOMAIN = `cn=dc=example\\,dc=com,${DOMAINS}`;
const EXTERNAL_DOMAIN = `cn=external changelog,${DOMAIN}`;
const PASSWORD_POLICIES = 'cn=Password Policies,cn=config';
const PASSWORD_POLICY = `cn=Default Password Policy,${PASSWORD_POLICIES}`;
const CHANGELOG = 'cn=changelog';
const ECL_CONTROL = '1.3.6.1.4.1.26027.1.5.4';

/** Privileges every root user holds (`default-root-privilege-name` of the root DN configuration). */
const ROOT_PRIVILEGES = [
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
  'cancel-request',
  'password-reset',
  'update-schema',
  'privilege-change',
  'unindexed-search',
  'subentry-write',
  'changelog-read',
];
const KNOWN_PRIVILEGES = new Set([
  ...ROOT_PRIVILEGES,
  'proxied-auth',
  'jmx-read',
  'jmx-write',
  'jmx-notify',
  'data-sync',
  'monitor-read',
  'bypass-lockdown',
  'server-lockdown',
]);
const RESOURCE_LIMITS = [
  'ds-rlim-size-limit',
  'ds-rlim-time-limit',
  'ds-rlim-lookthrough-limit',
  'ds-rlim-idle-time-limit',
];
const ROOT_DSE_OPERATIONAL = [
  'changelog',
  'firstchangenumber',
  'lastchangenumber',
  'lastexternalchangelogcookie',
  'vendorname',
  'vendorversion',
  'namingcontexts',
  'supportedcontrol',
  'supportedextension',
  'supportedldapversion',
  'subschemasubentry',
  'supportedfeatures',
];
const OPERATIONAL = new Set([
  'ds-privilege-name',
  'ds-pwp-password-policy-dn',
  'aci',
  'entryuuid',
  'createtimestamp',
  'modifytimestamp',
  'creatorsname',
  'modifiersname',
  'changenumber',
  'changetime',
  'targetentryuuid',
  'changelogcookie',
  'includedattributes',
  'replicationcsn',
  ...RESOURCE_LIMITS,
  ...ROOT_DSE_OPERATIONAL,
]);
setOperationalAttributes(OPERATIONAL);
const DURATION_UNITS: Readonly<Record<string, [string, number]>> = {
  ms: ['ms', 0.001],
  s: ['s', 1],
  seconds: ['s', 1],
  m: ['m', 60],
  minutes: ['m', 60],
  h: ['h', 3600],
  hours: ['h', 3600],
  d: ['d', 86400],
  days: ['d', 86400],
  w: ['w', 604800],
  weeks: ['w', 604800],
};

interface ChangeRecord {
  readonly number: number;
  readonly csn: string;
  readonly time: Date;
  readonly targetDn: string;
  readonly targetEntryUuid: string;
  readonly changeType: 'add' | 'modify' | 'delete';
  readonly changes: string | undefined;
  readonly includedAttributes: string | undefined;
}

export class EmulatedServer {
  private readonly entries = new Map<string, StoredEntry>();
  private readonly changes: ChangeRecord[] = [];
  private lastChangeNumber = 0;

  /** Failed binds in a row per account, counted against its policy's lockout-failure-count. */
  private readonly failures = new Map<string, number>();

  public constructor(private readonly options: EmulatorOptions) {
    this.seed();
  }

  /**
   * The per-server policy that governs an account: the one its ds-pwp-password-policy-dn names, else the Default
   * Password Policy ("Assign password policies", PingDS 8; root users have the Root Password Policy, not emulated).
   */
  private lockoutFailureCount(key: string): number {
    const named = values(this.entries.get(key), 'ds-pwp-password-policy-dn')[0];
    const policy = this.entries.get(normalize(named ?? PASSWORD_POLICY));
    return Number(values(policy, 'ds-cfg-lockout-failure-count')[0] ?? '0');
  }

  // ------------------------------------------------------------ bind and privileges

  public bind(session: Session, dn: string, password: string | undefined): void {
    session.boundDn = undefined;
    if (password === undefined)
      throw new LdapFailure(RESULT.authMethodNotSupported, 'Only simple authentication is emulated');
    if (dn.trim() === '' && password === '') return;
    if (password === '')
      throw new LdapFailure(RESULT.unwillingToPerform, 'Unauthenticated simple binds are not allowed');
    let key: string;
    try {
      key = normalize(authenticate(this.entries, dn, password, ROOT_DNS, passwordMatches).dn);
    } catch (error) {
      const named = normalize(dn);
      if (this.entries.has(named) && this.lockoutFailureCount(named) > 0)
        this.failures.set(named, (this.failures.get(named) ?? 0) + 1);
      throw error;
    }
    const limit = this.lockoutFailureCount(key);
    if (limit > 0 && (this.failures.get(key) ?? 0) >= limit)
      throw new LdapFailure(RESULT.invalidCredentials, 'The account is locked after too many failed binds', '', 1);
    this.failures.delete(key);
    session.boundDn = key;
  }

  public privileges(session: Session): Set<string> {
    if (session.boundDn === undefined) return new Set();
    const account = this.entries.get(session.boundDn);
    if (account === undefined) return new Set();
    const root = parentOf(session.boundDn) === normalize(ROOT_DNS);
    return new Set([
      ...(root ? ROOT_PRIVILEGES : []),
      ...values(account, 'ds-privilege-name').map((v) => v.trim().toLowerCase()),
    ]);
  }

  // ------------------------------------------------------------ access control

  private acisFor(entryKey: string): { aci: Aci; holder: string | undefined }[] {
    const list: { aci: Aci; holder: string | undefined }[] = [];
    for (const text of values(this.entries.get(normalize(ACCESS_CONTROL_HANDLER)), 'ds-cfg-global-aci'))
      list.push({ aci: parseAci(text), holder: undefined });
    // Entry ACIs live in the data only (OpenDJ keeps none in cn=config); each covers its entry and the subtree.
    for (let key = entryKey; key !== ''; key = parentOf(key)) {
      if (within(key, normalize(CONFIG))) break;
      for (const text of values(this.entries.get(key), 'aci')) {
        try {
          list.push({ aci: parseAci(text), holder: key });
        } catch {
          // an ACI the handler cannot parse is ignored, as the server logs and skips it
        }
      }
    }
    return list;
  }

  private allowed(session: Session, entry: string, right: string, attribute?: string, control?: string): boolean {
    if (this.privileges(session).has('bypass-acl')) return true;
    return decide(this.acisFor(entry), {
      user: session.boundDn,
      entry,
      right,
      ...(attribute === undefined ? {} : { attribute }),
      ...(control === undefined ? {} : { control }),
    });
  }

  // ------------------------------------------------------------ replication and the changelog

  private replicationServer(): StoredEntry | undefined {
    return this.entries.get(normalize(REPLICATION_SERVER));
  }

  /** cn=changelog exists on a replication server whose changelog is not disabled. */
  private changelogExposed(): boolean {
    const server = this.replicationServer();
    if (server === undefined) return false;
    return (values(server, 'ds-cfg-changelog-enabled')[0] ?? 'enabled').toLowerCase() !== 'disabled';
  }

  /** Change numbers: PingDS `changelog-enabled: enabled`; OpenDJ `compute-change-number: true`. */
  private changeNumbersOn(): boolean {
    const server = this.replicationServer();
    if (server === undefined || !this.changelogExposed()) return false;
    const mode = values(server, 'ds-cfg-changelog-enabled')[0];
    if (mode !== undefined) return mode.toLowerCase() === 'enabled';
    return (values(server, 'ds-cfg-compute-change-number')[0] ?? 'true').toLowerCase() === 'true';
  }

  private domainFor(key: string): StoredEntry | undefined {
    for (const [entryKey, entry] of this.entries) {
      if (
        !within(entryKey, normalize(DOMAINS)) ||
        !values(entry, 'objectClass').some((c) => c.toLowerCase() === 'ds-cfg-replication-domain')
      )
        continue;
      if (values(entry, 'ds-cfg-base-dn').some((base) => within(key, normalize(base)))) return entry;
    }
    return undefined;
  }

  private purge(): void {
    const text = values(this.replicationServer(), 'ds-cfg-replication-purge-delay')[0];
    if (text === undefined) return;
    const cutoff = Date.now() - durationSeconds(text) * 1000;
    while (this.changes.length > 0 && (this.changes[0]?.time.getTime() ?? 0) < cutoff) this.changes.shift();
  }

  private record(
    key: string,
    dn: string,
    changeType: ChangeRecord['changeType'],
    changes: string | undefined,
    entry: StoredEntry | undefined,
  ): void {
    if (this.replicationServer() === undefined) return;
    const domain = this.domainFor(key);
    if (domain === undefined) return;
    const external = this.entries.get(normalize(`cn=external changelog,${domain.dn}`));
    const include = [...values(domain, 'ds-cfg-ecl-include'), ...values(external, 'ds-cfg-ecl-include')];
    const forDeletes = changeType === 'delete' ? values(domain, 'ds-cfg-ecl-include-for-deletes') : [];
    const names = [...new Set([...include, ...forDeletes].map((n) => n.toLowerCase()))];
    const included =
      entry === undefined || names.length === 0
        ? undefined
        : names
            .flatMap((name) => {
              const attribute = entry.attributes.get(name);
              return attribute === undefined || name === 'userpassword'
                ? []
                : attribute.values.map((v) => `${attribute.name}: ${v}`);
            })
            .join('\n');
    this.lastChangeNumber += 1;
    const time = new Date();
    const csn = `${time.getTime().toString(16).padStart(16, '0')}0001${this.lastChangeNumber.toString(16).padStart(8, '0')}`;
    this.changes.push({
      number: this.lastChangeNumber,
      csn,
      time,
      targetDn: dn,
      changeType,
      changes,
      targetEntryUuid: values(entry, 'entryUUID')[0] ?? '',
      includedAttributes: included === '' ? undefined : included,
    });
  }

  private changelogEntries(withControl: boolean): Map<string, StoredEntry> {
    const found = new Map<string, StoredEntry>();
    found.set(normalize(CHANGELOG), makeEntry(CHANGELOG, { objectClass: ['top', 'container'], cn: ['changelog'] }));
    this.purge();
    // Change-number mode names records by number; cookie mode only hands them to a reader sending the ECL control.
    const numbered = this.changeNumbersOn();
    if (!numbered && !withControl) return found;
    for (const record of this.changes) {
      const dn =
        numbered && !withControl
          ? `changeNumber=${record.number},${CHANGELOG}`
          : `replicationCSN=${record.csn},${DATA_SUFFIX},${CHANGELOG}`;
      found.set(
        normalize(dn),
        makeEntry(dn, {
          objectClass: ['top', 'changeLogEntry'],
          ...(numbered ? { changeNumber: [String(record.number)] } : {}),
          targetDN: [record.targetDn],
          changeType: [record.changeType],
          changeTime: [generalizedTime(record.time)],
          replicationCSN: [record.csn],
          changeLogCookie: [`${DATA_SUFFIX}:${record.csn};`],
          ...(record.targetEntryUuid === '' ? {} : { targetEntryUUID: [record.targetEntryUuid] }),
          ...(record.changes === undefined ? {} : { changes: [record.changes] }),
          ...(record.includedAttributes === undefined ? {} : { includedAttributes: [record.includedAttributes] }),
        }),
      );
    }
    return found;
  }

  // ------------------------------------------------------------ search

  public search(
    session: Session,
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: Filter,
    requested: readonly string[],
    controls: readonly string[],
  ): SearchResultEntry[] {
    const baseKey = normalize(base);
    const held = this.privileges(session);
    const withEcl = controls.includes(ECL_CONTROL);
    if (withEcl && !this.allowed(session, '', 'read', undefined, ECL_CONTROL)) {
      throw new LdapFailure(
        RESULT.insufficientAccessRights,
        `You do not have sufficient access rights to use the control ${ECL_CONTROL}`,
      );
    }
    if (baseKey === '' && scope === 'base') {
      const rootDse = this.rootDse(session);
      return matches(rootDse, filter) ? [select(rootDse, requested)] : [];
    }
    let candidates: Map<string, StoredEntry>;
    if (within(baseKey, normalize(CHANGELOG))) {
      if (!this.changelogExposed()) throw new LdapFailure(RESULT.noSuchObject, `The entry '${base}' does not exist`);
      if (!held.has('changelog-read')) {
        throw new LdapFailure(
          RESULT.insufficientAccessRights,
          'You do not have the changelog-read privilege required to read the external changelog',
        );
      }
      candidates = this.changelogEntries(withEcl);
    } else {
      if (within(baseKey, normalize(CONFIG)) && !held.has('config-read')) {
        throw new LdapFailure(
          RESULT.insufficientAccessRights,
          'You do not have sufficient privileges to read the server configuration (config-read)',
        );
      }
      candidates = this.entries;
    }
    const visible = (key: string): boolean => this.allowed(session, key, 'search');
    const baseEntry = candidates.get(baseKey);
    if (baseEntry === undefined || !visible(baseKey))
      throw new LdapFailure(RESULT.noSuchObject, `The entry '${base}' does not exist`);
    const found: SearchResultEntry[] = [];
    for (const [key, entry] of candidates) {
      const inScope =
        scope === 'base' ? key === baseKey : scope === 'one' ? parentOf(key) === baseKey : within(key, baseKey);
      if (!inScope || !visible(key) || !matches(entry, filter)) continue;
      const readable = makeEntry(entry.dn, {});
      for (const [lower, attribute] of entry.attributes) {
        if (this.allowed(session, key, 'read', lower)) readable.attributes.set(lower, attribute);
      }
      found.push(select(readable, requested));
    }
    return found;
  }

  private rootDse(session: Session): StoredEntry {
    const pingds = this.options.flavor === 'pingds';
    const all: Record<string, string[]> = {
      objectClass: ['top', 'ds-root-dse'],
      namingContexts: [DATA_SUFFIX],
      subschemaSubentry: ['cn=schema'],
      supportedLDAPVersion: ['2', '3'],
      vendorName: [pingds ? 'Ping Identity Corporation' : 'Open Identity Platform Community'],
      vendorVersion: [
        `${pingds ? 'PingDS 8.0.0' : 'OpenDJ Server 4.9.4'} (prepare-endpoint-server test emulator, not the real product)`,
      ],
      supportedControl: [
        '1.2.840.113556.1.4.319',
        '1.3.6.1.1.12',
        '1.3.6.1.4.1.26027.1.5.2',
        ECL_CONTROL,
        '1.3.6.1.4.1.42.2.27.8.5.1',
        '2.16.840.1.113730.3.4.2',
        '2.16.840.1.113730.3.4.3',
        ...(pingds ? ['1.3.6.1.4.1.36733.2.1.5.1'] : []),
      ],
      supportedExtension: [
        '1.3.6.1.4.1.1466.20037',
        '1.3.6.1.4.1.26027.1.6.1',
        '1.3.6.1.4.1.26027.1.6.2',
        '1.3.6.1.4.1.4203.1.11.1',
        '1.3.6.1.4.1.4203.1.11.3',
      ],
    };
    if (this.changelogExposed()) {
      this.purge();
      all.changeLog = [CHANGELOG];
      all.lastExternalChangeLogCookie = [
        this.changes.length === 0 ? '' : `${DATA_SUFFIX}:${this.changes[this.changes.length - 1]?.csn ?? ''};`,
      ];
      if (this.changeNumbersOn()) {
        all.firstChangeNumber = [
          String(this.changes[0]?.number ?? (this.lastChangeNumber === 0 ? 0 : this.lastChangeNumber + 1)),
        ];
        all.lastChangeNumber = [String(this.lastChangeNumber)];
      }
    }
    const visible: Record<string, string[]> = {};
    for (const [name, list] of Object.entries(all)) if (this.allowed(session, '', 'read', name)) visible[name] = list;
    return makeEntry('', visible);
  }

  // ------------------------------------------------------------ writes

  /** Checks every write makes, before the ACIs: where writes go at all, and the privileges OpenDJ requires. */
  private authorizeWrite(session: Session, key: string, dn: string, attributeNames: readonly string[]): void {
    if (key === '') throw new LdapFailure(RESULT.unwillingToPerform, 'The root DSE cannot be changed');
    if (within(key, normalize(CHANGELOG)))
      throw new LdapFailure(RESULT.unwillingToPerform, 'The external changelog is read-only');
    const held = this.privileges(session);
    const names = attributeNames.map((name) => name.toLowerCase());
    if (names.includes('aci') && !held.has('modify-acl')) {
      throw new LdapFailure(
        RESULT.insufficientAccessRights,
        `Changing access control ('aci' of '${dn}') requires the modify-acl privilege`,
      );
    }
    if (names.includes('ds-privilege-name') && !held.has('privilege-change')) {
      throw new LdapFailure(
        RESULT.insufficientAccessRights,
        'Changing privileges requires the privilege-change privilege',
      );
    }
    if (within(key, normalize(CONFIG))) {
      if (!held.has('config-write'))
        throw new LdapFailure(
          RESULT.insufficientAccessRights,
          `Changing the server configuration ('${dn}') requires the config-write privilege`,
        );
      if (names.includes('ds-cfg-global-aci') && !held.has('modify-acl')) {
        throw new LdapFailure(
          RESULT.insufficientAccessRights,
          'Changing global ACIs requires the modify-acl privilege',
        );
      }
    }
  }

  public add(session: Session, dn: string, attributes: readonly Attribute[]): void {
    const key = normalize(dn);
    this.authorizeWrite(
      session,
      key,
      dn,
      attributes.map((a) => a.name),
    );
    // Configuration entries: only password policies (dsconfig create-password-policy), by a config-write holder.
    const policy = parentOf(key) === normalize(PASSWORD_POLICIES);
    if (within(key, normalize(CONFIG)) && !policy)
      throw new LdapFailure(
        RESULT.unwillingToPerform,
        'The emulator adds no configuration entries but password policies',
      );
    if (policy) {
      const named = new Set(attributes.map((a) => a.name.toLowerCase()));
      for (const needed of ['ds-cfg-password-attribute', 'ds-cfg-default-password-storage-scheme', 'ds-cfg-java-class'])
        if (!named.has(needed)) throw new LdapFailure(RESULT.objectClassViolation, `A password policy needs ${needed}`);
    }
    if (
      (!policy && !this.allowed(session, key, 'add')) ||
      attributes.some((a) => !this.allowed(session, key, 'add', a.name))
    ) {
      throw new LdapFailure(RESULT.insufficientAccessRights, `Insufficient access rights to add '${dn}'`);
    }
    if (this.entries.has(key)) throw new LdapFailure(RESULT.entryAlreadyExists, `The entry '${dn}' already exists`);
    if (!this.entries.has(parentOf(key)))
      throw new LdapFailure(RESULT.noSuchObject, `The parent of '${dn}' does not exist`);
    const record: Record<string, string[]> = {};
    for (const attribute of attributes)
      record[attribute.name] = [...(record[attribute.name] ?? []), ...attribute.values];
    const entry = makeEntry(dn, record);
    const password = entry.attributes.get('userpassword');
    if (password !== undefined) {
      this.authorizePreEncoded(password.values);
      password.values = password.values.map(encodePassword);
    }
    this.validate(entry);
    entry.attributes.set('entryuuid', { name: 'entryUUID', values: [randomUUID()] });
    this.stamp(entry, session, true);
    this.entries.set(key, entry);
    this.record(key, dn, 'add', ldifOfAttributes(attributes), entry);
  }

  public modify(session: Session, dn: string, modifications: readonly Modification[]): void {
    const key = normalize(dn);
    this.authorizeWrite(
      session,
      key,
      dn,
      modifications.map((m) => m.attribute.name),
    );
    const current = this.entries.get(key);
    if (current === undefined) throw new LdapFailure(RESULT.noSuchObject, `The entry '${dn}' does not exist`);
    if (!within(key, normalize(CONFIG)) || !this.privileges(session).has('bypass-acl')) {
      for (const m of modifications) {
        if (!this.allowed(session, key, 'write', m.attribute.name)) {
          throw new LdapFailure(
            RESULT.insufficientAccessRights,
            `Insufficient access rights to modify '${m.attribute.name}' of '${dn}'`,
          );
        }
      }
    }
    const touchesPassword = modifications.some((m) => m.attribute.name.toLowerCase() === 'userpassword');
    if (touchesPassword && session.boundDn !== key && !this.privileges(session).has('password-reset')) {
      throw new LdapFailure(
        RESULT.insufficientAccessRights,
        "Changing another user's password requires the password-reset privilege",
      );
    }
    const next = makeEntry(
      current.dn,
      Object.fromEntries([...current.attributes.values()].map((a) => [a.name, a.values])),
    );
    for (const modification of modifications) {
      const { operation, attribute } = modification;
      let incoming = [...attribute.values];
      if (attribute.name.toLowerCase() === 'userpassword' && operation !== 'delete') {
        this.authorizePreEncoded(incoming);
        incoming = incoming.map(encodePassword);
      }
      // A delete names stored values exactly.
      applyModification(next, modification, incoming, (stored, named) => stored === named);
    }
    this.validate(next);
    this.stamp(next, session, false);
    this.entries.set(key, next);
    this.record(key, dn, 'modify', ldifOfModifications(modifications), next);
  }

  public delete(session: Session, dn: string): void {
    const key = normalize(dn);
    this.authorizeWrite(session, key, dn, []);
    const current = this.entries.get(key);
    if (current === undefined) throw new LdapFailure(RESULT.noSuchObject, `The entry '${dn}' does not exist`);
    const policy = parentOf(key) === normalize(PASSWORD_POLICIES) && key !== normalize(PASSWORD_POLICY);
    if (within(key, normalize(CONFIG)) && !policy)
      throw new LdapFailure(
        RESULT.unwillingToPerform,
        'The emulator deletes no configuration entries but password policies',
      );
    if (!policy && !this.allowed(session, key, 'delete'))
      throw new LdapFailure(RESULT.insufficientAccessRights, `Insufficient access rights to delete '${dn}'`);
    if ([...this.entries.keys()].some((other) => other !== key && parentOf(other) === key)) {
      throw new LdapFailure(RESULT.notAllowedOnNonLeaf, `The entry '${dn}' has subordinate entries`);
    }
    this.entries.delete(key);
    this.record(key, dn, 'delete', undefined, current);
  }

  /** allow-pre-encoded-passwords of the Default Password Policy (false by default) governs every writer alike. */
  private authorizePreEncoded(passwords: readonly string[]): void {
    if (!passwords.some((value) => /^\{[A-Za-z0-9-]+\}/.test(value))) return;
    if (
      (
        values(this.entries.get(normalize(PASSWORD_POLICY)), 'ds-cfg-allow-pre-encoded-passwords')[0] ?? 'false'
      ).toLowerCase() === 'true'
    )
      return;
    throw new LdapFailure(
      RESULT.unwillingToPerform,
      'Pre-encoded passwords are not allowed for the password attribute userPassword',
    );
  }

  /** What the configuration and the server reject: values they cannot read. */
  private validate(entry: StoredEntry): void {
    for (const value of values(entry, 'ds-privilege-name')) {
      if (!KNOWN_PRIVILEGES.has(value.trim().toLowerCase()))
        throw new LdapFailure(RESULT.unwillingToPerform, `'${value}' is not a privilege name`);
    }
    for (const name of RESOURCE_LIMITS) {
      for (const value of values(entry, name)) {
        if (!/^-?\d+$/.test(value.trim()))
          throw new LdapFailure(RESULT.invalidAttributeSyntax, `'${value}' is not a valid value for ${name}`);
      }
    }
    for (const value of [...values(entry, 'aci'), ...values(entry, 'ds-cfg-global-aci')]) parseAci(value);
    for (const value of values(entry, 'ds-cfg-changelog-enabled')) {
      if (!['disabled', 'enabled', 'enabled-cookie-mode-only'].includes(value)) {
        throw new LdapFailure(
          RESULT.unwillingToPerform,
          `'${value}' is not a valid value for changelog-enabled: use disabled, enabled or enabled-cookie-mode-only`,
        );
      }
    }
    for (const name of ['ds-cfg-compute-change-number', 'ds-cfg-allow-pre-encoded-passwords', 'ds-cfg-enabled']) {
      for (const value of values(entry, name)) {
        if (!/^(true|false)$/i.test(value))
          throw new LdapFailure(
            RESULT.unwillingToPerform,
            `'${value}' is not a valid value for ${name}: use true or false`,
          );
      }
    }
    const delay = entry.attributes.get('ds-cfg-replication-purge-delay');
    if (delay !== undefined) {
      if (delay.values.length !== 1)
        throw new LdapFailure(RESULT.unwillingToPerform, 'replication-purge-delay takes exactly one value');
      delay.values = [normalizeDuration(delay.values[0] ?? '')];
    }
  }

  private stamp(entry: StoredEntry, session: Session, created: boolean): void {
    const who = session.boundDn === undefined ? '' : (this.entries.get(session.boundDn)?.dn ?? '');
    stampWrite(entry, who, new Date(), created);
  }

  // ------------------------------------------------------------ seed

  private seed(): void {
    const put = (dn: string, attributes: Record<string, readonly string[]>): void => {
      this.entries.set(normalize(dn), makeEntry(dn, attributes));
    };
    put(CONFIG, { objectClass: ['top', 'ds-cfg-root-config'], cn: ['config'] });
    put(ROOT_DNS, {
      objectClass: ['top', 'ds-cfg-root-dn'],
      cn: ['Root DNs'],
      'ds-cfg-default-root-privilege-name': ROOT_PRIVILEGES,
    });
    put(ADMIN_DN, {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'ds-cfg-root-dn-user'],
      cn: ['Directory Manager'],
      sn: ['Manager'],
      userPassword: [encodePassword(this.options.adminPassword)],
      'ds-cfg-alternate-bind-dn': ['cn=Directory Manager'],
    });
    put(ACCESS_CONTROL_HANDLER, {
      objectClass: ['top', 'ds-cfg-access-control-handler', 'ds-cfg-dsee-compat-access-control-handler'],
      cn: ['Access Control Handler'],
      'ds-cfg-enabled': ['true'],
      'ds-cfg-global-aci': [
        '(target="ldap:///")(targetscope="base")(targetattr="objectClass||namingContexts||supportedAuthPasswordSchemes||supportedControl||supportedExtension||supportedFeatures||supportedLDAPVersion||supportedSASLMechanisms||vendorName||vendorVersion||subschemaSubentry")(version 3.0; acl "User-Visible Root DSE Operational Attributes"; allow (read,search,compare) userdn="ldap:///anyone";)',
        '(targetattr="*")(version 3.0; acl "Self entry modification"; allow (write) userdn="ldap:///self";)',
        '(targetattr="*||+")(version 3.0; acl "Self entry read"; allow (read,search,compare) userdn="ldap:///self";)',
      ],
    });
    put('cn=Password Policies,cn=config', { objectClass: ['top', 'ds-cfg-branch'], cn: ['Password Policies'] });
    put(PASSWORD_POLICY, {
      objectClass: ['top', 'ds-cfg-password-policy'],
      cn: ['Default Password Policy'],
      'ds-cfg-allow-pre-encoded-passwords': ['false'],
    });
    put('cn=Synchronization Providers,cn=config', {
      objectClass: ['top', 'ds-cfg-branch'],
      cn: ['Synchronization Providers'],
    });
    put(PROVIDER, {
      objectClass: ['top', 'ds-cfg-synchronization-provider', 'ds-cfg-replication-synchronization-provider'],
      cn: ['Multimaster Synchronization'],
      'ds-cfg-enabled': ['true'],
    });
    if (this.options.replicationServer) {
      const pingds = this.options.flavor === 'pingds';
      put(REPLICATION_SERVER, {
        objectClass: ['top', 'ds-cfg-replication-server'],
        cn: ['replication server'],
        'ds-cfg-replication-port': ['8989'],
        'ds-cfg-replication-purge-delay': ['3 d'],
        ...(pingds
          ? { 'ds-cfg-changelog-enabled': [this.options.changelogMode] }
          : { 'ds-cfg-compute-change-number': ['true'] }),
      });
      put(DOMAINS, { objectClass: ['top', 'ds-cfg-branch'], cn: ['domains'] });
      put(DOMAIN, {
        objectClass: ['top', 'ds-cfg-replication-domain'],
        cn: [DATA_SUFFIX],
        'ds-cfg-base-dn': [DATA_SUFFIX],
        'ds-cfg-server-id': ['1'],
      });
      if (!pingds)
        put(EXTERNAL_DOMAIN, {
          objectClass: ['top', 'ds-cfg-external-changelog-domain'],
          cn: ['external changelog'],
          'ds-cfg-enabled': ['true'],
        });
    }
    put(DATA_SUFFIX, { objectClass: ['top', 'domain'], dc: ['example'], entryUUID: [randomUUID()] });
    put(`ou=People,${DATA_SUFFIX}`, {
      objectClass: ['top', 'organizationalUnit'],
      ou: ['People'],
      entryUUID: [randomUUID()],
    });
    put(DATA_ADMIN_DN, {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
      uid: ['data-admin'],
      cn: ['Data Admin'],
      sn: ['Admin'],
      userPassword: [encodePassword(DATA_ADMIN_PASSWORD)],
      entryUUID: [randomUUID()],
      'ds-privilege-name': ['bypass-acl', 'modify-acl', 'password-reset', 'privilege-change', 'unindexed-search'],
    });
  }
}

// ---------------------------------------------------------------- helpers

export function normalizeDuration(text: string): string {
  const match = /^\s*(\d+)\s*([a-z]+)\s*$/i.exec(text);
  const unit = match === null ? undefined : DURATION_UNITS[(match[2] ?? '').toLowerCase()];
  if (match === null || unit === undefined)
    throw new LdapFailure(
      RESULT.unwillingToPerform,
      `'${text}' is not a valid duration: use a number and a unit such as '3 d'`,
    );
  return `${Number(match[1])} ${unit[0]}`;
}

function durationSeconds(text: string): number {
  const match = /^\s*(\d+)\s*([a-z]+)\s*$/i.exec(text);
  return Number(match?.[1] ?? 0) * (DURATION_UNITS[(match?.[2] ?? 's').toLowerCase()]?.[1] ?? 1);
}

function encodePassword(clear: string): string {
  if (/^\{[A-Za-z0-9-]+\}/.test(clear)) return clear;
  const salt = randomBytes(8);
  const digest = createHash('sha256').update(clear, 'utf8').update(salt).digest();
  return `{SSHA256}${Buffer.concat([digest, salt]).toString('base64')}`;
}

function passwordMatches(stored: string, clear: string): boolean {
  const scheme = /^\{(SSHA256|SSHA)\}/.exec(stored)?.[1];
  if (scheme === undefined) return stored === clear;
  const raw = Buffer.from(stored.slice(scheme.length + 2), 'base64');
  const size = scheme === 'SSHA' ? 20 : 32;
  const candidate = createHash(scheme === 'SSHA' ? 'sha1' : 'sha256')
    .update(clear, 'utf8')
    .update(raw.subarray(size))
    .digest();
  return raw.length > size && timingSafeEqual(candidate, raw.subarray(0, size));
}

/** The root DSE's attributes are all operational: none is returned for `*`. */
function select(entry: StoredEntry, requested: readonly string[]): SearchResultEntry {
  return selectAttributes(entry, requested, (name) => OPERATIONAL.has(name) || entry.dn === '');
}
