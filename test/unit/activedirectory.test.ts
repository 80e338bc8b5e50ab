// The Active Directory profile without a server: plans made from descriptors read from a real Samba AD DC
// (test/fixtures/samba-ad/descriptors.json), a pure function of what the admin saw.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import type { Change, Entry } from '../../src/model/entries.js';
import {
  ActiveDirectoryProfile,
  CHANGE_PASSWORD,
  REPLICATING_DIRECTORY_CHANGES,
  RESET_PASSWORD,
  SYNCED_CLASSES,
  samAccountNameFor,
  SD_FLAGS_OID,
  SHOW_DELETED_OID,
} from '../../src/servers/activedirectory.js';
import {
  AccessMask,
  AceFlags,
  AceType,
  decodeSecurityDescriptor,
  describeAce,
  encodeSecurityDescriptor,
  encodeSid,
  findAce,
  withAce,
} from '../../src/servers/ad/security-descriptor.js';
import type { ExistingAccountFacts, Observation, PrepareTarget } from '../../src/model/plan.js';
import { entry, observation as fakeObservation, rejects } from '../helpers/planning.js';

const BASE = 'DC=example,DC=com';
const SYNC_DN = `CN=Sync User,CN=Users,${BASE}`;
const DELETED = `CN=Deleted Objects,${BASE}`;
const SID = 'S-1-5-21-2279243221-4096599812-3722786622-1105';
const fixtures = JSON.parse(
  readFileSync(path.join(repoRoot, 'test', 'fixtures', 'samba-ad', 'descriptors.json'), 'utf8'),
) as {
  descriptors: Array<{ dn: string; sdFlags: number; base64: string }>;
};
const DOMAIN_DACL = fixtures.descriptors.find((f) => f.dn === BASE && f.sdFlags === 4)!.base64;
const rootDse: Entry = {
  dn: '',
  attributes: new Map([
    ['defaultnamingcontext', [BASE]],
    ['namingcontexts', [BASE, `CN=Configuration,${BASE}`, `CN=Schema,CN=Configuration,${BASE}`]],
    ['supportedcapabilities', ['1.2.840.113556.1.4.800']],
  ]),
};
const profile = new ActiveDirectoryProfile(rootDse);

function observation(entries: Entry[]): Observation {
  return fakeObservation(entries, { rootDse });
}

function target(roles: { source: boolean; destination: boolean }, extra: Partial<PrepareTarget> = {}): PrepareTarget {
  return {
    baseDns: [BASE],
    roles,
    syncUserDn: SYNC_DN,
    changelogMaxAgeSeconds: 172800,
    inheritDefaultRootPrivileges: false,
    ...extra,
  };
}

const syncUser = entry(SYNC_DN, {
  objectClass: ['top', 'person', 'organizationalPerson', 'user'],
  objectSid: [Buffer.from(encodeSid(SID)).toString('base64')],
});
function attributesOf(e: Entry): Record<string, string[]> {
  return Object.fromEntries([...e.attributes].map(([name, values]) => [name, [...values]]));
}

// Deleted Objects as its owner sees it after taking ownership: SYSTEM full, BA list+read
const DELETED_SD =
  'AQAElBQAAAAAAAAAAAAAACQAAAABAgAAAAAABSAAAAAgAgAABAA0AAIAAAAAABQAPwAPAAEBAAAAAAAFEgAAAAAAGAAUAAAAAQIAAAAAAAUgAAAAIAIAAA==';

function descriptorOf(change: Change | undefined): ReturnType<typeof decodeSecurityDescriptor> {
  assert.ok(change?.kind === 'modify');
  return decodeSecurityDescriptor(Buffer.from(change.modifications[0]!.values[0]!, 'base64'));
}

function firstValueOf(change: Change | undefined): string {
  assert.ok(change?.kind === 'modify');
  return change.modifications[0]!.values[0]!;
}

describe('Active Directory profile', () => {
  test("sync user under CN=Users of the default naming context, or of the base DN's domain", () => {
    assert.equal(profile.defaultSyncUserDn(['OU=People,DC=example,DC=com']), SYNC_DN);
    assert.equal(
      new ActiveDirectoryProfile().defaultSyncUserDn(['OU=People,DC=corp,DC=example,DC=com']),
      'CN=Sync User,CN=Users,DC=corp,DC=example,DC=com',
    );
  });

  test('the account: enabled, password never expires, sAMAccountName from the CN, password as text', () => {
    const attributes = profile.syncUserEntry(SYNC_DN, 'pw');
    assert.deepEqual(attributes['userAccountControl'], ['66048']);
    assert.deepEqual(attributes['sAMAccountName'], ['SyncUser']);
    assert.deepEqual(attributes['unicodePwd'], ['pw']);
    assert.equal(profile.passwordAttribute, 'unicodePwd');
    assert.equal(samAccountNameFor('CN=A very long name with [odd] chars,DC=x'), 'Averylongnamewithodd');
  });

  test('descriptors are read with the SD flags control; Deleted Objects with show-deleted too', () => {
    const reads = profile.reads(target({ source: true, destination: false }));
    const domain = reads.find((r) => r.dn === BASE)!;
    assert.deepEqual(
      domain.controls?.map((c) => [c.oid, c.value]),
      [[SD_FLAGS_OID, 'MAMCAQQ=']],
    );
    const deleted = reads.find((r) => r.dn === DELETED)!;
    assert.deepEqual(
      deleted.controls?.map((c) => c.oid),
      [SHOW_DELETED_OID, SD_FLAGS_OID],
    );
  });

  test('both roles on the domain root: one write carrying all ACEs, the deny on its own account, then nothing', () => {
    const t = target({ source: true, destination: true });
    const self = entry(SYNC_DN, { ...attributesOf(syncUser), nTSecurityDescriptor: [DOMAIN_DACL] });
    const observed = observation([
      self,
      entry(BASE, { nTSecurityDescriptor: [DOMAIN_DACL] }),
      entry(DELETED, { nTSecurityDescriptor: [DELETED_SD] }),
    ]);
    const steps = profile.planAccess(t, observed);
    assert.deepEqual(
      steps.map((s) => [s.id, s.status]),
      [
        ['ad:protected', 'created'],
        [`ace:${BASE}`, 'updated'],
        [`ace:${DELETED}`, 'updated'],
        ['ad:rights-record', 'created'],
      ],
    );
    const record = steps[3]!.changes[0];
    assert.ok(record?.kind === 'modify');
    assert.deepEqual(record.modifications[0]!.values[0]!.split('\n'), [
      'prepare-endpoint-server: ACEs for this account on:',
      DELETED,
      BASE,
    ]);
    const change = steps[1]!.changes[0];
    assert.ok(change?.kind === 'modify');
    assert.deepEqual(
      change.controls?.map((c) => c.oid),
      [SD_FLAGS_OID],
    );
    const sd = descriptorOf(change);
    assert.equal(sd.owner, undefined, 'DACL only: owner untouched');
    assert.equal(sd.dacl?.aces.length, 46 + 1 + 17);
    assert.ok(
      findAce(sd.dacl, {
        type: AceType.ACCESS_ALLOWED_OBJECT,
        flags: 0,
        mask: 0x100,
        sid: SID,
        objectType: REPLICATING_DIRECTORY_CHANGES,
      }),
    );
    const ownDeny = descriptorOf(steps[0]!.changes[0]).dacl?.aces[0];
    assert.deepEqual(
      [ownDeny?.type, ownDeny?.sid, ownDeny?.flags],
      [AceType.ACCESS_DENIED, SID, 0],
      'the deny comes first',
    );

    const after = observation([
      entry(SYNC_DN, {
        ...attributesOf(syncUser),
        nTSecurityDescriptor: [firstValueOf(steps[0]!.changes[0])],
        info: [firstValueOf(record)],
      }),
      entry(BASE, { nTSecurityDescriptor: [change.modifications[0]!.values[0]!] }),
      entry(DELETED, { nTSecurityDescriptor: [firstValueOf(steps[2]!.changes[0])] }),
    ]);
    assert.deepEqual(
      profile.planAccess(t, after).map((s) => s.status),
      ['unchanged', 'unchanged', 'unchanged', 'unchanged'],
    );
    const removal = profile.planRemoval(t, after);
    assert.deepEqual(
      removal.map((s) => s.status),
      ['updated', 'updated', 'updated', 'unchanged'],
      'the ACEs taken away; no PSO of its own to delete',
    );
    assert.equal(descriptorOf(removal[0]!.changes[0]).dacl?.aces.length, 46);
  });

  test('destination ACEs: nothing that changes access control, no replication or blanket extended right, only create and read on the base itself', () => {
    const t = target({ source: false, destination: true });
    const self = entry(SYNC_DN, { ...attributesOf(syncUser), nTSecurityDescriptor: [DOMAIN_DACL] });
    const step = profile
      .planAccess(t, observation([self, entry(BASE, { nTSecurityDescriptor: [DOMAIN_DACL] })]))
      .find((s) => s.id === `ace:${BASE}`);
    const ours = (descriptorOf(step!.changes[0]).dacl?.aces ?? []).filter((ace) => ace.sid === SID);
    assert.equal(ours.length, 17);
    for (const ace of ours) {
      const allow = ace.type === AceType.ACCESS_ALLOWED || ace.type === AceType.ACCESS_ALLOWED_OBJECT;
      if (!allow) continue;
      assert.equal(
        ace.mask & (AccessMask.WRITE_DAC | AccessMask.WRITE_OWNER | 0x10000000),
        0,
        `no WD, WO or GA: ${describeAce(ace)}`,
      );
      if ((ace.mask & AccessMask.CONTROL_ACCESS) !== 0) {
        assert.ok(
          [RESET_PASSWORD, CHANGE_PASSWORD].includes(ace.objectType ?? ''),
          `only the password rights: ${describeAce(ace)}`,
        );
      }
      if ((ace.flags & AceFlags.INHERIT_ONLY) === 0) {
        assert.equal(
          ace.mask &
            ~(
              AccessMask.CREATE_CHILD |
              AccessMask.LIST_CHILDREN |
              AccessMask.READ_PROPERTY |
              AccessMask.LIST_OBJECT |
              AccessMask.READ_CONTROL
            ),
          0,
          `on the base itself only create and read: ${describeAce(ace)}`,
        );
      }
      if ((ace.mask & (AccessMask.WRITE_PROPERTY | AccessMask.DELETE)) !== 0) {
        assert.ok(
          Object.values(SYNCED_CLASSES).includes(ace.inheritedObjectType as never),
          `writes only on the synced classes: ${describeAce(ace)}`,
        );
      }
    }
  });

  test('the broad destination ACE of earlier versions is removed by a re-run; the source ACE stays', () => {
    const t = target({ source: false, destination: true });
    const legacy = { type: AceType.ACCESS_ALLOWED, flags: AceFlags.CONTAINER_INHERIT, mask: 0x301ff, sid: SID };
    const domain = decodeSecurityDescriptor(Buffer.from(DOMAIN_DACL, 'base64'));
    const getChanges = {
      type: AceType.ACCESS_ALLOWED_OBJECT,
      flags: 0,
      mask: 0x100,
      sid: SID,
      objectType: REPLICATING_DIRECTORY_CHANGES,
    };
    const before = Buffer.from(
      encodeSecurityDescriptor({ ...domain, dacl: withAce(withAce(domain.dacl, legacy), getChanges) }),
    ).toString('base64');
    const self = entry(SYNC_DN, { ...attributesOf(syncUser), nTSecurityDescriptor: [DOMAIN_DACL] });
    const step = profile
      .planAccess(t, observation([self, entry(BASE, { nTSecurityDescriptor: [before] })]))
      .find((s) => s.id === `ace:${BASE}`);
    assert.equal(step!.status, 'updated');
    assert.match(step!.detail ?? '', /broad destination ACE of an earlier version removed/);
    const aces = descriptorOf(step!.changes[0]).dacl?.aces ?? [];
    assert.ok(!aces.some((ace) => ace.sid === SID && ace.mask === 0x301ff), 'legacy ACE gone');
    assert.ok(findAce({ revision: 4, aces }, getChanges), "the source right is not this run's to take");
  });

  test('protected objects found below a destination base get a deny ACE first in their DACL; --remove takes it away', () => {
    const t = target({ source: false, destination: true });
    const admins = entry(`CN=Domain Admins,CN=Users,${BASE}`, { nTSecurityDescriptor: [DOMAIN_DACL] });
    const observed = fakeObservation([syncUser, entry(BASE, { nTSecurityDescriptor: [DOMAIN_DACL] })], {
      rootDse,
      found: { 'protected:0': [admins] },
    });
    const search = profile.searches(t).find((request) => request.key === 'protected:0')!;
    assert.match(search.filter, /\(adminCount=1\)/);
    assert.match(search.filter, /memberOf:1\.2\.840\.113556\.1\.4\.1941:=<SID=S-1-5-32-544>/);
    const step = profile.planAccess(t, observed).find((s) => s.id === 'ad:protected')!;
    assert.equal(step.changes.length, 1);
    const first = descriptorOf(step.changes[0]).dacl?.aces[0];
    assert.equal(first?.type, AceType.ACCESS_DENIED);
    assert.equal(first?.sid, SID);
    for (const bit of [
      AccessMask.WRITE_PROPERTY,
      AccessMask.SELF_WRITE,
      AccessMask.CONTROL_ACCESS,
      AccessMask.DELETE,
      AccessMask.WRITE_DAC,
      AccessMask.WRITE_OWNER,
    ]) {
      assert.notEqual((first?.mask ?? 0) & bit, 0, `denies 0x${bit.toString(16)}`);
    }
    const denied = fakeObservation([syncUser, entry(BASE, { nTSecurityDescriptor: [DOMAIN_DACL] })], {
      rootDse,
      found: { 'protected:0': [entry(admins.dn, { nTSecurityDescriptor: [firstValueOf(step.changes[0])] })] },
    });
    const removal = profile.planRemoval(target({ source: true, destination: true }), denied);
    const cleaned = removal.find((s) => s.id === `ace:${admins.dn}`)!;
    assert.equal(cleaned.status, 'updated');
    assert.ok(!(descriptorOf(cleaned.changes[0]).dacl?.aces ?? []).some((ace) => ace.sid === SID));
  });

  test('an unreadable CN=Deleted Objects DACL: take ownership first', () => {
    const steps = profile.planPrerequisites(
      target({ source: true, destination: false }),
      observation([syncUser, entry(DELETED, { objectClass: ['container'] })]),
    );
    assert.equal(steps.length, 1);
    const change = steps[0]!.changes[0];
    assert.ok(change?.kind === 'modify');
    assert.deepEqual(
      change.controls?.map((c) => [c.oid, c.value ?? '']),
      [
        [SHOW_DELETED_OID, ''],
        [SD_FLAGS_OID, 'MAMCAQE='],
      ],
    );
    assert.equal(descriptorOf(change).owner, 'S-1-5-32-544');
  });

  test('a new account in a dry run: the rights are announced without a SID to name', () => {
    const steps = profile.planAccess(
      target({ source: true, destination: false }),
      observation([entry(BASE, { nTSecurityDescriptor: [DOMAIN_DACL] })]),
    );
    assert.ok(
      steps.every((s) => s.status === 'created' && (s.changes.length === 0 || s.id === 'ad:rights-record')),
      JSON.stringify(steps),
    );
  });

  test('--adAdministratorsGroup: membership, no ACE; present membership is left alone', () => {
    const t = target({ source: true, destination: true }, { adAdministratorsGroup: true });
    const group = `CN=Administrators,CN=Builtin,${BASE}`;
    const steps = profile.planAccess(
      t,
      observation([syncUser, entry(group, { member: [`CN=Administrator,CN=Users,${BASE}`] })]),
    );
    assert.deepEqual(
      steps.map((s) => [s.id, s.status]),
      [['ad:administrators', 'updated']],
    );
    assert.deepEqual(
      profile
        .planAccess(t, observation([syncUser, entry(group, { member: [SYNC_DN.toLowerCase()] })]))
        .map((s) => s.status),
      ['unchanged'],
    );
  });
});

describe('Active Directory: which accounts and base DNs a run works with (vetTarget)', () => {
  const facts: ExistingAccountFacts = { canBind: false, resetPassword: true, removing: false };
  const account = (attributes: Record<string, string[]>, rid = 1105): Entry =>
    entry(SYNC_DN, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      objectSid: [Buffer.from(encodeSid(`S-1-5-21-1-2-3-${rid}`)).toString('base64')],
      userAccountControl: ['512'],
      ...attributes,
    });
  const vet = (
    e: Entry | undefined,
    extra: Partial<ExistingAccountFacts> = {},
    found: Record<string, Entry[]> = {},
  ): string[] =>
    profile.vetTarget(
      target({ source: true, destination: true }),
      fakeObservation(e === undefined ? [] : [e], { rootDse, found }),
      { ...facts, ...extra },
    );

  test('computers, domain controllers and trusts are refused before any write, even with --resetSyncServerBindPassword', () => {
    rejects(
      () =>
        vet(
          account({
            objectClass: ['top', 'person', 'organizationalPerson', 'user', 'computer'],
            userAccountControl: ['4096'],
          }),
        ),
      53,
    );
    rejects(() => vet(account({ userAccountControl: ['8192'] })), 53);
    rejects(() => vet(account({ userAccountControl: ['2048'] })), 53);
  });

  test('built-in (RID below 1000: Administrator, krbtgt) and protected (adminCount=1) accounts are refused; an account this tool made keeps working', () => {
    assert.match(rejects(() => vet(account({}, 502)), 53).message, /krbtgt/);
    assert.match(rejects(() => vet(account({}, 500)), 53).message, /Administrator/);
    assert.match(rejects(() => vet(account({ adminCount: ['1'] })), 53).message, /adminCount=1/);
    assert.deepEqual(
      vet(
        account({
          adminCount: ['1'],
          description: ['Account used by the synchronization server (created by prepare-endpoint-server)'],
        }),
        { canBind: true },
      ),
      [],
    );
    rejects(() => vet(account({ objectClass: ['top', 'person', 'organizationalPerson', 'contact'] })), 53);
  });

  test('an existing account that does not take the password: what is wrong with it, never a blind reset', () => {
    assert.match(rejects(() => vet(account({ userAccountControl: ['514'] })), 49).message, /is disabled/);
    assert.match(rejects(() => vet(account({ lockoutTime: ['133000000000000000'] })), 49).message, /locked out/);
    assert.match(rejects(() => vet(account({ pwdLastSet: ['0'] })), 49).message, /must change its password/);
    assert.match(
      rejects(
        () =>
          vet(account({}), {
            bindDiagnostic: '80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563',
          }),
        49,
      ).message,
      /locked out \(the server said: data 775\)/,
    );
    assert.deepEqual(
      vet(account({}), { bindDiagnostic: 'AcceptSecurityContext error, data 52e' }),
      [],
      "a wrong password is the core's 49 (or a reset)",
    );
  });

  test('risky userAccountControl flags are warned about, never changed', () => {
    const warnings = vet(account({ userAccountControl: [String(0x200 | 0x400000 | 0x80000)] }), { canBind: true });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /TRUSTED_FOR_DELEGATION, DONT_REQ_PREAUTH/);
  });

  test('a base DN outside the domain partition is refused (89); a taken sAMAccountName is 68 naming its holder', () => {
    const configuration = { ...target({ source: true, destination: true }), baseDns: [`CN=Configuration,${BASE}`] };
    rejects(() => profile.vetTarget(configuration, fakeObservation([], { rootDse }), facts), 89);
    const holder = entry(`CN=Someone Else,CN=Users,${BASE}`, { sAMAccountName: ['SyncUser'] });
    assert.match(rejects(() => vet(undefined, {}, { 'sam-account-name': [holder] }), 68).message, /CN=Someone Else/);
  });

  test('a dry run plans the CN=Deleted Objects grant the real run makes after taking ownership', () => {
    const t = { ...target({ source: true, destination: false }), dryRun: true };
    const steps = profile.planAccess(
      t,
      observation([
        syncUser,
        entry(BASE, { nTSecurityDescriptor: [DOMAIN_DACL] }),
        entry(DELETED, { objectClass: ['container'] }),
      ]),
    );
    const deleted = steps.find((s) => s.id === `ace:${DELETED}`)!;
    assert.equal(deleted.status, 'updated');
    assert.deepEqual(deleted.warnings, []);
    assert.match(deleted.detail ?? '', /once the ownership planned above is taken/);
  });

  test('a source-only run says which destination rights an earlier run left, and keeps them', () => {
    const dest = profile.planAccess(
      target({ source: false, destination: true }),
      observation([syncUser, entry(BASE, { nTSecurityDescriptor: [DOMAIN_DACL] })]),
    );
    const granted = firstValueOf(dest.find((s) => s.id === `ace:${BASE}`)!.changes[0]);
    const later = profile.planAccess(
      target({ source: true, destination: false }),
      observation([
        syncUser,
        entry(BASE, { nTSecurityDescriptor: [granted] }),
        entry(DELETED, { nTSecurityDescriptor: [DELETED_SD] }),
      ]),
    );
    const leftover = later.find((s) => s.id === 'ad:other-role');
    assert.ok(leftover);
    assert.match(leftover.warnings[0]!, /still holds destination rights on 'DC=example,DC=com'/);
    const domainWrite = later.find((s) => s.id === `ace:${BASE}`)!.changes[0];
    assert.equal(
      (descriptorOf(domainWrite).dacl?.aces ?? []).filter((a) => a.sid === SID).length,
      17 + 1,
      'the 17 destination ACEs stay, the DirSync one is added',
    );
  });
});

describe('Active Directory --remove takes away only what this tool writes', () => {
  test("an ACE an administrator gave the same account stays; the tool's ACEs go", () => {
    const t = target({ source: true, destination: true });
    const domain = decodeSecurityDescriptor(Buffer.from(DOMAIN_DACL, 'base64'));
    const getChanges = {
      type: AceType.ACCESS_ALLOWED_OBJECT,
      flags: 0,
      mask: AccessMask.CONTROL_ACCESS,
      sid: SID,
      objectType: REPLICATING_DIRECTORY_CHANGES,
    };
    const foreign = {
      type: AceType.ACCESS_ALLOWED,
      flags: 0,
      mask: AccessMask.READ_PROPERTY | AccessMask.WRITE_PROPERTY,
      sid: SID,
    };
    const both = Buffer.from(
      encodeSecurityDescriptor({ ...domain, dacl: withAce(withAce(domain.dacl, getChanges), foreign) }),
    ).toString('base64');
    const removal = profile.planRemoval(t, observation([syncUser, entry(BASE, { nTSecurityDescriptor: [both] })]));
    const aces = descriptorOf(removal.find((s) => s.id === `ace:${BASE}`)!.changes[0]).dacl?.aces ?? [];
    assert.ok(
      !aces.some((ace) => ace.sid === SID && ace.objectType === REPLICATING_DIRECTORY_CHANGES),
      'the DirSync ACE went',
    );
    assert.ok(
      aces.some((ace) => ace.sid === SID && ace.mask === foreign.mask),
      "the administrator's ACE stayed",
    );
  });
});

describe("Active Directory: the rights record never overwrites someone's notes", () => {
  test('an info text not written by this tool is kept, with a warning', () => {
    const t = target({ source: false, destination: true });
    const self = entry(SYNC_DN, {
      ...attributesOf(syncUser),
      nTSecurityDescriptor: [DOMAIN_DACL],
      info: ['Owned by the identity team, ticket 42'],
    });
    const record = profile
      .planAccess(t, observation([self, entry(BASE, { nTSecurityDescriptor: [DOMAIN_DACL] })]))
      .find((s) => s.id === 'ad:rights-record')!;
    assert.equal(record.status, 'warning');
    assert.deepEqual(record.changes, []);
    assert.match(record.warnings[0]!, /give --remove every --baseDN/);
  });
});
