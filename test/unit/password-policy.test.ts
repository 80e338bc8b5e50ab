// The sync account and the server's password policy (issue 22), pure: the response control's BER, the words for
// each state, the sync user step for a stuck account, and each family's password policy step.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePasswordPolicyResponse } from '../../src/ldap/directory.js';
import { accountStateProblem, ResultCode } from '../../src/model/errors.js';
import type { PrepareTarget, SyncAccountFacts } from '../../src/model/plan.js';
import { planSyncUser } from '../../src/core/plan.js';
import { Ds389Profile } from '../../src/servers/ds389.js';
import { NEVER_EXPIRES, plan389PasswordPolicy, userPolicyDn } from '../../src/servers/ds389-pwpolicy.js';
import { planOpenLdapPasswordPolicy, syncPolicyDn } from '../../src/servers/openldap-pwpolicy.js';
import { planAdPasswordSettings, psoContainerDn, psoDn } from '../../src/servers/ad/password-settings.js';
import {
  DEFAULT_PASSWORD_POLICY_DN,
  planPingPasswordPolicy,
  planPingPasswordPolicyRemoval,
  ROOT_PASSWORD_POLICY_DN,
  syncPolicyDn as syncPingPolicyDn,
} from '../../src/servers/pingdirectory-pwpolicy.js';
import { entry, observation, rejects } from '../helpers/planning.js';

const BASE = 'dc=example,dc=com';
const SYNC = `cn=Sync User,ou=People,${BASE}`;
const target: PrepareTarget = {
  baseDns: [BASE],
  roles: { source: false, destination: true },
  syncUserDn: SYNC,
  changelogMaxAgeSeconds: 172800,
  inheritDefaultRootPrivileges: false,
};
const existing: SyncAccountFacts = { created: false, passwordReset: false };

describe('the password policy response control (draft-behera 6.2)', () => {
  test('warning timeBeforeExpiration, warning graceAuthNsRemaining, each error', () => {
    assert.deepEqual(parsePasswordPolicyResponse(Buffer.from([0x30, 0x05, 0xa0, 0x03, 0x80, 0x01, 0x3c])), {
      timeBeforeExpiration: 60,
    });
    assert.deepEqual(parsePasswordPolicyResponse(Buffer.from([0x30, 0x05, 0xa0, 0x03, 0x81, 0x01, 0x02])), {
      graceAuthNsRemaining: 2,
    });
    for (const error of [0, 1, 2])
      assert.deepEqual(parsePasswordPolicyResponse(Buffer.from([0x30, 0x03, 0x81, 0x01, error])), { error });
    assert.deepEqual(parsePasswordPolicyResponse(Buffer.from([0x30, 0x00])), {});
    assert.deepEqual(parsePasswordPolicyResponse(Buffer.from([0x04, 0x00])), {}, 'not a SEQUENCE: nothing said');
  });

  test('each state named, the worst first; nothing to say is undefined', () => {
    assert.match(accountStateProblem({ locked: true, mustChange: true }) ?? '', /locked/);
    assert.match(accountStateProblem({ mustChange: true }) ?? '', /must be changed/);
    assert.match(accountStateProblem({ expired: true }) ?? '', /has expired/);
    assert.match(accountStateProblem({ graceLoginsLeft: 2 }) ?? '', /2 grace binds left/);
    assert.match(accountStateProblem({ expiresInSeconds: 86399 }) ?? '', /expires in 86399 seconds/);
    assert.equal(accountStateProblem({}), undefined);
    assert.equal(accountStateProblem(undefined), undefined);
  });
});

describe('the sync user step for an account stuck in its password policy', () => {
  const profile = new Ds389Profile('389ds', '389 Directory Server');
  const seen = observation([entry(SYNC, { objectClass: ['inetOrgPerson'] }), entry(`ou=People,${BASE}`)]);

  test('locked, refused: unchanged (the password policy step clears it), not "does not accept the password"', () => {
    const step = planSyncUser(profile, target, seen, {
      password: 'p',
      canBind: false,
      resetPassword: false,
      accountState: { locked: true },
    });
    assert.equal(step.status, 'unchanged');
    assert.match(step.detail ?? '', /locked.*cleared by the password policy step/);
  });

  test('must change, bound: unchanged with the state said; with --resetSyncServerBindPassword: reset', () => {
    const facts = { password: 'p', canBind: true, resetPassword: false, accountState: { mustChange: true } };
    assert.match(planSyncUser(profile, target, seen, facts).detail ?? '', /must be changed/);
    assert.equal(planSyncUser(profile, target, seen, { ...facts, resetPassword: true }).status, 'updated');
  });

  test('refused without any policy state: still a wrong password (49)', () => {
    rejects(
      () => planSyncUser(profile, target, seen, { password: 'p', canBind: false, resetPassword: false }),
      ResultCode.INVALID_CREDENTIALS,
    );
  });
});

describe('389 DS: a user-level local policy of its own', () => {
  test('fresh server: the switch said before it is written, container, policy, pointer and the far expiration date', () => {
    const [step] = plan389PasswordPolicy(
      target,
      observation([entry('cn=config', { 'nsslapd-pwpolicy-local': ['off'] })]),
      { created: true, passwordReset: false },
    );
    assert.ok(step);
    assert.match(step.cautions?.[0] ?? '', /nsslapd-pwpolicy-local is 'off'.*turns it on \(server-wide\)/);
    assert.deepEqual(
      step.changes.map((c) => `${c.kind} ${c.dn}`),
      [
        'modify cn=config',
        `add cn=nsPwPolicyContainer,ou=People,${BASE}`,
        `add ${userPolicyDn(SYNC)}`,
        `modify ${SYNC}`,
      ],
    );
    assert.equal(
      userPolicyDn(SYNC),
      'cn=cn\\3DnsPwPolicyEntry_user\\2Ccn\\3DSync User\\2Cou\\3DPeople\\2Cdc\\3Dexample\\2Cdc\\3Dcom,cn=nsPwPolicyContainer,ou=People,dc=example,dc=com',
      'the DN dsconf localpwp adduser makes',
    );
  });

  test('a locked, must-change account of an earlier run: its state cleared; all in place: unchanged', () => {
    const policy = entry(userPolicyDn(SYNC), {
      objectClass: ['passwordpolicy'],
      passwordMustChange: ['off'],
      passwordExp: ['off'],
      passwordLockout: ['off'],
    });
    const config = entry('cn=config', { 'nsslapd-pwpolicy-local': ['on'] });
    const container = entry(`cn=nsPwPolicyContainer,ou=People,${BASE}`);
    const stuck = entry(SYNC, {
      passwordExpirationTime: ['19700101000000Z'],
      accountUnlockTime: ['20991231000000Z'],
      passwordRetryCount: ['3'],
    });
    const [step] = plan389PasswordPolicy(target, observation([config, container, policy, stuck]), existing);
    const modifications = step?.changes[0]?.kind === 'modify' ? step.changes[0].modifications : [];
    assert.deepEqual(
      modifications.map((m) => `${m.attribute}=${m.values.join()}`),
      [
        `pwdpolicysubentry=${userPolicyDn(SYNC)}`,
        `passwordExpirationTime=${NEVER_EXPIRES}`,
        'accountUnlockTime=',
        'passwordRetryCount=0',
      ],
    );
    const settled = entry(SYNC, {
      pwdpolicysubentry: [userPolicyDn(SYNC)],
      passwordExpirationTime: [NEVER_EXPIRES],
    });
    assert.equal(
      plan389PasswordPolicy(target, observation([config, container, policy, settled]), existing)[0]?.status,
      'unchanged',
    );
  });
});

describe('OpenLDAP: a pwdPolicy entry of its own', () => {
  test('no ppolicy overlay: nothing to do', () => {
    assert.equal(planOpenLdapPasswordPolicy(target, observation([]), existing, undefined)[0]?.status, 'unchanged');
  });

  test('with the overlay: the policy entry, the pointer, and the lock and pwdReset cleared', () => {
    const stuck = entry(SYNC, { pwdAccountLockedTime: ['20261208012026Z'], pwdReset: ['TRUE'] });
    const [step] = planOpenLdapPasswordPolicy(target, observation([stuck]), existing, 'olcOverlay={0}ppolicy,x');
    assert.equal(syncPolicyDn(SYNC), `cn=prepare-endpoint-server sync account policy,ou=People,${BASE}`);
    const add = step?.changes[0];
    assert.equal(add?.kind, 'add');
    assert.deepEqual(add?.kind === 'add' ? add.attributes['pwdMaxAge'] : [], ['0']);
    const modify = step?.changes[1];
    assert.deepEqual(modify?.kind === 'modify' ? modify.modifications.map((m) => m.attribute) : [], [
      'pwdPolicySubentry',
      'pwdReset',
      'pwdAccountLockedTime',
    ]);
  });
});

describe('Active Directory: a PSO of its own', () => {
  const NC = 'DC=example,DC=com';
  const adTarget = { ...target, baseDns: [NC], syncUserDn: `CN=Sync User,CN=Users,${NC}` };

  test('no Password Settings Container: a warning naming the domain lockout threshold, nothing written', () => {
    const [step] = planAdPasswordSettings(
      adTarget,
      observation([entry(NC, { lockoutThreshold: ['3'] })]),
      existing,
      NC,
    );
    assert.equal(step?.status, 'warning');
    assert.deepEqual(step?.changes, []);
    assert.match(step?.warnings[0] ?? '', /lockoutThreshold 3.*3 wrong binds/);
  });

  test('with the container: the PSO (lockout 0, never expires) applied to the account; a lock and pwdLastSet=0 cleared', () => {
    const account = entry(adTarget.syncUserDn, { lockoutTime: ['133000000000000000'], pwdLastSet: ['0'] });
    const [step] = planAdPasswordSettings(
      adTarget,
      observation([entry(NC, { minPwdLength: ['7'] }), entry(psoContainerDn(NC)), account]),
      existing,
      NC,
    );
    const add = step?.changes[0];
    assert.equal(add?.dn, psoDn(NC));
    assert.deepEqual(add?.kind === 'add' ? add.attributes['msDS-LockoutThreshold'] : [], ['0']);
    assert.deepEqual(add?.kind === 'add' ? add.attributes['msDS-PSOAppliesTo'] : [], [adTarget.syncUserDn]);
    const modify = step?.changes[1];
    assert.deepEqual(
      modify?.kind === 'modify' ? modify.modifications.map((m) => `${m.attribute}=${m.values.join()}`) : [],
      ['lockoutTime=0', 'pwdLastSet=-1'],
      'never pwdLastSet=0',
    );
  });
});

describe("PingDirectory / PingDS: a password policy of the sync user's own, named by ds-pwp-password-policy-dn", () => {
  const pingTarget = { ...target, syncUserDn: 'cn=Sync User,cn=Root DNs,cn=config' };
  const own = syncPingPolicyDn(pingTarget.syncUserDn);

  test('absent: the policy is added (no lockout, no max age, no forced change) and the account names it', () => {
    const [step] = planPingPasswordPolicy(
      pingTarget,
      observation([
        entry(pingTarget.syncUserDn, { 'ds-pwp-password-policy-dn': [ROOT_PASSWORD_POLICY_DN] }),
        entry(DEFAULT_PASSWORD_POLICY_DN, { 'ds-cfg-default-password-storage-scheme': ['cn=PBKDF2,cn=x'] }),
      ]),
    );
    assert.equal(step?.status, 'created');
    assert.equal(own, 'cn=Sync User Password Policy (prepare-endpoint-server),cn=Password Policies,cn=config');
    const [add, modify] = step?.changes ?? [];
    assert.equal(add?.kind === 'add' ? add.attributes['ds-cfg-lockout-failure-count']?.[0] : undefined, '0');
    assert.equal(add?.kind === 'add' ? add.attributes['ds-cfg-max-password-age'] : 'not an add', undefined);
    assert.deepEqual(add?.kind === 'add' ? add.attributes['ds-cfg-default-password-storage-scheme'] : [], [
      'cn=PBKDF2,cn=x',
    ]);
    assert.deepEqual(modify, {
      kind: 'modify',
      dn: pingTarget.syncUserDn,
      modifications: [{ operation: 'replace', attribute: 'ds-pwp-password-policy-dn', values: [own] }],
    });
  });

  test('its own policy weakened by someone (lockout 3, max age 90 d): set back; in place: unchanged', () => {
    const named = entry(pingTarget.syncUserDn, { 'ds-pwp-password-policy-dn': [own] });
    const [step] = planPingPasswordPolicy(
      pingTarget,
      observation([
        named,
        entry(own, {
          'ds-cfg-lockout-failure-count': ['3'],
          'ds-cfg-max-password-age': ['90 d'],
          'ds-cfg-force-change-on-add': ['false'],
          'ds-cfg-force-change-on-reset': ['false'],
        }),
      ]),
    );
    assert.equal(step?.status, 'updated');
    assert.match(step?.detail ?? '', /lockout-failure-count 0, max-password-age unset/);
    const exempt = entry(own, {
      'ds-cfg-lockout-failure-count': ['0'],
      'ds-cfg-force-change-on-add': ['false'],
      'ds-cfg-force-change-on-reset': ['false'],
    });
    assert.equal(planPingPasswordPolicy(pingTarget, observation([named, exempt]))[0]?.status, 'unchanged');
  });

  test('--remove: deleted with the account it is named by, kept with a kept account', () => {
    const seen = observation([
      entry(pingTarget.syncUserDn, { 'ds-pwp-password-policy-dn': [own] }),
      entry(own, { cn: ['x'] }),
    ]);
    assert.deepEqual(planPingPasswordPolicyRemoval(pingTarget, seen, false)[0]?.changes, [{ kind: 'delete', dn: own }]);
    assert.deepEqual(planPingPasswordPolicyRemoval(pingTarget, seen, true)[0]?.changes, []);
  });
});
