// Servers hardened the way security guides recommend answer nobody anonymous, not even the root DSE read:
// 389 DS with nsslapd-allow-anonymous-access off (48), slapd with olcRequires authc (53). The run binds as the
// admin first and reads the root DSE after; both roles are prepared, a re-run is unchanged, and no run waits
// for the server to hang up (a connection left open on a failure kept the process alive for an hour or ever).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { Attribute, Change } from 'ldapts';
import { runCli, type RunCliResult } from '../helpers/cli.js';
import { canBind, resultCode, withClient } from '../helpers/directory.js';
import { describeRun, makeTempDir, secretFile } from '../helpers/fixture.js';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { startSlapd, type Slapd } from '../servers/openldap.js';

const BASE = 'dc=example,dc=com';
const SYNC_PASSWORD = 'Hardened-Sync-Secret-42';

let tmp = '';
let ds: Ds389 | undefined;
let slapd: Slapd | undefined;

before(async () => {
  tmp = makeTempDir('pes-hardened-');
  [ds, slapd] = await Promise.all([startDs389(), startSlapd()]);
  await withClient(ds.url, { dn: ds.adminDn, password: ds.adminPassword }, (c) =>
    c.modify(
      'cn=config',
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'nsslapd-allow-anonymous-access', values: ['off'] }),
      }),
    ),
  );
  await withClient(slapd.url, { dn: slapd.configAdminDn, password: slapd.adminPassword }, (c) =>
    c.modify(
      'olcDatabase={-1}frontend,cn=config',
      new Change({ operation: 'add', modification: new Attribute({ type: 'olcRequires', values: ['authc'] }) }),
    ),
  );
});

after(async () => {
  await Promise.all([ds?.stop(), slapd?.stop()]);
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

/** The anonymous root DSE read is refused: the hardening is in place (else the test proves nothing). */
async function assertAnonymousRefused(url: string, expected: number): Promise<void> {
  const code = await withClient(url, undefined, async (c) => {
    try {
      await c.search('', { scope: 'base', attributes: ['vendorName'] });
      return 0;
    } catch (error) {
      return resultCode(error);
    }
  });
  assert.equal(code, expected, 'the server refuses anonymous reads of the root DSE');
}

function args(server: { port: number; adminDn: string; adminPassword: string }, extra: string[]): string[] {
  return [
    '-h',
    '127.0.0.1',
    '-p',
    String(server.port),
    '-D',
    server.adminDn,
    '--bindPasswordFile',
    secretFile(tmp, `admin-${server.port}.pw`, server.adminPassword),
    '--syncServerBindPasswordFile',
    secretFile(tmp, 'sync.pw', SYNC_PASSWORD),
    '-b',
    BASE,
    '--isSource',
    '--isDestination',
    '--changelogMaximumAge',
    '3d',
    '--no-prompt',
    '--logFile',
    path.join(tmp, `run-${server.port}.log`),
    ...extra,
  ];
}

async function run(cliArgs: string[]): Promise<RunCliResult> {
  // A hang guard, not a timed assertion: the run used to wait for the server to hang up.
  const r = await runCli(cliArgs, { timeoutMs: 120_000 });
  assert.equal(r.timedOut, false, `the run ended by itself\n${describeRun(r)}`);
  return r;
}

describe('hardened servers: the admin binds before the root DSE is read', () => {
  test('389 DS with nsslapd-allow-anonymous-access off: both roles prepared, the sync user binds, a re-run changes nothing', async () => {
    const server = ds as Ds389;
    await assertAnonymousRefused(server.url, 48);
    const r = await run(args(server, []));
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /Server type: 389 Directory Server/i, describeRun(r));
    assert.ok(await canBind(server.url, `cn=Sync User,${BASE}`, SYNC_PASSWORD), 'the sync user binds');
    const again = await run(args(server, []));
    assert.equal(again.code, 0, describeRun(again));
    assert.doesNotMatch(again.stdout, /\b(Created|Updated)\b/, describeRun(again));
  });

  test('slapd with olcRequires authc: both roles prepared, the sync user binds, a re-run changes nothing', async () => {
    const server = slapd as Slapd;
    await assertAnonymousRefused(server.url, 53);
    const extra = ['--accesslogDirectory', server.accesslogDirectory];
    const r = await run(args(server, extra));
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /Server type: OpenLDAP/i, describeRun(r));
    assert.ok(await canBind(server.url, `cn=Sync User,${BASE}`, SYNC_PASSWORD), 'the sync user binds');
    const again = await run(args(server, extra));
    assert.equal(again.code, 0, describeRun(again));
    assert.doesNotMatch(again.stdout, /\b(Created|Updated)\b/, describeRun(again));
  });

  test('a wrong admin password on a hardened server: exit 49 at once, one line, the process does not wait', async () => {
    const server = slapd as Slapd;
    const r = await run([
      ...args(server, ['--accesslogDirectory', server.accesslogDirectory]),
      '--bindPasswordFile',
      secretFile(tmp, 'wrong.pw', 'Wrong-Password-1'),
    ]);
    assert.equal(r.code, 49, describeRun(r));
    assert.equal(r.stderr.split('\n').filter((line) => line.trim() !== '').length, 1, describeRun(r));
  });
});
