// The Ansible collection (ansible/ansible_collections/pes/endpoint) driven by the real engine: Debian's
// ansible-playbook runs the collection's example playbook, with forks > 1, over an inventory of four real
// servers (two 389 DS, two slapd; a source and a destination of each) and the built CLI. Every claim is
// checked on the servers themselves: check mode writes nothing, the first run prepares every host (the sync
// users bind and do what their role needs), the second run changes nothing (play recap and server state),
// a host whose server is down fails alone, no password reaches Ansible's output even at -vvv nor the CLI's
// command line, and state=absent undoes. Also: ansible-doc renders the module's documentation, and the
// module compiles with the Python Ansible uses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cliPath, repoRoot } from '../helpers/cli.js';
import { makeTempDir, started } from '../helpers/fixture.js';
import {
  canBind,
  dumpEntries,
  readEntry,
  resultCode,
  searchFirstValues,
  withClient,
  type Bind,
  type Dump,
} from '../helpers/directory.js';
import { accessRulesFor, slapdState } from '../helpers/slapd-state.js';
import { freePort, startDs389, type Ds389 } from '../servers/ds389.js';
import { startSlapd, type Slapd } from '../servers/openldap.js';

const BASE = 'dc=example,dc=com';
const SYNC_DN = `cn=Sync User,${BASE}`;
const PLUGIN_DN = 'cn=Retro Changelog Plugin,cn=plugins,cn=config';
const COLLECTIONS = path.join(repoRoot, 'ansible');
const COLLECTION = path.join(COLLECTIONS, 'ansible_collections', 'pes', 'endpoint');
const MODULE_FILE = path.join(COLLECTION, 'plugins', 'modules', 'prepare_endpoint_server.py');
const PLAYBOOK = 'pes.endpoint.prepare_fleet';
const MODULE = 'pes.endpoint.prepare_endpoint_server';

// Sentinel passwords: the harness gives its servers these admin passwords, the playbook the sync password.
const DS_ADMIN_PASSWORD = `Ds-Admin-${randomUUID()}`;
const SLAPD_ADMIN_PASSWORD = `Slapd-Admin-${randomUUID()}`;
const SYNC_PASSWORD = `Sync-Fleet-${randomUUID()}`;
const SECRETS = [DS_ADMIN_PASSWORD, SLAPD_ADMIN_PASSWORD, SYNC_PASSWORD];

const HOSTS = ['ds389-source', 'ds389-destination', 'slapd-source', 'slapd-destination'] as const;
type HostName = (typeof HOSTS)[number];

const ansibleMissing = ['ansible-playbook', 'ansible-doc'].filter(
  (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0,
);
const skip =
  ansibleMissing.length > 0 ? `${ansibleMissing.join(', ')} not installed (test/run.sh installs ansible-core)` : false;

let tmp = '';
let binDir = '';
let argvDir = '';
let dsSource: Ds389 | undefined;
let dsDestination: Ds389 | undefined;
let slapdSource: Slapd | undefined;
let slapdDestination: Slapd | undefined;
let downPort = 0;
/** Every output of ansible-playbook and ansible-doc, for the no-password check. */
const outputs: string[] = [];

interface Played {
  code: number | null;
  /** stdout and stderr as they came. */
  output: string;
  stdout: string;
  ms: number;
}

/** The environment of every Ansible command: nothing from or into ~/.ansible, the built CLI on PATH. */
function ansibleEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${binDir}:${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    LC_ALL: 'C.UTF-8',
    ANSIBLE_CONFIG: path.join(tmp, 'ansible.cfg'),
    ANSIBLE_HOME: path.join(tmp, 'ansible-home'),
    ANSIBLE_LOCAL_TEMP: path.join(tmp, 'ansible-tmp'),
    // where the module is copied for delegate_to: localhost (default ~/.ansible/tmp)
    ANSIBLE_REMOTE_TEMP: path.join(tmp, 'ansible-tmp'),
    ANSIBLE_COLLECTIONS_PATH: COLLECTIONS,
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_STDOUT_CALLBACK: 'default',
    // With -v, each host's result on one line after `=> `.
    ANSIBLE_CALLBACK_FORMAT_PRETTY: '0',
    ANSIBLE_CALLBACK_RESULT_FORMAT: 'json',
    NO_COLOR: '1',
    PES_ARGV_DIR: argvDir,
  };
}

async function ansible(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Played> {
  const started_ = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: tmp,
      env: { ...ansibleEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    const stdout: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => {
      chunks.push(b);
      stdout.push(b);
    });
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const output = Buffer.concat(chunks).toString('utf8');
      outputs.push(output);
      resolve({ code, output, stdout: Buffer.concat(stdout).toString('utf8'), ms: Date.now() - started_ });
    });
  });
}

function playbook(inventory: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Played> {
  return ansible('ansible-playbook', ['-i', path.join(tmp, inventory), '--forks', '5', ...extra, PLAYBOOK], env);
}

interface Recap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
}

/** The PLAY RECAP line of each host. */
function recap(output: string): Record<string, Recap> {
  const out: Record<string, Recap> = {};
  const at = output.lastIndexOf('PLAY RECAP');
  assert.ok(at >= 0, `a play recap:\n${output}`);
  for (const line of output.slice(at).split('\n')) {
    const m = /^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/.exec(line);
    if (m) out[m[1]!] = { ok: Number(m[2]), changed: Number(m[3]), unreachable: Number(m[4]), failed: Number(m[5]) };
  }
  return out;
}

function describePlay(p: Played): string {
  return `ansible-playbook exit ${String(p.code)} after ${p.ms} ms\n${p.output}`;
}

function assertRecap(p: Played, expected: Partial<Record<string, Partial<Recap>>>): void {
  const got = recap(p.output);
  for (const [host, want] of Object.entries(expected)) {
    assert.ok(got[host], `${host} in the recap\n${describePlay(p)}`);
    for (const [key, value] of Object.entries(want ?? {})) {
      assert.equal(got[host][key as keyof Recap], value, `${host} ${key}\n${describePlay(p)}`);
    }
  }
}

/** Each host's module result, from the default callback's `changed: [host -> localhost] => {...}` lines (-v). */
function hostResults(output: string): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const m of output.matchAll(/^(?:ok|changed|fatal): \[([^\]\s]+) -> localhost\]:? (?:FAILED! )?=> (\{.*\})$/gm)) {
    out[m[1]!] = JSON.parse(m[2]!) as Record<string, unknown>;
  }
  return out;
}

const allHosts = (want: Partial<Recap>): Record<string, Partial<Recap>> =>
  Object.fromEntries(HOSTS.map((h) => [h, want]));

/** The inventory: the four servers as the example playbook expects them; `withDown` adds a host nothing answers. */
function writeInventory(name: string, withDown: boolean): void {
  const ds = (d: Ds389): Record<string, unknown> => ({
    ldap_host: d.host,
    ldap_port: d.port,
    ldap_admin_dn: d.adminDn,
    ldap_admin_password: d.adminPassword,
  });
  const slapd = (s: Slapd): Record<string, unknown> => ({
    ldap_host: s.host,
    ldap_port: s.port,
    ldap_admin_dn: s.adminDn,
    ldap_admin_password: s.adminPassword,
  });
  const sources: Record<string, unknown> = {
    'ds389-source': ds(started(dsSource, '389 DS source')),
    'slapd-source': {
      ...slapd(started(slapdSource, 'slapd source')),
      accesslog_directory: started(slapdSource, 'slapd source').accesslogDirectory,
    },
  };
  if (withDown) {
    sources['down'] = {
      ldap_host: '127.0.0.1',
      ldap_port: downPort,
      ldap_admin_dn: 'cn=Directory Manager',
      ldap_admin_password: DS_ADMIN_PASSWORD,
    };
  }
  const inventory = {
    sync_endpoints: {
      vars: {
        sync_user_dn: SYNC_DN,
        sync_user_password: SYNC_PASSWORD,
        sync_base_dns: [BASE],
        changelog_maximum_age: '2d',
        pes_log_file: path.join(tmp, 'cli.log'),
      },
      children: {
        sync_sources: { hosts: sources },
        sync_destinations: {
          hosts: {
            'ds389-destination': ds(started(dsDestination, '389 DS destination')),
            'slapd-destination': slapd(started(slapdDestination, 'slapd destination')),
          },
        },
      },
    },
  };
  // JSON is YAML: Ansible's YAML inventory plugin reads it as it is.
  writeFileSync(path.join(tmp, name), JSON.stringify(inventory, null, 2), { mode: 0o600 });
}

const dsAdmin = (d: Ds389): Bind => ({ dn: d.adminDn, password: d.adminPassword });
const slapdAdmin = (s: Slapd): Bind => ({ dn: s.adminDn, password: s.adminPassword });
const syncBind: Bind = { dn: SYNC_DN, password: SYNC_PASSWORD };

async function acis(d: Ds389, dn: string): Promise<string[]> {
  return (await readEntry(d.url, dsAdmin(d), dn, ['aci']))?.aci ?? [];
}

/** What a run may change on each server, read as its admin. */
async function serverStates(): Promise<Record<HostName, unknown>> {
  const ds = async (d: Ds389): Promise<Dump[]> => [
    await dumpEntries(d.url, dsAdmin(d), BASE, 'sub'),
    await dumpEntries(d.url, dsAdmin(d), 'cn=config', 'base'),
    await dumpEntries(d.url, dsAdmin(d), PLUGIN_DN, 'base'),
  ];
  const slapd = async (s: Slapd): Promise<unknown> => ({
    state: await slapdState(s),
    data: await dumpEntries(s.url, slapdAdmin(s), BASE, 'sub'),
    config: await dumpEntries(s.url, slapdAdmin(s), 'cn=config', 'sub'),
  });
  return {
    'ds389-source': await ds(started(dsSource, '389 DS source')),
    'ds389-destination': await ds(started(dsDestination, '389 DS destination')),
    'slapd-source': await slapd(started(slapdSource, 'slapd source')),
    'slapd-destination': await slapd(started(slapdDestination, 'slapd destination')),
  };
}

/** A destination sync user's real work: add an entry under the base, then delete it. */
async function writeAsSyncUser(url: string, label: string): Promise<void> {
  const dn = `cn=ansible-probe-${label},${BASE}`;
  await withClient(url, syncBind, async (c) => {
    await c.add(dn, { objectClass: ['top', 'person'], cn: `ansible-probe-${label}`, sn: 'Probe' });
    await c.del(dn);
  });
}

/** The argv of every CLI run the module started (recorded by the wrapper on PATH). */
function recordedRuns(): { argv: string[]; env: string[] }[] {
  return readdirSync(argvDir)
    .filter((f) => f.endsWith('.argv'))
    .map((f) => ({
      argv: readFileSync(path.join(argvDir, f), 'utf8').split('\0').slice(0, -1),
      env: readFileSync(path.join(argvDir, f.replace(/\.argv$/, '.env')), 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
    }));
}

describe('Ansible collection pes.endpoint with ansible-playbook', { skip }, () => {
  before(async () => {
    process.env.DS_DM_PASSWORD = DS_ADMIN_PASSWORD;
    process.env.SLAPD_ADMIN_PASSWORD = SLAPD_ADMIN_PASSWORD;
    tmp = makeTempDir('pes-ansible-');
    binDir = path.join(tmp, 'bin');
    argvDir = path.join(tmp, 'argv');
    for (const dir of [binDir, argvDir, path.join(tmp, 'ansible-home'), path.join(tmp, 'ansible-tmp')])
      mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(tmp, 'ansible.cfg'), '[defaults]\ninterpreter_python = auto_silent\n');
    // `prepare-endpoint-server` on PATH, as the module's default executable finds it: records its argv
    // (NUL-separated) and the names of its PES_* variables, then runs the built CLI.
    const wrapper = path.join(binDir, 'prepare-endpoint-server');
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        'f="$PES_ARGV_DIR/$$"',
        'printf \'%s\\0\' "$@" > "$f.argv"',
        'env | sed -n \'s/^\\(PES_[A-Z_]*\\)=.*/\\1/p\' > "$f.env"',
        `exec "${cliPath}" "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(wrapper, 0o755);
    // Two 389 DS (the source with dynamic plugins on, so its change log starts without a restart) and two
    // slapd, created at once.
    [dsSource, dsDestination, slapdSource, slapdDestination] = await Promise.all([
      startDs389({ dynamicPlugins: true }),
      startDs389(),
      startSlapd(),
      startSlapd(),
    ]);
    downPort = await freePort();
    writeInventory('inventory.yml', false);
    writeInventory('inventory-down.yml', true);
  });

  after(async () => {
    await Promise.all([dsSource?.stop(), dsDestination?.stop(), slapdSource?.stop(), slapdDestination?.stop()]);
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  test('ansible-doc renders the module documentation, and the module compiles with the Python Ansible uses', async () => {
    const doc = await ansible('ansible-doc', ['-t', 'module', MODULE]);
    assert.equal(doc.code, 0, doc.output);
    assert.doesNotMatch(doc.output, /ERROR|WARNING/, doc.output);
    for (const option of [
      'bind_password',
      'sync_server_bind_password',
      'base_dn',
      'is_source',
      'state',
      'executable',
      'use_start_tls',
    ]) {
      assert.match(doc.output, new RegExp(`^[-=] ${option}$`, 'm'), `option ${option} documented`);
    }
    assert.match(doc.output, /check_mode/);
    assert.match(doc.output, /RETURN VALUES/);
    const snippet = await ansible('ansible-doc', ['-s', '-t', 'module', MODULE]);
    assert.equal(snippet.code, 0, snippet.output);
    // ansible-playbook's own Python (its shebang), which runs the module for delegate_to: localhost.
    const python =
      /^#!\s*(\S+)/.exec(
        readFileSync(
          spawnSync('sh', ['-c', 'command -v ansible-playbook'], { encoding: 'utf8' }).stdout.trim(),
          'utf8',
        ),
      )?.[1] ?? 'python3';
    const inventory = await ansible('ansible-inventory', [
      '-i',
      path.join(COLLECTION, 'examples', 'inventory.yml'),
      '--graph',
    ]);
    assert.equal(inventory.code, 0, inventory.output);
    assert.match(
      inventory.output,
      /@sync_sources:\n[ |]+--ds1\.example\.com\n[ |]+--ldap1\.example\.com\n/,
      inventory.output,
    );
    assert.match(
      inventory.output,
      /@sync_destinations:\n[ |]+--ds2\.example\.com\n[ |]+--ldap2\.example\.com\n/,
      inventory.output,
    );
    const compiled = spawnSync(
      python,
      [
        '-c',
        'import sys, py_compile; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)',
        MODULE_FILE,
        path.join(tmp, 'module.pyc'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(compiled.status, 0, compiled.stderr);
  });

  test('bad module arguments fail before the CLI runs; a CLI usage error is failed with its message and rc 89', async () => {
    const adHoc = (args: string, env: NodeJS.ProcessEnv = {}): Promise<Played> =>
      ansible('ansible', ['localhost', '-m', MODULE, '-a', args], env);
    const common =
      'hostname=127.0.0.1 port=1 bind_dn=cn=x bind_password=Dummy-Admin-Pw sync_server_bind_password=Dummy-Sync-Pw base_dn=dc=example,dc=com is_source=true';
    const exclusive = await adHoc(`${common} use_ssl=true use_start_tls=true`);
    assert.notEqual(exclusive.code, 0);
    assert.match(exclusive.output, /parameters are mutually exclusive: use_ssl\|use_start_tls/, exclusive.output);
    const noPassword = await adHoc(
      'hostname=127.0.0.1 bind_dn=cn=x base_dn=dc=example,dc=com is_source=true sync_server_bind_password=Dummy-Sync-Pw',
    );
    assert.match(
      noPassword.output,
      /one of bind_password, bind_password_file, properties_file_path is required/,
      noPassword.output,
    );
    const missing = await adHoc(`${common} executable=no-such-prepare-endpoint-server`);
    assert.match(missing.output, /executable 'no-such-prepare-endpoint-server' was not found in PATH/, missing.output);
    const badDn = await adHoc(
      'hostname=127.0.0.1 port=1 bind_dn=cn=x bind_password=Dummy-Admin-Pw sync_server_bind_password=Dummy-Sync-Pw base_dn=not-a-dn is_source=true',
    );
    assert.match(badDn.output, /FAILED! => .*"msg": "Invalid DN for --baseDN 'not-a-dn'/s, badDn.output);
    assert.match(badDn.output, /"rc": 89/, badDn.output);
  });

  test('check mode (--check --diff): every host would change, the LDIF is shown with passwords masked, the servers are untouched', async () => {
    const before_ = await serverStates();
    const p = await playbook('inventory.yml', ['--check', '--diff']);
    assert.equal(p.code, 0, describePlay(p));
    assertRecap(p, allHosts({ changed: 1, failed: 0 }));
    assert.match(p.output, /changetype: add/, describePlay(p));
    assert.match(p.output, /userPassword: \*{8}/, describePlay(p));
    assert.deepEqual(await serverStates(), before_, 'check mode wrote nothing');
    assert.equal(
      await readEntry(started(slapdSource, 'slapd').url, slapdAdmin(started(slapdSource, 'slapd')), SYNC_DN),
      undefined,
    );
  });

  test('first run, forks 5, with --diff: every host changed; the servers are prepared and the sync users do their job', async () => {
    const p = await playbook('inventory.yml', ['--diff', '-v']);
    assert.equal(p.code, 0, describePlay(p));
    assertRecap(p, allHosts({ ok: 1, changed: 1, failed: 0 }));
    const results = hostResults(p.output);
    for (const host of HOSTS) {
      const r = results[host];
      assert.ok(r, `a result for ${host}\n${describePlay(p)}`);
      assert.equal(r.rc, 0, `${host}: ${JSON.stringify(r)}`);
      assert.equal(r.verified, true, `${host} verified: ${JSON.stringify(r)}`);
      assert.equal(r.sync_user_dn, SYNC_DN);
      assert.ok(
        Array.isArray(r.steps) && (r.steps as { status: string }[]).some((s) => s.status === 'created'),
        `${host} steps`,
      );
    }
    // --diff outside check mode: the LDIF planned for each host, shown before its result.
    assert.equal(
      p.output.split(`dn: ${SYNC_DN}\nchangetype: add\n`).length - 1,
      4,
      `four planned sync user adds\n${describePlay(p)}`,
    );
    assert.equal((results['ds389-source']!.server as { type: string }).type, '389ds');
    assert.equal((results['slapd-destination']!.server as { type: string }).type, 'openldap');
    // change_numbers: what the 389 source's sync user read from the root DSE (slapd has none: cn=accesslog, below).
    const numbers = results['ds389-source']!.change_numbers as { first: string; last: string } | null;
    assert.ok(numbers !== null && /^\d+$/.test(numbers.last), `change numbers: ${JSON.stringify(numbers)}`);
    assert.equal(results['ds389-destination']!.change_numbers, null);
    // The CLI's warnings are Ansible warnings (slapd: the admin's DN lies under the destination base DN).
    assert.match(
      p.output,
      /\[WARNING\]: The admin bind DN 'cn=admin,dc=example,dc=com' is under the\s+destination base DN/,
      describePlay(p),
    );

    // On the servers themselves.
    const ds1 = started(dsSource, '389 DS source');
    const ds2 = started(dsDestination, '389 DS destination');
    const s1 = started(slapdSource, 'slapd source');
    const s2 = started(slapdDestination, 'slapd destination');
    for (const url of [ds1.url, ds2.url, s1.url, s2.url])
      assert.ok(await canBind(url, SYNC_DN, SYNC_PASSWORD), `the sync user binds on ${url}`);
    assert.ok(
      (await acis(ds1, BASE)).some((a) => a.includes('prepare-endpoint-server: sync source read')),
      'source ACI on 389',
    );
    assert.ok(
      (await acis(ds2, BASE)).some((a) => a.includes('prepare-endpoint-server: sync destination write')),
      'destination ACI on 389',
    );
    assert.equal(
      (await readEntry(ds1.url, dsAdmin(ds1), PLUGIN_DN, ['nsslapd-pluginEnabled']))?.[
        'nsslapd-pluginenabled'
      ]?.[0]?.toLowerCase(),
      'on',
    );
    const root = await searchFirstValues(ds1.url, syncBind, '', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['firstChangeNumber', 'lastChangeNumber'],
    });
    assert.match(root[0]?.lastchangenumber ?? '', /^\d+$/, '389 source: the sync user reads the change numbers');
    assert.match(
      (await readEntry(ds2.url, dsAdmin(ds2), 'cn=config', ['passwordAdminDN']))?.passwordadmindn?.[0] ?? '',
      /password administrators/,
    );
    assert.ok((await accessRulesFor(s1, SYNC_DN)).length > 0, 'olcAccess for the sync user on the slapd source');
    assert.ok(
      (await accessRulesFor(s2, SYNC_DN)).some((r) => /write|manage/.test(r)),
      'write rule on the slapd destination',
    );
    // slapd source: a change the admin makes is in cn=accesslog, where the sync user reads it.
    const probe = `cn=ansible-logged,${BASE}`;
    await withClient(s1.url, slapdAdmin(s1), async (c) =>
      c.add(probe, { objectClass: ['top', 'person'], cn: 'ansible-logged', sn: 'Probe' }),
    );
    const logged = await searchFirstValues(s1.url, syncBind, 'cn=accesslog', {
      scope: 'one',
      filter: `(reqDN=${probe})`,
      attributes: ['reqType'],
    });
    assert.deepEqual(
      logged.map((e) => e.reqtype),
      ['add'],
      'the slapd source sync user reads the change in cn=accesslog',
    );
    await withClient(s1.url, slapdAdmin(s1), async (c) => c.del(probe));
    // Destinations: the sync user writes.
    await writeAsSyncUser(ds2.url, 'ds');
    await writeAsSyncUser(s2.url, 'slapd');
    // A source sync user may not write.
    await assert.rejects(
      writeAsSyncUser(ds1.url, 'denied'),
      (err: unknown) => resultCode(err) === 50,
      'the 389 source sync user cannot write',
    );
    await assert.rejects(
      writeAsSyncUser(s1.url, 'denied'),
      (err: unknown) => resultCode(err) === 50,
      'the slapd source sync user cannot write',
    );
  });

  test('second run at -vvv: changed=0 on every host in the play recap, and nothing changed on the servers', async () => {
    const before_ = await serverStates();
    const p = await playbook('inventory.yml', ['-vvv']);
    assert.equal(p.code, 0, describePlay(p));
    assertRecap(p, allHosts({ ok: 1, changed: 0, failed: 0 }));
    assert.deepEqual(await serverStates(), before_, 'the second run wrote nothing');
  });

  test('a host whose server is down fails alone (rc 91 and the CLI message); the other four finish', async () => {
    const p = await playbook('inventory-down.yml');
    assert.notEqual(p.code, 0, describePlay(p));
    assertRecap(p, { ...allHosts({ ok: 1, changed: 0, failed: 0 }), down: { ok: 0, failed: 1 } });
    assert.match(p.output, /fatal: \[down[^\]]*\]: FAILED! => .*"rc": 91/s, describePlay(p));
    assert.match(p.output, new RegExp(`Nothing is listening on 127\\.0\\.0\\.1:${downPort}`), describePlay(p));
  });

  test('no password in any Ansible output (also -vvv), nor on the CLI command lines; passwords went through the environment', () => {
    assert.ok(outputs.length >= 5, `outputs recorded: ${outputs.length}`);
    for (const [i, output] of outputs.entries()) {
      for (const secret of SECRETS)
        assert.ok(!output.includes(secret), `a password in Ansible output #${i}:\n${output}`);
    }
    const vvv = outputs.find((o) => /ESTABLISH LOCAL CONNECTION/.test(o));
    assert.ok(
      vvv !== undefined && /VALUE_SPECIFIED_IN_NO_LOG_PARAMETER/.test(vvv),
      'the -vvv run shows the module arguments, passwords hidden',
    );
    const runs = recordedRuns();
    assert.ok(runs.length >= 4 * 4, `CLI runs recorded: ${runs.length}`);
    for (const run of runs) {
      const argv = run.argv.join(' ');
      for (const secret of SECRETS) assert.ok(!argv.includes(secret), `a password on the command line: ${argv}`);
      assert.ok(run.argv.includes('--json') && run.argv.includes('--no-prompt'), argv);
      assert.ok(!run.argv.some((a) => /^--(bind|syncServerBind)Password$/.test(a)), argv);
      assert.deepEqual(
        run.env.filter((v) => v !== 'PES_ARGV_DIR').sort(),
        ['PES_BIND_PASSWORD', 'PES_SYNC_PASSWORD'],
        argv,
      );
    }
    const log = readFileSync(path.join(tmp, 'cli.log'), 'utf8');
    for (const secret of SECRETS) assert.ok(!log.includes(secret), 'a password in the CLI log');
  });

  test('state=absent undoes on every host (changed), then changes nothing', async () => {
    const p = await playbook('inventory.yml', ['-e', 'pes_state=absent']);
    assert.equal(p.code, 0, describePlay(p));
    assertRecap(p, allHosts({ changed: 1, failed: 0 }));
    const ds1 = started(dsSource, '389 DS source');
    const ds2 = started(dsDestination, '389 DS destination');
    const s1 = started(slapdSource, 'slapd source');
    const s2 = started(slapdDestination, 'slapd destination');
    for (const [url, bind] of [
      [ds1.url, dsAdmin(ds1)],
      [ds2.url, dsAdmin(ds2)],
      [s1.url, slapdAdmin(s1)],
      [s2.url, slapdAdmin(s2)],
    ] as const) {
      assert.equal(await readEntry(url, bind, SYNC_DN), undefined, `the sync user is gone from ${url}`);
    }
    for (const d of [ds1, ds2])
      assert.ok(
        !(await acis(d, BASE)).some((a) => a.includes('prepare-endpoint-server')),
        `no ACI of the tool left on ${d.url}`,
      );
    assert.doesNotMatch(
      (await readEntry(ds2.url, dsAdmin(ds2), 'cn=config', ['passwordAdminDN']))?.passwordadmindn?.join() ?? '',
      /password administrators/,
    );
    for (const s of [s1, s2])
      assert.deepEqual(await accessRulesFor(s, SYNC_DN), [], `no olcAccess rule for the sync user on ${s.url}`);
    const again = await playbook('inventory.yml', ['-e', 'pes_state=absent']);
    assert.equal(again.code, 0, describePlay(again));
    assertRecap(again, allHosts({ changed: 0, failed: 0 }));
    for (const secret of SECRETS) assert.ok(!p.output.includes(secret) && !again.output.includes(secret));
  });
});
