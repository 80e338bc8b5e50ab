#!/usr/bin/env node
/**
 * The fleet side by side (npm run bench -- --only=ansible, or node bench/ansible.mjs): four fresh servers
 * (two 389 DS, two slapd; a source and a destination of each, on 127.0.0.1), prepared
 *
 *   A  by the collection's playbook (pes.endpoint.prepare_fleet: the module runs the CLI), forks 5
 *   B  by bench/ansible-ldap-playbook.yml, the same preparation hand-written with community.general.ldap_entry
 *      and ldap_attrs, forks 5
 *   C  by the CLI itself, run four times one after the other (what the fleet run is set against)
 *
 * each on its own fresh set of servers, first run then re-runs (which must change nothing), alternating the
 * order of A, B and C between rounds. Reports wall time per run, per host (for A and B the run's wall time
 * divided by its four hosts; for C the median single CLI run), and the lines of playbook a user writes.
 *
 *   --quick   1 round, 3 re-runs each (else 3 rounds, 5 re-runs)
 *   --write   also replaces the <!-- bench-ansible:start --> block of BENCHMARKS.md
 *
 * Needs ansible-core (test/run.sh installs it), Debian's ansible (community.general's ldap_* modules) and python3-ldap
 * (installed here when run as root; else the apt-get line is printed) and a built CLI.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, median, PATH, ROOT } from './lib.mjs';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WRITE = argv.includes('--write');
const ROUNDS = QUICK ? 1 : 3;
const RERUNS = QUICK ? 3 : 5;
const ADMIN_PASSWORD = 'Bench-Admin-Pw-1';
const SYNC_PASSWORD = 'Bench-Sync-Pw-1';
const BASE_DN = 'dc=example,dc=com';
const COLLECTION_PLAYBOOK = join(
  ROOT,
  'ansible',
  'ansible_collections',
  'pes',
  'endpoint',
  'playbooks',
  'prepare_fleet.yml',
);
const LDAP_PLAYBOOK = join(ROOT, 'bench', 'ansible-ldap-playbook.yml');

/** The hand-written playbook's modules come with Debian's `ansible` and need python3-ldap: only this bench uses them. */
const BENCH_PACKAGES = ['ansible', 'python3-ldap'];
const missingPackages = BENCH_PACKAGES.filter(
  (name) =>
    !spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' }).stdout.includes('ok installed'),
);
if (missingPackages.length > 0) {
  const aptLine = `apt-get install -y --no-install-recommends ${missingPackages.join(' ')}`;
  if (process.getuid?.() !== 0) {
    console.error(`bench/ansible.mjs: missing Debian packages; install them with: sudo ${aptLine}`);
    process.exit(1);
  }
  const installed = spawnSync('bash', ['-c', `apt-get update && DEBIAN_FRONTEND=noninteractive ${aptLine}`], {
    stdio: 'inherit',
  });
  if (installed.status !== 0) process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'pes-bench-ansible-'));
const running = new Set();
const cleanup = () => {
  for (const dir of running)
    spawnSync('bash', [dir.script, 'down', dir.dir, '--purge'], { env: { ...process.env, PATH }, stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

function script(command, args, env) {
  return new Promise((res, rej) => {
    const child = spawn('bash', [command, ...args], {
      env: { ...process.env, PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b) => {
      out += b;
    });
    child.stderr.on('data', (b) => {
      out += b;
    });
    child.on('close', (code) =>
      code === 0 ? res(out) : rej(new Error(`${command} ${args.join(' ')} exited ${code}:\n${out}`)),
    );
  });
}

let serial = 0;
/** Four fresh servers, created at once; `down()` stops and deletes them. */
async function fleet() {
  serial += 1;
  const ds = join(ROOT, 'test', 'servers', '389ds.sh');
  const slapd = join(ROOT, 'test', 'servers', 'slapd.sh');
  const specs = [
    {
      name: 'ds389-source',
      script: ds,
      family: '389ds',
      role: 'sync_sources',
      env: { DS_DM_PASSWORD: ADMIN_PASSWORD, DS_DYNAMIC_PLUGINS: '1' },
      adminDn: 'cn=Directory Manager',
    },
    {
      name: 'ds389-destination',
      script: ds,
      family: '389ds',
      role: 'sync_destinations',
      env: { DS_DM_PASSWORD: ADMIN_PASSWORD },
      adminDn: 'cn=Directory Manager',
    },
    {
      name: 'slapd-source',
      script: slapd,
      family: 'openldap',
      role: 'sync_sources',
      env: { SLAPD_ADMIN_PASSWORD: ADMIN_PASSWORD },
      adminDn: 'cn=admin,dc=example,dc=com',
    },
    {
      name: 'slapd-destination',
      script: slapd,
      family: 'openldap',
      role: 'sync_destinations',
      env: { SLAPD_ADMIN_PASSWORD: ADMIN_PASSWORD },
      adminDn: 'cn=admin,dc=example,dc=com',
    },
  ];
  const servers = [];
  for (const spec of specs)
    servers.push({ ...spec, port: await freePort(), dir: join(work, `${spec.name}-${serial}`) });
  for (const s of servers) running.add(s);
  await Promise.all(servers.map((s) => script(s.script, ['up', String(s.port), s.dir], s.env)));
  // slapd.sh resolves its folder with pwd -P; the accesslog folder is where it made it.
  for (const s of servers)
    if (s.family === 'openldap')
      s.accesslog = join(execFileSync('realpath', [s.dir], { encoding: 'utf8' }).trim(), 'accesslog');
  const down = async () => {
    await Promise.all(servers.map((s) => script(s.script, ['down', s.dir, '--purge'], {})));
    for (const s of servers) running.delete(s);
  };
  return { servers, down };
}

function inventory(servers) {
  const hosts = (role) =>
    Object.fromEntries(
      servers
        .filter((s) => s.role === role)
        .map((s) => [
          s.name,
          {
            ldap_host: '127.0.0.1',
            ldap_port: s.port,
            ldap_admin_dn: s.adminDn,
            ldap_admin_password: ADMIN_PASSWORD,
            ldap_family: s.family,
            ...(s.accesslog === undefined || s.role !== 'sync_sources' ? {} : { accesslog_directory: s.accesslog }),
          },
        ]),
    );
  const file = join(work, `inventory-${serial}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      sync_endpoints: {
        vars: {
          sync_user_dn: `cn=Sync User,${BASE_DN}`,
          sync_user_password: SYNC_PASSWORD,
          sync_base_dns: [BASE_DN],
          changelog_maximum_age: '2d',
          pes_log_file: join(work, 'cli.log'),
        },
        children: {
          sync_sources: { hosts: hosts('sync_sources') },
          sync_destinations: { hosts: hosts('sync_destinations') },
        },
      },
    }),
    { mode: 0o600 },
  );
  return file;
}

const binDir = join(work, 'bin');
mkdirSync(binDir);
symlinkSync(join(ROOT, 'bin', 'prepare-endpoint-server'), join(binDir, 'prepare-endpoint-server'));
const ansibleEnv = {
  ...process.env,
  PATH: `${binDir}:${dirname(process.execPath)}:${PATH}`,
  LC_ALL: 'C.UTF-8',
  ANSIBLE_HOME: join(work, 'ansible-home'),
  ANSIBLE_LOCAL_TEMP: join(work, 'ansible-tmp'),
  ANSIBLE_REMOTE_TEMP: join(work, 'ansible-tmp'),
  ANSIBLE_CONFIG: join(work, 'ansible.cfg'),
  ANSIBLE_COLLECTIONS_PATH: join(ROOT, 'ansible'),
  ANSIBLE_STDOUT_CALLBACK: 'json',
  ANSIBLE_NOCOLOR: '1',
  NO_COLOR: '1',
};
writeFileSync(ansibleEnv.ANSIBLE_CONFIG, '[defaults]\ninterpreter_python = auto_silent\n');

/** One ansible-playbook run: wall ms and wall ms per host; aborts unless every host changed (first run) or none did. */
function playbook(file, inventoryFile, expectChanged) {
  const start = process.hrtime.bigint();
  const r = spawnSync('ansible-playbook', ['-i', inventoryFile, '--forks', '5', file], {
    env: ansibleEnv,
    cwd: work,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`ansible-playbook ${file} printed no JSON (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  for (const [host, stats] of Object.entries(report.stats)) {
    if (stats.failures > 0 || stats.unreachable > 0 || r.status !== 0)
      throw new Error(`${file}: ${host} failed:\n${r.stdout.slice(0, 4000)}`);
    if (expectChanged ? stats.changed === 0 : stats.changed !== 0)
      throw new Error(`${file}: ${host} changed=${stats.changed} on a ${expectChanged ? 'first run' : 're-run'}`);
  }
  // Per host: the run's wall time shared by its hosts (the forks run them side by side).
  const hosts = Object.keys(report.stats).length;
  return { ms, perHost: [ms / hosts] };
}

/** The CLI once per server, one after the other: per-run ms and their sum. */
function singles(servers, expectWrites) {
  const adminPw = join(work, 'admin.pw');
  const syncPw = join(work, 'sync.pw');
  writeFileSync(adminPw, ADMIN_PASSWORD, { mode: 0o600 });
  writeFileSync(syncPw, SYNC_PASSWORD, { mode: 0o600 });
  const perHost = [];
  for (const s of servers) {
    const args = [
      join(ROOT, 'bin', 'prepare-endpoint-server'),
      '-h',
      '127.0.0.1',
      '-p',
      String(s.port),
      '-D',
      s.adminDn,
      '-j',
      adminPw,
      '--syncServerBindPasswordFile',
      syncPw,
      '-b',
      BASE_DN,
      s.role === 'sync_sources' ? '--isSource' : '--isDestination',
      '--changelogMaximumAge',
      '2d',
      ...(s.role === 'sync_sources' && s.accesslog !== undefined ? ['--accesslogDirectory', s.accesslog] : []),
      '--no-prompt',
      '--json',
      '--logFile',
      join(work, 'cli.log'),
    ];
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { env: { ...process.env, PATH, NO_COLOR: '1' }, encoding: 'utf8' });
    perHost.push(Number(process.hrtime.bigint() - start) / 1e6);
    const result = JSON.parse(r.stdout);
    if (r.status !== 0 || result.changed !== expectWrites)
      throw new Error(`CLI on ${s.name}: exit ${r.status}, changed ${result.changed}:\n${r.stderr}`);
  }
  return { ms: perHost.reduce((a, b) => a + b, 0), perHost };
}

const sides = {
  A: {
    label: 'collection (pes.endpoint.prepare_fleet), forks 5',
    run: (f, inv, first) => playbook(COLLECTION_PLAYBOOK, inv, first),
  },
  B: {
    label: 'hand-written community.general.ldap_* playbook, forks 5',
    run: (f, inv, first) => playbook(LDAP_PLAYBOOK, inv, first),
  },
  C: {
    label: 'the CLI, four single runs one after the other (sum)',
    run: (f, inv, first) => singles(f.servers, first),
  },
};
const results = Object.fromEntries(
  Object.keys(sides).map((k) => [k, { first: [], firstHost: [], rerun: [], rerunHost: [] }]),
);

for (let round = 0; round < ROUNDS; round += 1) {
  const order = [
    ['A', 'B', 'C'],
    ['C', 'A', 'B'],
    ['B', 'C', 'A'],
  ][round % 3];
  for (const key of order) {
    console.log(`== round ${round + 1}/${ROUNDS}: ${sides[key].label}: four fresh servers`);
    const f = await fleet();
    const inv = inventory(f.servers);
    try {
      const first = sides[key].run(f, inv, true);
      results[key].first.push(first.ms);
      results[key].firstHost.push(...first.perHost);
      console.log(`   first run ${first.ms.toFixed(0)} ms`);
      for (let i = 0; i < RERUNS; i += 1) {
        const again = sides[key].run(f, inv, false);
        results[key].rerun.push(again.ms);
        results[key].rerunHost.push(...again.perHost);
      }
      console.log(`   re-run median ${median(results[key].rerun).toFixed(0)} ms`);
    } finally {
      await f.down();
    }
  }
}

function communityGeneral() {
  try {
    return JSON.parse(
      readFileSync('/usr/lib/python3/dist-packages/ansible_collections/community/general/MANIFEST.json', 'utf8'),
    ).collection_info.version;
  } catch {
    return 'unknown';
  }
}

/** Lines a user writes: neither blank nor comment. */
const lines = (file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#') && l.trim() !== '---').length;
const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
const a = results.A;
const c = results.C;
const text = [
  `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${QUICK ? ' (--quick)' : ''}: ${ROUNDS} round(s) of fresh servers per side, ${RERUNS} re-runs each; ` +
    `${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end, Node ${process.versions.node}, ` +
    `${spawnSync('ansible', ['--version'], { encoding: 'utf8', env: ansibleEnv }).stdout.split('\n')[0]}, Debian ansible ${spawnSync('dpkg-query', ['-W', '-f=${Version}', 'ansible'], { encoding: 'utf8' }).stdout} (community.general ${communityGeneral()}).`,
  '',
  '| four servers (2 × 389 DS, 2 × slapd) | first run: wall | per host | re-run: wall | per host | lines a user writes |',
  '|---|--:|--:|--:|--:|--:|',
  `| A ${sides.A.label} | ${s(median(a.first))} | ${s(median(a.firstHost))} | ${s(median(a.rerun))} | ${s(median(a.rerunHost))} | ${lines(COLLECTION_PLAYBOOK)} (\`playbooks/prepare_fleet.yml\`) |`,
  `| B ${sides.B.label} | ${s(median(results.B.first))} | ${s(median(results.B.firstHost))} | ${s(median(results.B.rerun))} | ${s(median(results.B.rerunHost))} | ${lines(LDAP_PLAYBOOK)} (\`bench/ansible-ldap-playbook.yml\`) |`,
  `| C ${sides.C.label} | ${s(median(c.first))} | ${s(median(c.firstHost))} | ${s(median(c.rerun))} | ${s(median(c.rerunHost))} | |`,
  '',
  `Fleet run against single runs: the collection's first run took ${s(median(a.first))} of wall time for the four servers, the four single CLI runs ` +
    `${s(median(c.first))} in sum (ratio ${(median(a.first) / median(c.first)).toFixed(2)}); re-runs ${s(median(a.rerun))} against ${s(median(c.rerun))} ` +
    `(ratio ${(median(a.rerun) / median(c.rerun)).toFixed(2)}).`,
].join('\n');
console.log(`\n${text}\n`);
if (WRITE) {
  const file = join(ROOT, 'BENCHMARKS.md');
  const doc = readFileSync(file, 'utf8');
  const start = doc.indexOf('<!-- bench-ansible:start -->');
  const end = doc.indexOf('<!-- bench-ansible:end -->');
  if (start < 0 || end < start)
    throw new Error('BENCHMARKS.md has no <!-- bench-ansible:start --> ... <!-- bench-ansible:end --> block');
  writeFileSync(file, `${doc.slice(0, start)}<!-- bench-ansible:start -->\n${text}\n${doc.slice(end)}`);
  console.log('BENCHMARKS.md updated');
}
