// The OpenLDAP profile without a server: the olcAccess rule builder and reader, the accesslog purge
// conversion, and the plans made from a fake cn=config (a pure function of what the admin saw).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAccessLogPurge, parseDuration, parseServerDuration } from '../../src/formats/duration.js';
import { normalizeDn } from '../../src/formats/dn.js';
import { ResultCode } from '../../src/model/errors.js';
import type { Change, Entry, Modification } from '../../src/model/entries.js';
import {
  ACCESSLOG_SUFFIX,
  accesslogAccessRule,
  dataAccessRule,
  findDataRules,
  OpenLdapProfile,
  splitOrdered,
} from '../../src/servers/openldap.js';
import type { Observation, PlannedStep, PrepareTarget } from '../../src/model/plan.js';
import { entry, rejects } from '../helpers/planning.js';

const BASE = 'dc=example,dc=com';
const SYNC_DN = 'cn=Sync User,dc=example,dc=com';
const DATA_DB = 'olcDatabase={1}mdb,cn=config';
const LOG_DB = 'olcDatabase={2}mdb,cn=config';
const MODULES = 'cn=module{0},cn=config';
const HOUR = 3600;
const DAY = 86_400;
const profile = new OpenLdapProfile();

/** The harness's third-party rules (test/servers/slapd.sh), in their order. */
const THIRD_PARTY = [
  '{0}to * by dn.exact="gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth" manage by * break',
  '{1}to * by dn.exact="cn=limited,dc=example,dc=com" write by * break',
  '{2}to attrs=userPassword by self write by anonymous auth by * none',
  '{3}to * by * read',
];

function dataDb(olcAccess: string[] = THIRD_PARTY, suffix = BASE, dn = DATA_DB): Entry {
  return entry(dn, {
    objectClass: ['olcDatabaseConfig', 'olcMdbConfig'],
    olcDatabase: ['{1}mdb'],
    olcSuffix: [suffix],
    olcAccess: olcAccess,
  });
}

function logDb(olcAccess: string[]): Entry {
  return entry(LOG_DB, {
    objectClass: ['olcDatabaseConfig', 'olcMdbConfig'],
    olcDatabase: ['{2}mdb'],
    olcSuffix: [ACCESSLOG_SUFFIX],
    olcDbDirectory: ['/var/lib/ldap/accesslog'],
    olcAccess: olcAccess,
  });
}

/** A server this version prepared as a source: every setting in place, with `purge` on the overlay. */
function preparedConfig(purge: string): Entry[] {
  const limits = [`{0}dn.exact="${SYNC_DN}" size=unlimited size.prtotal=unlimited time=unlimited`];
  return [
    entry(DATA_DB, {
      ...Object.fromEntries(dataDb().attributes),
      olcdbindex: ['objectClass eq', 'entryCSN,entryUUID eq'],
      olclimits: limits,
    }),
    moduleList('{0}back_mdb', '{1}accesslog', '{2}syncprov'),
    entry(LOG_DB, {
      ...Object.fromEntries(logDb([`{0}${accesslogAccessRule(SYNC_DN, 'none')}`]).attributes),
      olcdbindex: ['default eq', 'entryCSN,objectClass,reqEnd,reqResult,reqStart,reqDN eq'],
      olclimits: limits,
    }),
    entry(`olcOverlay={0}syncprov,${DATA_DB}`, {
      objectClass: ['olcOverlayConfig', 'olcSyncProvConfig'],
      olcOverlay: ['{0}syncprov'],
      olcSpCheckpoint: ['100 10'],
    }),
    entry(`olcOverlay={1}accesslog,${DATA_DB}`, {
      objectClass: ['olcOverlayConfig', 'olcAccessLogConfig'],
      olcOverlay: ['{1}accesslog'],
      olcAccessLogDB: [ACCESSLOG_SUFFIX],
      olcAccessLogOps: ['writes'],
      olcAccessLogSuccess: ['TRUE'],
      olcAccessLogPurge: [purge],
      olcAccessLogOld: ['(objectClass=*)'],
      olcAccessLogOldAttr: ['objectClass', 'entryUUID'],
    }),
    entry(`olcOverlay={0}syncprov,${LOG_DB}`, {
      objectClass: ['olcOverlayConfig', 'olcSyncProvConfig'],
      olcOverlay: ['{0}syncprov'],
      olcSpNoPresent: ['TRUE'],
      olcSpReloadHint: ['TRUE'],
    }),
  ];
}

function moduleList(...loads: string[]): Entry {
  return entry(MODULES, { objectClass: ['olcModuleList'], olcModuleLoad: loads });
}

function overlay(attributes: Record<string, string[]>, parent = DATA_DB): Entry {
  return entry(`olcOverlay={0}accesslog,${parent}`, {
    objectClass: ['olcOverlayConfig', 'olcAccessLogConfig'],
    olcOverlay: ['{0}accesslog'],
    ...attributes,
  });
}

/** A fake Observation whose cn=config search found `config`; the data entries are all there. */
function observe(config: Entry[]): Observation {
  return {
    rootDse: entry(''),
    entry: (dn) => entry(normalizeDn(dn)),
    found: (key) => {
      assert.equal(key, 'openldap:config');
      return config;
    },
  };
}

function target(overrides: Partial<PrepareTarget> = {}): PrepareTarget {
  return {
    baseDns: [BASE],
    roles: { source: true, destination: false },
    syncUserDn: SYNC_DN,
    changelogMaxAgeSeconds: 2 * DAY,
    inheritDefaultRootPrivileges: false,
    accesslogDirectory: '/var/lib/ldap/accesslog',
    ...overrides,
  };
}

function step(steps: readonly PlannedStep[], id: string): PlannedStep {
  const found = steps.find((s) => s.id === id);
  assert.ok(found !== undefined, `no step '${id}' in ${steps.map((s) => s.id).join(', ')}`);
  return found;
}

function modifications(change: Change | undefined): readonly Modification[] {
  assert.ok(change?.kind === 'modify', `a modify: ${JSON.stringify(change)}`);
  return change.modifications;
}

/** The ordered olcAccess values a modify leaves, as slapd applies it: deletes by value, adds at their {n}. */
function applyOlcAccess(values: readonly string[], mods: readonly Modification[]): string[] {
  let texts = values.map((v) => splitOrdered(v).text);
  for (const mod of mods) {
    assert.equal(mod.attribute, 'olcAccess');
    if (mod.operation === 'delete') {
      const gone = new Set(mod.values.map((v) => splitOrdered(v).text));
      texts = texts.filter((t) => !gone.has(t));
    } else if (mod.operation === 'add') {
      for (const value of mod.values) {
        const { index, text } = splitOrdered(value);
        texts.splice(index ?? texts.length, 0, text);
      }
    } else {
      assert.fail(`unexpected ${mod.operation}`);
    }
  }
  return texts.map((t, i) => `{${i}}${t}`);
}

describe('dataAccessRule: the olcAccess rule on a data database', () => {
  test('read for a source, write for a destination, falling through to the rules after it', () => {
    assert.equal(
      dataAccessRule(BASE, SYNC_DN, 'read'),
      'to dn.subtree="dc=example,dc=com" by dn.exact="cn=Sync User,dc=example,dc=com" read by * break',
    );
    assert.equal(
      dataAccessRule(BASE, SYNC_DN, 'write'),
      'to dn.subtree="dc=example,dc=com" by dn.exact="cn=Sync User,dc=example,dc=com" write by * break',
    );
  });

  test('DNs are written in RFC 4514 form (spaces after commas dropped)', () => {
    assert.equal(
      dataAccessRule('dc=example, dc=com', 'cn=Sync User, dc=example, dc=com', 'read'),
      'to dn.subtree="dc=example,dc=com" by dn.exact="cn=Sync User,dc=example,dc=com" read by * break',
    );
  });

  test('a double quote in a DN is written \\22, so it cannot end the quoted value', () => {
    const rule = dataAccessRule(BASE, 'cn=Sync \\"Q\\" User,dc=example,dc=com', 'read');
    assert.equal(
      rule,
      'to dn.subtree="dc=example,dc=com" by dn.exact="cn=Sync \\22Q\\22 User,dc=example,dc=com" read by * break',
    );
    assert.equal((rule.match(/"/g) ?? []).length, 4, 'two quoted values, no stray quote');
    // and the reader still recognizes it as the rule for that user
    assert.equal(findDataRules([`{0}${rule}`], BASE, 'cn=Sync \\"Q\\" User,dc=example,dc=com').length, 1);
  });

  test('an invalid DN is refused rather than written into a rule', () => {
    assert.throws(() => dataAccessRule(BASE, 'not a dn', 'read'));
  });
});

describe('accesslogAccessRule: the olcAccess rule on cn=accesslog', () => {
  test('the sync user reads; everybody else gets none (own database) or falls through (existing one)', () => {
    assert.equal(
      accesslogAccessRule(SYNC_DN, 'none'),
      'to * by dn.exact="cn=Sync User,dc=example,dc=com" read by * none',
    );
    assert.equal(
      accesslogAccessRule(SYNC_DN, 'break'),
      'to * by dn.exact="cn=Sync User,dc=example,dc=com" read by * break',
    );
  });
});

describe('splitOrdered', () => {
  test('{n} prefix and text; no prefix gives no index; multi-line text kept', () => {
    assert.deepEqual(splitOrdered('{3}to * by * read'), { index: 3, text: 'to * by * read' });
    assert.deepEqual(splitOrdered('{12}x'), { index: 12, text: 'x' });
    assert.deepEqual(splitOrdered('to * by * read'), { index: undefined, text: 'to * by * read' });
    assert.deepEqual(splitOrdered('{0}to *\n by * read'), { index: 0, text: 'to *\n by * read' });
    assert.deepEqual(splitOrdered('{x}to *'), { index: undefined, text: '{x}to *' });
  });
});

describe('findDataRules: recognizing our rule among others', () => {
  test('finds ours at any position, with its level; ignores third-party rules', () => {
    const values = [...THIRD_PARTY, `{4}${dataAccessRule(BASE, SYNC_DN, 'write')}`];
    assert.deepEqual(findDataRules(values, BASE, SYNC_DN), [{ value: values[4], level: 'write' }]);
    assert.deepEqual(findDataRules(THIRD_PARTY, BASE, SYNC_DN), []);
  });

  test('DN comparison ignores case and spaces; other users and other bases are not ours', () => {
    const rule = '{0}to dn.subtree="DC=Example, DC=Com" by dn.exact="CN=sync user, dc=EXAMPLE,dc=com" READ by * break';
    assert.deepEqual(findDataRules([rule], BASE, SYNC_DN), [{ value: rule, level: 'read' }]);
    assert.deepEqual(
      findDataRules([`{0}${dataAccessRule(BASE, 'cn=Other,dc=example,dc=com', 'read')}`], BASE, SYNC_DN),
      [],
    );
    assert.deepEqual(
      findDataRules([`{0}${dataAccessRule('ou=People,dc=example,dc=com', SYNC_DN, 'read')}`], BASE, SYNC_DN),
      [],
    );
  });

  test("a rule of the same user with another shape (no break, more clauses) is somebody else's", () => {
    const values = [
      '{0}to dn.subtree="dc=example,dc=com" by dn.exact="cn=Sync User,dc=example,dc=com" read',
      '{1}to dn.subtree="dc=example,dc=com" by dn.exact="cn=Sync User,dc=example,dc=com" read by self write by * break',
      '{2}to dn.subtree="dc=example,dc=com" attrs=cn by dn.exact="cn=Sync User,dc=example,dc=com" read by * break',
    ];
    assert.deepEqual(findDataRules(values, BASE, SYNC_DN), []);
  });
});

describe('accesslog purge conversion (olcAccessLogPurge "age interval")', () => {
  // What the profile writes for --changelogMaximumAge: the age, and a purge interval of at most a day.
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['3d', '03+00:00 01+00:00'],
    ['8h', '00+08:00 00+08:00'],
    ['2d', '02+00:00 01+00:00'],
    ['1w', '07+00:00 01+00:00'],
    ['36h', '01+12:00 01+00:00'],
    ['90m', '00+01:30 00+01:30'],
    ['90s', '00+00:01:30 00+00:01:30'],
    ['24h', '01+00:00 01+00:00'],
    ['120d', '120+00:00 01+00:00'],
  ];
  for (const [option, purge] of cases) {
    test(`--changelogMaximumAge ${option} -> ${purge}`, () => {
      const steps = profile.planChangelog(
        target({ changelogMaxAgeSeconds: parseDuration(option) }),
        observe([dataDb(), moduleList('{0}back_mdb')]),
      );
      const add = step(steps, `accesslog:overlay:${DATA_DB}`).changes[0];
      assert.ok(add?.kind === 'add');
      assert.deepEqual(add.attributes['olcAccessLogPurge'], [purge]);
      const [age, interval] = purge.split(' ');
      assert.equal(parseServerDuration(age ?? ''), parseDuration(option));
      assert.equal(parseServerDuration(interval ?? ''), Math.min(parseDuration(option), DAY));
    });
  }

  test('formatAccessLogPurge round-trips through parseServerDuration', () => {
    for (const seconds of [1, 59, 60, 61, HOUR, 8 * HOUR, DAY - 1, DAY, 3 * DAY, 3 * DAY + 5, 400 * DAY]) {
      assert.equal(parseServerDuration(formatAccessLogPurge(seconds)), seconds, String(seconds));
    }
  });
});

describe('planAccess', () => {
  test('fresh database: our rule added at {0} for a source, nothing deleted, third-party rules untouched', () => {
    const steps = profile.planAccess(target(), observe([dataDb()]));
    assert.deepEqual(
      steps.map((x) => x.id),
      [`olcaccess:${BASE}`, `limits:${DATA_DB}`],
    );
    const s = steps[0];
    assert.equal(s?.status, 'created');
    assert.equal(s?.changes.length, 1);
    assert.equal(s?.changes[0]?.dn, DATA_DB);
    const mods = modifications(s?.changes[0]);
    assert.deepEqual(mods, [
      { operation: 'add', attribute: 'olcAccess', values: [`{0}${dataAccessRule(BASE, SYNC_DN, 'read')}`] },
    ]);
    assert.deepEqual(applyOlcAccess(THIRD_PARTY, mods), [
      `{0}${dataAccessRule(BASE, SYNC_DN, 'read')}`,
      ...THIRD_PARTY.map((v, i) => `{${i + 1}}${splitOrdered(v).text}`),
    ]);
  });

  test('destination, or both roles: the rule is at write', () => {
    for (const roles of [
      { source: false, destination: true },
      { source: true, destination: true },
    ]) {
      const [s] = profile.planAccess(target({ roles }), observe([dataDb()]));
      assert.deepEqual(modifications(s?.changes[0]), [
        { operation: 'add', attribute: 'olcAccess', values: [`{0}${dataAccessRule(BASE, SYNC_DN, 'write')}`] },
      ]);
    }
  });

  test('our rule already there at the level wanted (or above): unchanged, no change', () => {
    const cases: Array<[PrepareTarget['roles'], 'read' | 'write']> = [
      [{ source: true, destination: false }, 'read'],
      [{ source: true, destination: false }, 'write'],
      [{ source: false, destination: true }, 'write'],
    ];
    for (const [roles, level] of cases) {
      const values = [
        `{0}${dataAccessRule(BASE, SYNC_DN, level)}`,
        ...THIRD_PARTY.map((v, i) => `{${i + 1}}${splitOrdered(v).text}`),
      ];
      const [s] = profile.planAccess(target({ roles }), observe([dataDb(values)]));
      assert.equal(s?.status, 'unchanged', `${JSON.stringify(roles)} with ${level}`);
      assert.deepEqual(s?.changes, []);
    }
  });

  test('read rule, destination wanted: the read rule is replaced by one write rule at {0}', () => {
    const read = `{4}${dataAccessRule(BASE, SYNC_DN, 'read')}`;
    const values = [...THIRD_PARTY, read];
    const [s] = profile.planAccess(target({ roles: { source: false, destination: true } }), observe([dataDb(values)]));
    assert.equal(s?.status, 'updated');
    const mods = modifications(s?.changes[0]);
    assert.deepEqual(mods, [
      { operation: 'delete', attribute: 'olcAccess', values: [read] },
      { operation: 'add', attribute: 'olcAccess', values: [`{0}${dataAccessRule(BASE, SYNC_DN, 'write')}`] },
    ]);
    const after = applyOlcAccess(values, mods);
    assert.equal(findDataRules(after, BASE, SYNC_DN).length, 1, 'no duplicate');
    assert.deepEqual(
      after.slice(1).map((v) => splitOrdered(v).text),
      THIRD_PARTY.map((v) => splitOrdered(v).text),
    );
  });

  test('duplicates of ours: the strongest enough one is kept, the others deleted, third-party ones never', () => {
    const read = `{0}${dataAccessRule(BASE, SYNC_DN, 'read')}`;
    const write = `{1}${dataAccessRule(BASE, SYNC_DN, 'write')}`;
    const values = [read, write, ...THIRD_PARTY.map((v, i) => `{${i + 2}}${splitOrdered(v).text}`)];
    const [s] = profile.planAccess(target(), observe([dataDb(values)]));
    assert.equal(s?.status, 'updated');
    const mods = modifications(s?.changes[0]);
    // both are strong enough for a source: the first is kept, the second deleted
    assert.deepEqual(mods, [{ operation: 'delete', attribute: 'olcAccess', values: [write] }]);
    for (const mod of mods)
      for (const v of mod.values) assert.ok(!THIRD_PARTY.some((t) => splitOrdered(t).text === splitOrdered(v).text));
  });

  test('nested suffixes: the most specific database gets the rule', () => {
    const outer = dataDb(['{0}to * by * read'], 'dc=com', 'olcDatabase={1}mdb,cn=config');
    const inner = dataDb(['{0}to * by * read'], BASE, 'olcDatabase={3}mdb,cn=config');
    const [s] = profile.planAccess(target(), observe([outer, inner]));
    assert.equal(s?.changes[0]?.dn, 'olcDatabase={3}mdb,cn=config');
  });

  test('two base DNs: one step and one rule each', () => {
    const org = dataDb(['{0}to * by * read'], 'dc=example,dc=org', 'olcDatabase={2}mdb,cn=config');
    const steps = profile
      .planAccess(target({ baseDns: [BASE, 'dc=example,dc=org'] }), observe([dataDb(), org]))
      .filter((s) => s.id.startsWith('olcaccess:'));
    assert.deepEqual(
      steps.map((s) => s.changes[0]?.dn),
      [DATA_DB, 'olcDatabase={2}mdb,cn=config'],
    );
    assert.deepEqual(modifications(steps[1]?.changes[0])[0]?.values, [
      `{0}${dataAccessRule('dc=example,dc=org', SYNC_DN, 'read')}`,
    ]);
  });

  test('no database serves the base DN: 53, naming it', () => {
    const error = rejects(
      () => profile.planAccess(target({ baseDns: ['dc=other,dc=net'] }), observe([dataDb()])),
      ResultCode.UNWILLING_TO_PERFORM,
    );
    assert.match(error.message, /dc=other,dc=net/);
  });

  test('cn=config unreadable: 50, with the LDIF for ldapmodify -Y EXTERNAL -H ldapi:///', () => {
    const error = rejects(
      () => profile.planAccess(target({ roles: { source: true, destination: true } }), observe([])),
      ResultCode.INSUFFICIENT_ACCESS,
    );
    assert.match(`${error.message} ${error.hint ?? ''}`, /--hostname ldapi:\/\/\/ --useSASLExternal/);
    const details = error.details ?? '';
    assert.match(details, /^ldapmodify -Q -Y EXTERNAL -H ldapi:\/\/\/ <<EOF/m);
    // Nothing left for a person to fill in: database DNs are looked up by the script, the password is set by ldappasswd.
    assert.doesNotMatch(details, /<[^<>\n]*>/);
    assert.doesNotMatch(details, /userPassword|\*{3}/);
    assert.match(details, /^DB1=\$\(ldapsearch .*'\(olcSuffix=dc=example,dc=com\)' dn/m);
    assert.match(details, /^dn: \$DB1$/m);
    assert.match(details, /^olcDbIndex: entryCSN,entryUUID eq$/m);
    assert.match(details, /^changetype: modify$/m);
    assert.match(details, /^add: olcAccess$/m);
    assert.ok(details.split('\n').includes(`olcAccess: {0}${dataAccessRule(BASE, SYNC_DN, 'write')}`), details);
    // a source-only admin gets the read rule
    const read = rejects(() => profile.planAccess(target(), observe([])), ResultCode.INSUFFICIENT_ACCESS);
    assert.ok(
      (read.details ?? '').split('\n').includes(`olcAccess: {0}${dataAccessRule(BASE, SYNC_DN, 'read')}`),
      read.details,
    );
  });

  test('cn=config unreadable, source: the LDIF also sets up cn=accesslog (module, database, overlay)', () => {
    const error = rejects(() => profile.planAccess(target(), observe([])), ResultCode.INSUFFICIENT_ACCESS);
    const details = error.details ?? '';
    assert.match(details, /olcModuleLoad: accesslog/);
    assert.match(details, /olcSuffix: cn=accesslog/);
    assert.match(details, /olcOverlay: accesslog/);
  });

  test('cn=config unreadable, the fix applied by hand (sync user there, cn=accesslog served): verified, not printed again', () => {
    const applied = (dn: string): Entry | undefined =>
      normalizeDn(dn) === normalizeDn(SYNC_DN) ? entry(SYNC_DN, { objectClass: ['person'] }) : undefined;
    const seen = (namingContexts: string[]): Observation => ({
      rootDse: entry('', { namingContexts }),
      entry: applied,
      found: () => [],
    });
    const source = profile.planAccess(target(), seen([BASE, 'cn=accesslog']));
    assert.deepEqual(
      source.map((s) => s.status),
      ['unchanged'],
    );
    assert.deepEqual(
      profile.planChangelog(target(), seen([BASE, 'cn=accesslog'])).map((s) => [s.status, s.changes.length]),
      [['unchanged', 0]],
    );
    // A destination's write rule cannot be seen: a warning, never a claim.
    const both = profile.planAccess(
      target({ roles: { source: true, destination: true } }),
      seen([BASE, 'cn=accesslog']),
    );
    assert.deepEqual(
      both.map((s) => s.status),
      ['warning'],
    );
    // cn=accesslog not served yet: the fix is printed again.
    rejects(() => profile.planAccess(target(), seen([BASE])), ResultCode.INSUFFICIENT_ACCESS);
  });
});

describe('planChangelog', () => {
  test('fresh server: loads the module, creates cn=accesslog for the sync user only, adds the overlay', () => {
    const steps = profile.planChangelog(
      target({ changelogMaxAgeSeconds: 3 * DAY }),
      observe([dataDb(), moduleList('{0}back_mdb')]),
    );
    assert.deepEqual(
      steps.map((s) => [s.id, s.status]),
      [
        ['accesslog:module', 'created'],
        ['syncprov:module', 'created'],
        ['accesslog:database', 'created'],
        [`index:${DATA_DB}`, 'created'],
        // syncprov before accesslog, as the admin guide's delta-syncrepl provider has them
        [`syncprov:${DATA_DB}`, 'created'],
        [`accesslog:overlay:${DATA_DB}`, 'created'],
      ],
    );
    assert.deepEqual(step(steps, 'accesslog:module').changes, [
      {
        kind: 'modify',
        dn: MODULES,
        modifications: [{ operation: 'add', attribute: 'olcModuleLoad', values: ['accesslog'] }],
      },
    ]);
    const [db, logSyncprov] = step(steps, 'accesslog:database').changes;
    assert.ok(db?.kind === 'add');
    // Added with the next free {n}, so the syncprov overlay for delta-syncrepl can go under it in the same run.
    assert.equal(db.dn, 'olcDatabase={2}mdb,cn=config');
    assert.deepEqual(db.attributes['olcLimits'], [
      `{0}dn.exact="${SYNC_DN}" size=unlimited size.prtotal=unlimited time=unlimited`,
    ]);
    assert.deepEqual(logSyncprov, {
      kind: 'add',
      dn: 'olcOverlay=syncprov,olcDatabase={2}mdb,cn=config',
      attributes: {
        objectClass: ['olcOverlayConfig', 'olcSyncProvConfig'],
        olcOverlay: ['syncprov'],
        olcSpNoPresent: ['TRUE'],
        olcSpReloadHint: ['TRUE'],
      },
    });
    assert.deepEqual(db.attributes['olcSuffix'], [ACCESSLOG_SUFFIX]);
    assert.deepEqual(db.attributes['olcDbDirectory'], ['/var/lib/ldap/accesslog']);
    assert.deepEqual(db.attributes['olcAccess'], [`{0}${accesslogAccessRule(SYNC_DN, 'none')}`]);
    const ov = step(steps, `accesslog:overlay:${DATA_DB}`).changes[0];
    assert.ok(ov?.kind === 'add');
    assert.equal(ov.dn, `olcOverlay=accesslog,${DATA_DB}`);
    assert.deepEqual(ov.attributes['olcAccessLogDB'], [ACCESSLOG_SUFFIX]);
    assert.deepEqual(ov.attributes['olcAccessLogOps'], ['writes']);
    assert.deepEqual(ov.attributes['olcAccessLogSuccess'], ['TRUE']);
    assert.deepEqual(ov.attributes['olcAccessLogPurge'], ['03+00:00 01+00:00']);
    assert.deepEqual(ov.attributes['olcAccessLogOld'], ['(objectClass=*)']);
    assert.deepEqual(ov.attributes['olcAccessLogOldAttr'], ['objectClass', 'entryUUID']);
    assert.deepEqual(step(steps, `syncprov:${DATA_DB}`).changes, [
      {
        kind: 'add',
        dn: `olcOverlay=syncprov,${DATA_DB}`,
        attributes: {
          objectClass: ['olcOverlayConfig', 'olcSyncProvConfig'],
          olcOverlay: ['syncprov'],
          olcSpCheckpoint: ['100 10'],
        },
      },
    ]);
    // The harness's database already indexes entryCSN and entryUUID; this one does not.
    assert.deepEqual(modifications(step(steps, `index:${DATA_DB}`).changes[0]), [
      { operation: 'add', attribute: 'olcDbIndex', values: ['entryCSN,entryUUID eq'] },
    ]);
  });

  test('module found under any spelling (accesslog, accesslog.la, a path), or no module list at all', () => {
    for (const load of ['{1}accesslog', '{1}accesslog.la', '{1}/usr/lib/ldap/accesslog.so']) {
      const steps = profile.planChangelog(target(), observe([dataDb(), moduleList('{0}back_mdb', load)]));
      assert.equal(step(steps, 'accesslog:module').status, 'unchanged', load);
    }
    const none = profile.planChangelog(target(), observe([dataDb()]));
    assert.equal(step(none, 'accesslog:module').status, 'skipped');
    assert.deepEqual(step(none, 'accesslog:module').changes, []);
  });

  test('no cn=accesslog and no --accesslogDirectory: 89, naming the option', () => {
    const { accesslogDirectory: _unused, ...noDir } = target();
    const error = rejects(
      () => profile.planChangelog(noDir, observe([dataDb(), moduleList('{0}back_mdb')])),
      ResultCode.PARAM_ERROR,
    );
    assert.match(`${error.message} ${error.hint ?? ''}`, /--accesslogDirectory/);
  });

  test('existing cn=accesslog: no directory needed; our read rule added with break, or found', () => {
    const { accesslogDirectory: _unused, ...noDir } = target();
    const theirs = logDb([
      '{0}to * by dn.exact="cn=replicator,dc=example,dc=com" read by * break',
      '{1}to * by * none',
    ]);
    const steps = profile.planChangelog(noDir, observe([dataDb(), moduleList('{0}back_mdb', '{1}accesslog'), theirs]));
    const access = step(steps, 'accesslog:access');
    assert.equal(access.status, 'created');
    assert.deepEqual(access.changes, [
      {
        kind: 'modify',
        dn: LOG_DB,
        modifications: [
          { operation: 'add', attribute: 'olcAccess', values: [`{0}${accesslogAccessRule(SYNC_DN, 'break')}`] },
        ],
      },
    ]);
    const ours = logDb([`{0}${accesslogAccessRule(SYNC_DN, 'none')}`]);
    const again = profile.planChangelog(noDir, observe([dataDb(), moduleList('{0}back_mdb', '{1}accesslog'), ours]));
    assert.equal(step(again, 'accesslog:access').status, 'unchanged');
  });

  test('prepared server: every step unchanged, no change at all', () => {
    const steps = profile.planChangelog(
      target({ changelogMaxAgeSeconds: 3 * DAY }),
      observe(preparedConfig('03+00:00 01+00:00')),
    );
    assert.deepEqual(
      steps.map((s) => s.status),
      Array(steps.length).fill('unchanged'),
      JSON.stringify(steps, null, 1),
    );
    assert.ok(steps.length >= 8);
    assert.deepEqual(
      steps.flatMap((s) => s.changes),
      [],
    );
  });

  test('purge written in another form but equal (3 days as 72:00) is left alone; another age is replaced', () => {
    const config = preparedConfig;
    const same = profile.planChangelog(target({ changelogMaxAgeSeconds: 3 * DAY }), observe(config('72:00 24:00')));
    assert.equal(step(same, `accesslog:overlay:${DATA_DB}`).status, 'unchanged');
    const other = profile.planChangelog(
      target({ changelogMaxAgeSeconds: 8 * HOUR }),
      observe(config('03+00:00 01+00:00')),
    );
    const s = step(other, `accesslog:overlay:${DATA_DB}`);
    assert.equal(s.status, 'updated');
    assert.deepEqual(modifications(s.changes[0]), [
      { operation: 'replace', attribute: 'olcAccessLogPurge', values: ['00+08:00 00+08:00'] },
    ]);
  });

  test('overlay logging reads only, or failures too: writes added, success set to TRUE', () => {
    const ov = overlay({
      olcAccessLogDB: [ACCESSLOG_SUFFIX],
      olcAccessLogOps: ['reads'],
      olcAccessLogSuccess: ['FALSE'],
      olcAccessLogPurge: ['02+00:00 01+00:00'],
    });
    const steps = profile.planChangelog(
      target(),
      observe([
        dataDb(),
        moduleList('{0}back_mdb', '{1}accesslog'),
        logDb([`{0}${accesslogAccessRule(SYNC_DN, 'none')}`]),
        ov,
      ]),
    );
    const s = step(steps, `accesslog:overlay:${DATA_DB}`);
    assert.deepEqual(modifications(s.changes[0]), [
      { operation: 'add', attribute: 'olcAccessLogOps', values: ['writes'] },
      { operation: 'replace', attribute: 'olcAccessLogSuccess', values: ['TRUE'] },
      { operation: 'add', attribute: 'olcAccessLogOld', values: ['(objectClass=*)'] },
      { operation: 'add', attribute: 'olcAccessLogOldAttr', values: ['objectClass', 'entryUUID'] },
    ]);
  });

  test('an overlay logging to another database is left alone with a warning', () => {
    const ov = overlay({ olcAccessLogDB: ['cn=auditlog'], olcAccessLogOps: ['writes'] });
    const steps = profile.planChangelog(
      target(),
      observe([
        dataDb(),
        moduleList('{0}back_mdb', '{1}accesslog'),
        logDb([`{0}${accesslogAccessRule(SYNC_DN, 'none')}`]),
        ov,
      ]),
    );
    const s = step(steps, `accesslog:overlay:${DATA_DB}`);
    assert.equal(s.status, 'warning');
    assert.deepEqual(s.changes, []);
    assert.match(s.warnings.join(' '), /cn=auditlog/);
  });

  test('two base DNs in one database: one overlay', () => {
    const db = entry(DATA_DB, {
      objectClass: ['olcDatabaseConfig'],
      olcSuffix: [BASE, 'dc=example,dc=org'],
      olcAccess: THIRD_PARTY,
    });
    const steps = profile.planChangelog(
      target({ baseDns: [BASE, 'dc=example,dc=org'] }),
      observe([db, moduleList('{0}back_mdb')]),
    );
    assert.equal(steps.filter((s) => s.id.startsWith('accesslog:overlay:')).length, 1);
  });
});

describe('duplicates two runs at once leave, and the root DNs the sync user may not be', () => {
  const ours = (index: number, parent = DATA_DB): Entry =>
    entry(`olcOverlay={${index}}accesslog,${parent}`, {
      objectClass: ['olcOverlayConfig', 'olcAccessLogConfig'],
      olcOverlay: [`{${index}}accesslog`],
      olcAccessLogDB: [ACCESSLOG_SUFFIX],
      olcAccessLogOps: ['writes'],
      olcAccessLogSuccess: ['TRUE'],
      olcAccessLogPurge: ['02+00:00 01+00:00'],
    });
  const config = (...overlays: Entry[]): Entry[] => [
    dataDb(),
    moduleList('{0}back_mdb', '{1}accesslog'),
    logDb([`{0}${accesslogAccessRule(SYNC_DN, 'none')}`]),
    ...overlays,
  ];

  test('three accesslog overlays on one database: the first stays, the others are deleted highest index first', () => {
    const steps = profile.planChangelog(target(), observe(config(ours(0), ours(1), ours(2))));
    const overlayStep = step(steps, `accesslog:overlay:${DATA_DB}`);
    assert.equal(overlayStep.status, 'updated');
    assert.deepEqual(overlayStep.changes, [
      { kind: 'delete', dn: `olcOverlay={2}accesslog,${DATA_DB}` },
      { kind: 'delete', dn: `olcOverlay={1}accesslog,${DATA_DB}` },
    ]);
    // One overlay left: nothing more is deleted (it may still get the change record settings it lacks).
    const single = step(profile.planChangelog(target(), observe(config(ours(0)))), `accesslog:overlay:${DATA_DB}`);
    assert.ok(
      single.changes.every((change) => change.kind !== 'delete'),
      JSON.stringify(single.changes),
    );
  });

  test('--remove --disableChangelog deletes every accesslog overlay, highest index first (slapd renumbers the rest)', () => {
    const steps = profile.planRemoval(target(), observe(config(ours(0), ours(2), ours(1))), true);
    assert.deepEqual(
      steps
        .flatMap((s) => s.changes)
        .filter((c) => c.kind === 'delete')
        .map((c) => c.dn),
      [
        `olcOverlay={2}accesslog,${DATA_DB}`,
        `olcOverlay={1}accesslog,${DATA_DB}`,
        `olcOverlay={0}accesslog,${DATA_DB}`,
      ],
    );
  });

  test('the accesslog read rule twice (another DN spelling): the second is taken away; --remove deletes both, highest first', () => {
    const twice = [
      `{0}${accesslogAccessRule(SYNC_DN, 'none')}`,
      '{1}to *  by dn.exact="cn=Sync\\20User, dc=example,dc=com" read by * break',
    ];
    const db = logDb(twice);
    const plan = profile.planChangelog(
      target(),
      observe([dataDb(), moduleList('{0}back_mdb', '{1}accesslog'), db, ours(0)]),
    );
    const access = step(plan, 'accesslog:access');
    assert.equal(access.status, 'updated');
    assert.deepEqual(modifications(access.changes[0]), [
      { operation: 'delete', attribute: 'olcAccess', values: [twice[1]] },
    ]);
    const removal = profile.planRemoval(target(), observe([dataDb(), db]), false);
    assert.deepEqual(modifications(step(removal, 'accesslog:access').changes[0])[0]?.values, [twice[1], twice[0]]);
  });

  test('the same data rule in two spellings: one stays, the other is deleted', () => {
    const values = [
      `{0}${dataAccessRule(BASE, SYNC_DN, 'read')}`,
      ...THIRD_PARTY.map((v, i) => `{${i + 1}}${splitOrdered(v).text}`),
      '{5}to dn.subtree="DC=Example, DC=com" by dn.exact="CN=sync user,dc=example,dc=com" read by * break',
    ];
    const [access] = profile.planAccess(target(), observe([dataDb(values)]));
    assert.equal(access?.status, 'updated');
    assert.match(access?.detail ?? '', /1 duplicate olcAccess rule removed/);
    assert.deepEqual(modifications(access?.changes[0]), [
      { operation: 'delete', attribute: 'olcAccess', values: [values[5]] },
    ]);
  });

  test('administratorDns: the olcRootDN of every database, the config database too', () => {
    const configDb = entry('olcDatabase={0}config,cn=config', {
      objectClass: ['olcDatabaseConfig'],
      olcDatabase: ['{0}config'],
      olcRootDN: ['cn=admin,cn=config'],
    });
    const data = entry(DATA_DB, {
      objectClass: ['olcDatabaseConfig', 'olcMdbConfig'],
      olcSuffix: [BASE],
      olcRootDN: ['cn=admin,dc=example,dc=com'],
    });
    assert.deepEqual(
      profile.administratorDns(target(), observe([configDb, data])).map((a) => a.dn),
      ['cn=admin,cn=config', 'cn=admin,dc=example,dc=com'],
    );
  });
});
