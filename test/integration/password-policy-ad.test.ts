// The sync account against a domain lockout policy on Samba AD (issue 22), judged as the sync user: a domain
// lockout threshold of 3, yet five wrong binds leave the account working (its own PSO has no lockout); the
// destination user cannot change the PSO or the domain's password settings; --resetSyncServerBindPassword on a
// locked account unlocks it; --remove takes the PSO away with the account; a source run (DirSync) is verified too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '../../src/ldap/directory.js';
import type { Directory } from '../../src/model/directory.js';
import type { Change } from '../../src/model/entries.js';
import { valuesOf } from '../../src/model/entries.js';
import { runCli, type RunCliResult } from '../helpers/cli.js';
import { describeRun } from '../helpers/fixture.js';
import { sambaSkipReason, startSamba, type SambaDc } from '../servers/samba.js';

const skip = sambaSkipReason();
const BASE = 'DC=example,DC=com';
const TARGET_OU = `OU=Policy Target,${BASE}`;
const SYNC_DN = `CN=Sync User,CN=Users,${BASE}`;
const PSO_DN = `CN=prepare-endpoint-server sync account,CN=Password Settings Container,CN=System,${BASE}`;
const SYNC_PASSWORD = `Sync-${randomUUID()}-aA1!`;
const NEW_PASSWORD = `Sync-${randomUUID()}-bB2!`;

let dc: SambaDc;
let tmp: string;

async function open(bind: { dn: string; password: string } | undefined): Promise<Directory> {
  const directory = await connect({
    host: '127.0.0.1',
    port: 389,
    security: 'none',
    trust: { kind: 'all' },
    connectTimeoutMs: 5000,
    operationTimeoutMs: 30_000,
  });
  if (bind !== undefined) await directory.bind(bind.dn, bind.password);
  return directory;
}

async function as<T>(bind: { dn: string; password: string }, fn: (d: Directory) => Promise<T>): Promise<T> {
  const d = await open(bind);
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

const admin = (): { dn: string; password: string } => ({ dn: dc.adminDn, password: dc.adminPassword });

/** The result code of a bind (0 when it succeeds) and AD's data sub-code when it says one. */
async function bindOutcome(password: string): Promise<string> {
  try {
    await as({ dn: SYNC_DN, password }, () => Promise.resolve());
    return '0';
  } catch (error) {
    const e = error as { resultCode?: number; serverMessage?: string };
    const data = /\bdata ([0-9a-f]{3})/i.exec(e.serverMessage ?? '')?.[1];
    return `${e.resultCode ?? '?'}${data === undefined ? '' : ` data ${data}`}`;
  }
}

/** The result code of `change` made as the sync user (0 when it is made). */
async function asSyncUser(password: string, change: Change): Promise<number> {
  try {
    await as({ dn: SYNC_DN, password }, (d) => d.apply(change));
    return 0;
  } catch (error) {
    return (error as { resultCode?: number }).resultCode ?? -1;
  }
}

function run(extra: string[], syncPassword = SYNC_PASSWORD, base = TARGET_OU): Promise<RunCliResult> {
  const adminFile = path.join(tmp, 'admin.pw');
  const syncFile = path.join(tmp, `sync-${syncPassword.length}-${syncPassword.slice(-3)}.pw`);
  writeFileSync(adminFile, `${dc.adminPassword}\n`, { mode: 0o600 });
  writeFileSync(syncFile, `${syncPassword}\n`, { mode: 0o600 });
  return runCli(
    [
      '-h',
      '127.0.0.1',
      '-D',
      dc.adminDn,
      '--bindPasswordFile',
      adminFile,
      '--syncServerBindPasswordFile',
      syncFile,
      '--no-prompt',
      '--logFile',
      path.join(tmp, 'run.log'),
      '-b',
      base,
      '--useSSL',
      '--trustAll',
      ...extra,
    ],
    { timeoutMs: 90_000 },
  );
}

async function wrongBinds(times: number): Promise<void> {
  for (let i = 0; i < times; i++) assert.notEqual(await bindOutcome(`wrong-${i}`), '0');
}

describe('Samba AD with a domain lockout threshold of 3', { skip: skip ?? false }, () => {
  before(async () => {
    dc = await startSamba();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pes-ad-policy-'));
    await as(admin(), async (d) => {
      await d.apply({
        kind: 'modify',
        dn: BASE,
        modifications: [
          { operation: 'replace', attribute: 'lockoutThreshold', values: ['3'] },
          { operation: 'replace', attribute: 'lockOutObservationWindow', values: ['-18000000000'] },
          { operation: 'replace', attribute: 'lockoutDuration', values: ['-18000000000'] },
        ],
      });
      await d.apply({
        kind: 'add',
        dn: TARGET_OU,
        attributes: { objectClass: ['top', 'organizationalUnit'], ou: ['Policy Target'] },
      });
    });
  });

  after(async () => {
    await dc?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  test('destination: its own PSO (no lockout), verified with a probe entry; five wrong binds, then the right one binds', async () => {
    const r = await run(['--isDestination', '--json']);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal((JSON.parse(r.stdout) as { verified: boolean }).verified, true, describeRun(r));
    const pso = await as(admin(), (d) => d.read(PSO_DN, ['msDS-LockoutThreshold', 'msDS-PSOAppliesTo']));
    assert.deepEqual(valuesOf(pso, 'msDS-LockoutThreshold'), ['0']);
    assert.equal(valuesOf(pso, 'msDS-PSOAppliesTo').length, 1);
    await wrongBinds(5);
    assert.equal(await bindOutcome(SYNC_PASSWORD), '0', 'not locked');
  });

  test('the destination sync user cannot change its PSO nor the domain password settings', async () => {
    const replace = (dn: string, attribute: string, value: string): Change => ({
      kind: 'modify',
      dn,
      modifications: [{ operation: 'replace', attribute, values: [value] }],
    });
    assert.equal(await asSyncUser(SYNC_PASSWORD, replace(PSO_DN, 'msDS-LockoutThreshold', '1')), 50);
    assert.equal(await asSyncUser(SYNC_PASSWORD, replace(BASE, 'lockoutThreshold', '0')), 50);
  });

  test('--resetSyncServerBindPassword on a locked account: unlocked, its PSO back, the new password binds', async () => {
    // Locked as an older version left it: without its PSO, three wrong binds.
    await as(admin(), (d) => d.apply({ kind: 'delete', dn: PSO_DN }));
    await wrongBinds(3);
    assert.match(await bindOutcome(SYNC_PASSWORD), /^49 data 775$/, 'locked');
    const r = await run(['--isDestination', '--resetSyncServerBindPassword'], NEW_PASSWORD);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /access \.+ Denied \(the account is locked/, describeRun(r));
    assert.equal(await bindOutcome(NEW_PASSWORD), '0');
    const account = await as(admin(), (d) => d.read(SYNC_DN, ['pwdLastSet', 'lockoutTime']));
    assert.notEqual(valuesOf(account, 'pwdLastSet')[0], '0', 'never must-change');
  });

  test('--remove takes the PSO away with the account', async () => {
    const r = await run(['--remove', '--isDestination'], NEW_PASSWORD);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await as(admin(), (d) => d.read(PSO_DN, ['objectClass'])), undefined);
    assert.equal(await as(admin(), (d) => d.read(SYNC_DN, ['objectClass'])), undefined);
  });

  test('source (DirSync rights on the domain): its own PSO, verified; five wrong binds, then DirSync as the sync user; --remove takes its PSO', async () => {
    const r = await run(['--isSource', '--json'], SYNC_PASSWORD, BASE);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal((JSON.parse(r.stdout) as { verified: boolean }).verified, true, describeRun(r));
    const pso = await as(admin(), (d) => d.read(PSO_DN, ['msDS-LockoutThreshold', 'msDS-PSOAppliesTo']));
    assert.deepEqual(valuesOf(pso, 'msDS-LockoutThreshold'), ['0']);
    await wrongBinds(5);
    assert.equal(await bindOutcome(SYNC_PASSWORD), '0', 'not locked');
    const entries = await as({ dn: SYNC_DN, password: SYNC_PASSWORD }, async (d) => {
      const result = await d.dirSync(BASE, '(objectClass=organizationalUnit)', ['objectClass'], {});
      return result.entries.length;
    });
    assert.ok(entries > 0, 'DirSync as the sync user returns entries');

    // A shortened domain maximum age is not tested here: Samba 4.17 showed no expiry to observe (README).
    const removed = await run(['--remove', '--isSource'], SYNC_PASSWORD, BASE);
    assert.equal(removed.code, 0, describeRun(removed));
    assert.equal(await as(admin(), (d) => d.read(PSO_DN, ['objectClass'])), undefined);
  });
});
