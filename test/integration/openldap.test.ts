// OpenLDAP as a sync source and destination, against real throw-away slapd processes (test/servers/slapd.sh):
// every test starts its own slapd (own port, own folder) with the harness's third-party olcAccess rules.
// Every claim is checked on the server itself: cn=config as cn=admin,dc=example,dc=com (manage on cn=config),
// cn=accesslog as the sync user and as cn=limited, root through LDAPI (SASL EXTERNAL) for the operator's LDIF.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'ldapts';
import { startSlapd, type Slapd } from '../servers/openldap.js';
import { runCli, type RunCliResult } from '../helpers/cli.js';
import { canBind, readEntry, searchDns, searchFirstValues, withClient, type Bind } from '../helpers/directory.js';
import {
  connectionArgs,
  describeRun,
  fileSize,
  logLines,
  makeTempDir,
  secretFile,
  type LogLine,
} from '../helpers/fixture.js';

const BASE = 'dc=example,dc=com';
const SYNC_DN = `cn=Sync User,${BASE}`;
const DATA_DB = 'olcDatabase={1}mdb,cn=config';
const MODULES = 'cn=module{0},cn=config';
/** The accesslog overlay, after syncprov ({0}), as the admin guide's delta-syncrepl provider orders them. */
const OVERLAY_DN = `olcOverlay={1}accesslog,${DATA_DB}`;
const SYNCPROV_DN = `olcOverlay={0}syncprov,${DATA_DB}`;
const QUOTED_SYNC = `dn.exact="${SYNC_DN}"`;
const SYNC_PASSWORD = `Sync-OpenLDAP-${randomUUID()}`;
const syncBind: Bind = { dn: SYNC_DN, password: SYNC_PASSWORD };
const isRoot = process.getuid?.() === 0;

function rule(level: 'read' | 'write'): string {
  return `to dn.subtree="${BASE}" by ${QUOTED_SYNC} ${level} by * break`;
}

/** `{3}to * ...` -> `to * ...` */
function text(value: string): string {
  return value.replace(/^\{\d+\}/, '');
}

/**
 * The two parts of the fix printed when cn=config is unreadable: root's script and the admin's commands,
 * with `ldapi:///` (the default socket) pointed at this test server's socket.
 */
function fixParts(stderr: string, ldapiUrl: string): { root: string; admin: string } {
  const script = stderr.slice(stderr.indexOf('#!/bin/sh')).replaceAll('ldapi:///', ldapiUrl);
  const part2 = script.indexOf('# Part 2');
  return part2 < 0 ? { root: script, admin: '' } : { root: script.slice(0, part2), admin: script.slice(part2) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One slapd, one temp folder (password files, run log) for one test; both removed afterwards. */
class Fixture {
  public readonly tmp: string;
  public readonly logFile: string;
  public readonly adminPasswordFile: string;
  public readonly syncPasswordFile: string;

  public constructor(public readonly slapd: Slapd) {
    this.tmp = makeTempDir('pes-openldap-');
    this.logFile = path.join(this.tmp, 'run.log');
    this.adminPasswordFile = this.secretFile('admin.pw', slapd.adminPassword);
    this.syncPasswordFile = this.secretFile('sync.pw', SYNC_PASSWORD);
  }

  public get admin(): Bind {
    return { dn: this.slapd.adminDn, password: this.slapd.adminPassword };
  }

  public get limited(): Bind {
    return { dn: this.slapd.limitedDn, password: this.slapd.adminPassword };
  }

  public secretFile(name: string, value: string): string {
    return secretFile(this.tmp, name, value);
  }

  /** -h/-p/-D (the admin unless `bindDn`), password files, --no-prompt, --logFile, -b; `extra` last. */
  public args(extra: string[], bindDn: string = this.slapd.adminDn): string[] {
    const { host, port } = this.slapd;
    return connectionArgs(
      {
        host,
        port,
        bindDn,
        adminPasswordFile: this.adminPasswordFile,
        syncPasswordFile: this.syncPasswordFile,
        logFile: this.logFile,
      },
      ['-b', BASE, ...extra],
    );
  }

  public sourceArgs(extra: string[] = []): string[] {
    return this.args([
      '--isSource',
      '--changelogMaximumAge',
      '3d',
      '--accesslogDirectory',
      this.slapd.accesslogDirectory,
      ...extra,
    ]);
  }

  public async run(cliArgs: string[]): Promise<RunCliResult> {
    return runCli(cliArgs, { timeoutMs: 30_000 });
  }

  public logSize(): number {
    return fileSize(this.logFile);
  }

  public logLinesFrom(offset = 0): LogLine[] {
    return logLines(this.logFile, offset);
  }

  public async olcAccess(dn: string): Promise<string[]> {
    return (await readEntry(this.slapd.url, this.admin, dn, ['olcAccess']))?.olcaccess ?? [];
  }

  /** cn=config entries (as the admin, who manages it) matching `filter`, lower-cased attribute names. */
  public async config(filter: string, attributes: string[] = ['*']): Promise<Array<Record<string, string[]>>> {
    return withClient(this.slapd.url, this.admin, async (c: Client) => {
      const res = await c.search('cn=config', { scope: 'sub', filter, attributes });
      return res.searchEntries.map((e) => {
        const out: Record<string, string[]> = {};
        for (const [name, value] of Object.entries(e)) {
          const list = Array.isArray(value) ? value : [value];
          out[name.toLowerCase()] = list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
        }
        return out;
      });
    });
  }

  public async accesslogDatabase(): Promise<Record<string, string[]> | undefined> {
    const found = await this.config('(olcSuffix=cn=accesslog)');
    assert.ok(found.length <= 1, `at most one cn=accesslog database: ${JSON.stringify(found)}`);
    return found[0];
  }

  /** All of cn=config with modifyTimestamp/entryCSN, and the sync user: what a no-op or failed run must not change. */
  public async state(): Promise<unknown> {
    const config = await this.config('(objectClass=*)', ['*', 'modifyTimestamp', 'entryCSN']);
    config.sort((a, b) => String(a.dn).localeCompare(String(b.dn)));
    const data = config.find((e) => e.dn?.[0] === DATA_DB);
    assert.ok(
      data?.modifytimestamp?.[0] && data.entrycsn?.[0],
      `cn=config entries carry modifyTimestamp and entryCSN: ${JSON.stringify(data)}`,
    );
    const user = await readEntry(this.slapd.url, this.admin, SYNC_DN, ['*', 'modifyTimestamp', 'entryCSN']);
    const users = await searchDns(this.slapd.url, this.admin, BASE, '(|(cn=Sync User)(objectClass=inetOrgPerson))');
    return { config, user, users: users.sort() };
  }

  /** Entries in cn=accesslog as `bind` sees them (none when it may not read the database). */
  public async accesslog(bind: Bind, filter = '(reqType=*)'): Promise<Array<Record<string, string>>> {
    return searchFirstValues(this.slapd.url, bind, 'cn=accesslog', {
      scope: 'sub',
      filter,
      attributes: ['reqType', 'reqDN', 'reqResult'],
    });
  }

  public async dispose(): Promise<void> {
    try {
      await this.slapd.stop();
    } finally {
      rmSync(this.tmp, { recursive: true, force: true });
    }
  }
}

/** Runs `fn` with a fresh slapd of its own; always stops it and removes the folders. */
async function withSlapd(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const f = new Fixture(await startSlapd());
  try {
    await fn(f);
  } finally {
    await f.dispose();
  }
}

/** Our rule at {0}, then exactly `original` (the harness's rules, same text, same relative order). */
function assertOursFirst(values: readonly string[], original: readonly string[], level: 'read' | 'write'): void {
  assert.equal(values.length, original.length + 1, `one rule added: ${JSON.stringify(values, null, 1)}`);
  assert.equal(values[0], `{0}${rule(level)}`, JSON.stringify(values, null, 1));
  assert.deepEqual(values.slice(1).map(text), original.map(text), 'third-party rules intact and in order');
  assert.deepEqual(
    values.map((v) => /^\{(\d+)\}/.exec(v)?.[1]),
    values.map((_, i) => String(i)),
    'indexes renumbered 0..n',
  );
}

function ourRules(values: readonly string[]): string[] {
  return values.filter((v) => text(v).includes(QUOTED_SYNC) && text(v).startsWith(`to dn.subtree="${BASE}"`));
}

async function addPerson(url: string, bind: Bind, uid: string): Promise<string> {
  const dn = `uid=${uid},ou=People,${BASE}`;
  await withClient(url, bind, (c) => c.add(dn, { objectClass: ['inetOrgPerson'], uid, cn: uid, sn: uid }));
  return dn;
}

/** Checks that `action` leaves cn=config and the data tree as they were and logs no write. */
async function assertNothingWritten(f: Fixture, action: () => Promise<void>): Promise<void> {
  const before = await f.state();
  const offset = f.logSize();
  // modifyTimestamp has one-second granularity: make any write show (entryCSN would anyway).
  await sleep(1100);
  await action();
  assert.deepEqual(await f.state(), before, 'cn=config and the data tree are unchanged');
  const lines = f.logLinesFrom(offset);
  assert.ok(
    lines.some((l) => l.event === 'end'),
    'the run was logged',
  );
  assert.deepEqual(
    lines.filter((l) => l.event === 'write'),
    [],
    'no "event":"write" in the run log',
  );
}

describe('OpenLDAP source', () => {
  test('source run: module, cn=accesslog database, overlay, rule at {0} before the intact third-party rules', async () => {
    await withSlapd(async (f) => {
      const s = f.slapd;
      const original = await f.olcAccess(DATA_DB);
      assert.equal(original.length, 4, JSON.stringify(original));
      assert.deepEqual(await f.accesslogDatabase(), undefined, 'no cn=accesslog before');

      const r = await f.run(f.sourceArgs());
      assert.equal(r.code, 0, describeRun(r));

      assert.equal(await canBind(s.url, SYNC_DN, SYNC_PASSWORD), true, 'the sync user binds');

      const modules = await readEntry(s.url, f.admin, MODULES, ['olcModuleLoad']);
      assert.ok(
        modules?.olcmoduleload?.some((v) => /^\{\d+\}accesslog(\.la|\.so)?$/.test(v)),
        JSON.stringify(modules),
      );
      assert.ok(modules?.olcmoduleload?.includes('{0}back_mdb'), 'back_mdb still loaded first');

      const log = await f.accesslogDatabase();
      assert.ok(log, 'a database with olcSuffix cn=accesslog exists');
      assert.deepEqual(log.olcsuffix, ['cn=accesslog']);
      assert.deepEqual(log.olcdbdirectory, [s.accesslogDirectory]);
      assert.deepEqual(log.olcaccess, [`{0}to * by ${QUOTED_SYNC} read by * none`], 'only the sync user reads it');

      const overlay = await readEntry(s.url, f.admin, OVERLAY_DN, ['*']);
      assert.ok(overlay, `${OVERLAY_DN} exists`);
      assert.deepEqual(overlay.olcaccesslogdb, ['cn=accesslog']);
      assert.deepEqual(overlay.olcaccesslogops, ['writes']);
      assert.deepEqual(overlay.olcaccesslogsuccess, ['TRUE']);
      assert.deepEqual(overlay.olcaccesslogpurge, ['03+00:00 01+00:00']);
      assert.deepEqual(overlay.olcaccesslogold, ['(objectClass=*)'], 'deletes log the old entry');
      assert.deepEqual(overlay.olcaccesslogoldattr, ['objectClass', 'entryUUID']);
      assert.ok(await readEntry(s.url, f.admin, SYNCPROV_DN), `${SYNCPROV_DN} exists`);
      assert.deepEqual(
        (await readEntry(s.url, f.admin, DATA_DB, ['olcLimits']))?.olclimits,
        [`{0}${QUOTED_SYNC} size=unlimited size.prtotal=unlimited time=unlimited`],
        'no search limits for the sync user',
      );

      assertOursFirst(await f.olcAccess(DATA_DB), original, 'read');

      const writes = f.logLinesFrom().filter((l) => l.event === 'write');
      assert.ok(writes.length >= 5, `writes logged: ${JSON.stringify(writes)}`);
      assert.ok(!readFileSync(f.logFile, 'utf8').includes(SYNC_PASSWORD), 'the sync password is not in the log');
    });
  });

  test('a change made after preparation is in cn=accesslog for the sync user, and hidden from cn=limited', async () => {
    await withSlapd(async (f) => {
      const r = await f.run(f.sourceArgs());
      assert.equal(r.code, 0, describeRun(r));

      const target = await addPerson(f.slapd.url, f.admin, `x-${randomUUID().slice(0, 8)}`);
      let found: Record<string, string> | undefined;
      for (let i = 0; i < 50 && found === undefined; i++) {
        found = (await f.accesslog(syncBind, '(reqType=add)')).find(
          (e) => e.reqdn?.toLowerCase() === target.toLowerCase(),
        );
        if (found === undefined) await sleep(100);
      }
      assert.ok(found, `the sync user finds the add of ${target} in cn=accesslog`);
      assert.equal(found.reqtype, 'add');
      assert.equal(found.reqresult, '0');
      assert.match(found.dn ?? '', /^reqStart=\d{14}\.\d{6}Z,cn=accesslog$/, found.dn);

      assert.deepEqual(await f.accesslog(f.limited), [], 'cn=limited reads nothing in cn=accesslog');
      assert.deepEqual(await f.accesslog(f.limited, '(objectClass=*)'), [], 'not even the suffix entry');
      // the sync user reads the data too (the source rule)
      assert.ok(await readEntry(f.slapd.url, syncBind, target, ['uid']), 'the sync user reads the new entry');
    });
  });

  test('--changelogMaximumAge 8h: olcAccessLogPurge "00+08:00 00+08:00"; a later 3d run replaces it', async () => {
    await withSlapd(async (f) => {
      const args8h = f.args([
        '--isSource',
        '--changelogMaximumAge',
        '8h',
        '--accesslogDirectory',
        f.slapd.accesslogDirectory,
      ]);
      const r = await f.run(args8h);
      assert.equal(r.code, 0, describeRun(r));
      const purge = async (): Promise<string[] | undefined> =>
        (await readEntry(f.slapd.url, f.admin, OVERLAY_DN, ['olcAccessLogPurge']))?.olcaccesslogpurge;
      assert.deepEqual(await purge(), ['00+08:00 00+08:00']);

      const again = await f.run(f.sourceArgs());
      assert.equal(again.code, 0, describeRun(again));
      assert.deepEqual(await purge(), ['03+00:00 01+00:00']);
      assert.equal((await f.config('(objectClass=olcAccessLogConfig)')).length, 1, 'still one overlay');
    });
  });

  test('missing --accesslogDirectory on a fresh server: exit 89 naming it, nothing written', async () => {
    await withSlapd(async (f) => {
      await assertNothingWritten(f, async () => {
        const r = await f.run(f.args(['--isSource', '--changelogMaximumAge', '3d']));
        assert.equal(r.code, 89, describeRun(r));
        assert.match(r.stderr, /--accesslogDirectory/, describeRun(r));
      });
      assert.equal(await readEntry(f.slapd.url, f.admin, SYNC_DN), undefined, 'no sync user');
      assert.deepEqual(ourRules(await f.olcAccess(DATA_DB)), [], 'no rule');
      assert.equal(await f.accesslogDatabase(), undefined, 'no cn=accesslog database');
    });
  });
});

describe('OpenLDAP destination and both roles', () => {
  test('destination: rule at write first, no change log, the sync user adds and deletes under the base', async () => {
    await withSlapd(async (f) => {
      const s = f.slapd;
      const original = await f.olcAccess(DATA_DB);
      const modulesBefore = await readEntry(s.url, f.admin, MODULES, ['olcModuleLoad']);

      const r = await f.run(f.args(['--isDestination']));
      assert.equal(r.code, 0, describeRun(r));

      assertOursFirst(await f.olcAccess(DATA_DB), original, 'write');
      assert.deepEqual(await readEntry(s.url, f.admin, MODULES, ['olcModuleLoad']), modulesBefore, 'no module loaded');
      assert.equal(await f.accesslogDatabase(), undefined, 'no cn=accesslog database');
      assert.deepEqual(await f.config('(objectClass=olcAccessLogConfig)'), [], 'no overlay');

      const dn = await addPerson(s.url, syncBind, 'added-by-sync');
      assert.ok(await readEntry(s.url, f.admin, dn), 'the sync user added an entry');
      await withClient(s.url, syncBind, (c) => c.del(dn));
      assert.equal(await readEntry(s.url, f.admin, dn), undefined, 'the sync user deleted it');
      // directly under the base too
      const top = `ou=SyncTest,${BASE}`;
      await withClient(s.url, syncBind, (c) => c.add(top, { objectClass: ['organizationalUnit'], ou: 'SyncTest' }));
      await withClient(s.url, syncBind, (c) => c.del(top));
    });
  });

  test('a sync user DN with a quote and a comma: the rule works on slapd and a re-run recognizes it', async () => {
    await withSlapd(async (f) => {
      const odd = `cn=Sync \\"Q\\" User\\, Jr,${BASE}`;
      const args = f.args(['--isDestination', '--syncServerBindDN', odd]);
      const r = await f.run(args);
      assert.equal(r.code, 0, describeRun(r));
      const values = await f.olcAccess(DATA_DB);
      assert.equal(
        values[0],
        `{0}to dn.subtree="${BASE}" by dn.exact="cn=Sync \\22Q\\22 User\\, Jr,${BASE}" write by * break`,
      );
      const dn = await addPerson(f.slapd.url, { dn: odd, password: SYNC_PASSWORD }, 'odd');
      assert.ok(await readEntry(f.slapd.url, f.admin, dn), 'the oddly named sync user writes');
      const again = await f.run(args);
      assert.equal(again.code, 0, describeRun(again));
      assert.match(again.stdout, /nothing to change/i, describeRun(again));
      assert.deepEqual(await f.olcAccess(DATA_DB), values);
    });
  });

  test('both roles: one rule, at write, plus the change log', async () => {
    await withSlapd(async (f) => {
      const original = await f.olcAccess(DATA_DB);
      const r = await f.run(f.sourceArgs(['--isDestination']));
      assert.equal(r.code, 0, describeRun(r));
      const values = await f.olcAccess(DATA_DB);
      assertOursFirst(values, original, 'write');
      assert.equal(ourRules(values).length, 1);
      assert.ok(await readEntry(f.slapd.url, f.admin, OVERLAY_DN), 'overlay added');
      assert.ok(await f.accesslogDatabase(), 'cn=accesslog added');
    });
  });

  test('source run, then destination run: the rule is upgraded to write, not duplicated', async () => {
    await withSlapd(async (f) => {
      const original = await f.olcAccess(DATA_DB);
      const source = await f.run(f.sourceArgs());
      assert.equal(source.code, 0, describeRun(source));
      assertOursFirst(await f.olcAccess(DATA_DB), original, 'read');

      const destination = await f.run(f.args(['--isDestination']));
      assert.equal(destination.code, 0, describeRun(destination));
      const values = await f.olcAccess(DATA_DB);
      assertOursFirst(values, original, 'write');
      assert.deepEqual(ourRules(values), [`{0}${rule('write')}`]);
      // the change log of the source run is still there
      assert.ok(await readEntry(f.slapd.url, f.admin, OVERLAY_DN), 'overlay kept');

      // and a source run afterwards keeps write (does not downgrade)
      const sourceAgain = await f.run(f.sourceArgs());
      assert.equal(sourceAgain.code, 0, describeRun(sourceAgain));
      assert.deepEqual(ourRules(await f.olcAccess(DATA_DB)), [`{0}${rule('write')}`]);
    });
  });

  test('re-run: exit 0, "nothing to change", no write logged, cn=config unchanged', async () => {
    await withSlapd(async (f) => {
      const both = f.sourceArgs(['--isDestination']);
      const first = await f.run(both);
      assert.equal(first.code, 0, describeRun(first));
      const accessBefore = await f.olcAccess(DATA_DB);
      const logDbBefore = await f.accesslogDatabase();

      const before = await f.state();
      const offset = f.logSize();
      await sleep(1100);
      const r = await f.run(both);
      assert.equal(r.code, 0, describeRun(r));
      assert.match(r.stdout, /nothing to change/i, describeRun(r));
      assert.deepEqual(
        await f.state(),
        before,
        'cn=config (olcAccess, modifyTimestamp, entryCSN) and the sync user unchanged',
      );
      assert.deepEqual(await f.olcAccess(DATA_DB), accessBefore);
      assert.deepEqual((await f.accesslogDatabase())?.olcaccess, logDbBefore?.olcaccess);

      const lines = f.logLinesFrom(offset);
      const runIds = new Set(lines.map((l) => l.runId));
      assert.equal(runIds.size, 1, 'one run');
      assert.deepEqual(
        lines.filter((l) => l.event === 'write'),
        [],
        'no "event":"write" line',
      );
      const end = lines.find((l) => l.event === 'end');
      assert.equal(end?.exitCode, 0, JSON.stringify(end));
      assert.equal(end?.changed, false, JSON.stringify(end));
      assert.equal(end?.writes, 0, JSON.stringify(end));
    });
  });
});

describe('OpenLDAP admin without cn=config rights (cn=limited)', () => {
  const LDIF_LINE = `olcAccess: {0}to dn.subtree="${BASE}" by dn.exact="${SYNC_DN}"`;

  test('exit 50, nothing written, prints an LDIF root can apply over LDAPI; the tool then finds the rule as its own', async () => {
    await withSlapd(async (f) => {
      const s = f.slapd;
      const original = await f.olcAccess(DATA_DB);
      let r: RunCliResult | undefined;
      await assertNothingWritten(f, async () => {
        r = await f.run(f.args(['--isDestination'], s.limitedDn));
      });
      assert.ok(r);
      assert.equal(r.code, 50, describeRun(r));
      const output = `${r.stdout}\n${r.stderr}`;
      assert.ok(
        output.split('\n').some((line) => line.startsWith(LDIF_LINE)),
        describeRun(r),
      );
      assert.ok(output.includes('ldapmodify -Q -Y EXTERNAL -H ldapi:///'), describeRun(r));
      assert.ok(!output.includes(SYNC_PASSWORD) && !output.includes(s.adminPassword), 'no password printed');

      if (!isRoot) return; // applying it needs root's SASL EXTERNAL identity
      // The operator runs part 1 as root as printed (on this server's socket); the sync user is created by the admin run below.
      execFileSync('sh', ['-c', fixParts(r.stderr, s.ldapiUrl).root], { encoding: 'utf8' });

      const values = await f.olcAccess(DATA_DB);
      assertOursFirst(values, original, 'write');

      // The rule root applied is the one the tool makes: a run as the real admin keeps it and creates the user.
      const admin = await f.run(f.args(['--isDestination']));
      assert.equal(admin.code, 0, describeRun(admin));
      assert.match(
        admin.stdout,
        /Write access for the sync user on 'dc=example,dc=com' \.+ Unchanged/,
        describeRun(admin),
      );
      assert.deepEqual(await f.olcAccess(DATA_DB), values, 'the applied rule was not touched');
      const added = await addPerson(s.url, syncBind, 'after-ldif');
      await withClient(s.url, syncBind, (c) => c.del(added));
    });
  });

  test('source: exit 50, nothing written, read rule printed', async () => {
    await withSlapd(async (f) => {
      let r: RunCliResult | undefined;
      await assertNothingWritten(f, async () => {
        r = await f.run(f.args(['--isSource', '--accesslogDirectory', f.slapd.accesslogDirectory], f.slapd.limitedDn));
      });
      assert.ok(r);
      assert.equal(r.code, 50, describeRun(r));
      assert.ok(`${r.stdout}\n${r.stderr}`.split('\n').includes(`${LDIF_LINE} read by * break`), describeRun(r));
    });
  });

  test('source: the printed LDIF also sets up the change log (module, cn=accesslog, overlay)', async () => {
    await withSlapd(async (f) => {
      const r = await f.run(
        f.args(['--isSource', '--accesslogDirectory', f.slapd.accesslogDirectory], f.slapd.limitedDn),
      );
      assert.equal(r.code, 50, describeRun(r));
      assert.match(r.stderr, /olcModuleLoad: accesslog/, describeRun(r));
      assert.match(r.stderr, /olcSuffix: cn=accesslog/, describeRun(r));
      assert.match(r.stderr, /olcAccessLogDB: cn=accesslog/, describeRun(r));
    });
  });

  test(
    'root applies part 1 of the printed fix, the admin part 2 (password set with ldappasswd): the sync user exists and may write',
    { skip: !isRoot },
    async () => {
      await withSlapd(async (f) => {
        const r = await f.run(f.args(['--isDestination'], f.slapd.limitedDn));
        assert.equal(r.code, 50, describeRun(r));
        const parts = fixParts(r.stderr, f.slapd.ldapiUrl);
        assert.doesNotMatch(r.stderr, /userPassword|\*{8}/, 'no password, not even masked');
        execFileSync('sh', ['-c', parts.root], { encoding: 'utf8' });
        // Part 2 as printed, with the two passwords given where a person would type them.
        const adminPassword = path.join(f.tmp, 'admin-nonl.pw');
        writeFileSync(adminPassword, f.slapd.adminPassword, { mode: 0o600 });
        execFileSync(
          'sh',
          ['-c', parts.admin.replaceAll(' -W ', ` -y '${adminPassword}' `).replace(' -S ', ` -s '${SYNC_PASSWORD}' `)],
          { encoding: 'utf8' },
        );
        assert.equal(await canBind(f.slapd.url, SYNC_DN, SYNC_PASSWORD), true);
        const added = await addPerson(f.slapd.url, syncBind, 'after-root-ldif');
        await withClient(f.slapd.url, syncBind, (c) => c.del(added));
      });
    },
  );
});
