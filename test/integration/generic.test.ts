// The generic profile, forced with --serverType generic on a real throw-away slapd: it creates the sync
// user and nothing else, and tells the operator (on stderr) to set rights and the change log by hand.
// Checked on the server as cn=admin,dc=example,dc=com, who manages cn=config.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'ldapts';
import { startSlapd, type Slapd } from '../servers/openldap.js';
import { runCli } from '../helpers/cli.js';
import { connectionArgs, describeRun, fileSize, logLines, makeTempDir, secretFile } from '../helpers/fixture.js';
import { canBind, readEntry, withClient, type Bind } from '../helpers/directory.js';

const BASE = 'dc=example,dc=com';
const SYNC_DN = `cn=Sync User,${BASE}`;
const SYNC_PASSWORD = `Sync-Generic-${randomUUID()}`;

/** All of cn=config, with modifyTimestamp and entryCSN, sorted by DN. */
async function configState(s: Slapd, admin: Bind): Promise<Array<Record<string, string[]>>> {
  return withClient(s.url, admin, async (c: Client) => {
    const res = await c.search('cn=config', {
      scope: 'sub',
      filter: '(objectClass=*)',
      attributes: ['*', 'modifyTimestamp', 'entryCSN'],
    });
    return res.searchEntries
      .map((e) => {
        const out: Record<string, string[]> = {};
        for (const [name, value] of Object.entries(e)) {
          const list = Array.isArray(value) ? value : [value];
          out[name.toLowerCase()] = list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
        }
        return out;
      })
      .sort((a, b) => String(a.dn).localeCompare(String(b.dn)));
  });
}

/** A run of the generic profile forced on `s` as its admin (password files written into `tmp`); `extra` last. */
function genericArgs(s: Slapd, tmp: string, logFile: string, extra: string[]): string[] {
  return connectionArgs(
    {
      host: s.host,
      port: s.port,
      bindDn: s.adminDn,
      adminPasswordFile: secretFile(tmp, 'admin.pw', s.adminPassword),
      syncPasswordFile: secretFile(tmp, 'sync.pw', SYNC_PASSWORD),
      logFile,
    },
    ['-b', BASE, '--serverType', 'generic', ...extra],
  );
}

describe('generic profile forced on slapd (--serverType generic)', () => {
  test('--isSource --isDestination: sync user created, no olcAccess rule, no overlay, exit 0, hand-work warnings; re-run writes nothing', async () => {
    const s = await startSlapd();
    const tmp = makeTempDir('pes-generic-');
    try {
      const admin: Bind = { dn: s.adminDn, password: s.adminPassword };
      const logFile = path.join(tmp, 'run.log');
      const args = genericArgs(s, tmp, logFile, ['--isSource', '--isDestination', '--changelogMaximumAge', '3d']);
      const configBefore = await configState(s, admin);
      assert.ok(configBefore.length > 0, 'the admin reads cn=config');

      const r = await runCli(args, { timeoutMs: 30_000 });
      assert.equal(r.code, 0, describeRun(r));
      assert.match(r.stdout, /from --serverType/, describeRun(r));

      // the sync user, and only that
      const user = await readEntry(s.url, admin, SYNC_DN, ['objectClass']);
      assert.ok(user, `${SYNC_DN} exists`);
      assert.ok(
        user.objectclass?.some((v) => v.toLowerCase() === 'inetorgperson'),
        JSON.stringify(user.objectclass),
      );
      assert.equal(await canBind(s.url, SYNC_DN, SYNC_PASSWORD), true, 'the sync user binds');
      assert.deepEqual(
        await configState(s, admin),
        configBefore,
        'cn=config untouched: no olcAccess rule, no module, no overlay, no database',
      );

      const writes = logLines(logFile, 0).filter((l) => l.event === 'write');
      assert.deepEqual(
        writes.map((l) => [l.kind, String(l.dn)]),
        [['add', SYNC_DN]],
        'one write: the sync user',
      );

      // stderr tells the operator what is left to do by hand: rights on the base, and the change log
      assert.match(
        r.stderr,
        new RegExp(`Grant '${SYNC_DN}' the right to read.*add, modify, rename and delete.*under '${BASE}'`),
        describeRun(r),
      );
      assert.match(r.stderr, /change log by hand/i, describeRun(r));
      assert.match(r.stdout, /warning/i, 'the summary counts the warnings');

      // re-run: still exit 0 with the same warnings, nothing written
      const offset = fileSize(logFile);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const again = await runCli(args, { timeoutMs: 30_000 });
      assert.equal(again.code, 0, describeRun(again));
      assert.match(again.stderr, /change log by hand/i, describeRun(again));
      assert.deepEqual(await configState(s, admin), configBefore);
      const lines = logLines(logFile, offset);
      assert.deepEqual(
        lines.filter((l) => l.event === 'write'),
        [],
        'no "event":"write" on the re-run',
      );
      assert.equal(lines.find((l) => l.event === 'end')?.changed, false);
    } finally {
      await s.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('--accesslogDirectory is ignored with a warning (no accesslog database made)', async () => {
    const s = await startSlapd();
    const tmp = makeTempDir('pes-generic-');
    try {
      const admin: Bind = { dn: s.adminDn, password: s.adminPassword };
      const configBefore = await configState(s, admin);
      const r = await runCli(
        genericArgs(s, tmp, path.join(tmp, 'run.log'), ['--isSource', '--accesslogDirectory', s.accesslogDirectory]),
        { timeoutMs: 30_000 },
      );
      assert.equal(r.code, 0, describeRun(r));
      assert.match(r.stderr, /--accesslogDirectory applies to OpenLDAP only/, describeRun(r));
      assert.deepEqual(await configState(s, admin), configBefore);
    } finally {
      await s.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
