#!/usr/bin/env node
/**
 * Benchmarks of prepare-endpoint-server (npm run bench): each row compares the tool with a baseline in the
 * same run, alternating A B A B, and reports medians and their ratio against the target. Nothing here is a
 * test: a missed target prints "MISSED", it does not fail.
 *
 *   npm run bench                    full run (about 3 minutes on 2 cores)
 *   npm run bench -- --quick         fewer runs (about 1 minute)
 *   npm run bench -- --write         also writes the table into BENCHMARKS.md (between the bench markers)
 *   npm run bench -- --only=startup  rows: startup, 389ds, ping, loop (comma separated)
 *   npm run bench -- --no-build      use dist/ as it is (default: tsc, then the esbuild bundle)
 *
 * Servers: a throw-away 389 DS (test/servers/389ds.sh) and the PingDirectory emulator
 * (test/emulators/pingdirectory/emulator.sh), both on 127.0.0.1 only, started and stopped (by PID) through
 * those scripts, their data in a temporary folder that is deleted at the end. Server resets between runs
 * are not timed. Baselines: `node -e 0`, and bench/prepare-389ds.sh / bench/prepare-pingdirectory.sh, which
 * do the same LDAP operations with OpenLDAP's ldapsearch/ldapmodify.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { cpus, freemem, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { Client, Change, Attribute } from 'ldapts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'prepare-endpoint-server');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WRITE = argv.includes('--write');
const BUILD = !argv.includes('--no-build');
const ONLY = (argv.find((a) => a.startsWith('--only='))?.slice(7).split(',')) ?? ['startup', '389ds', 'ping', 'loop'];
const RUNS = QUICK ? { startup: 11, prepare: 3, rerun: 5, loop: 1, loopSize: 20 } : { startup: 31, prepare: 9, rerun: 15, loop: 3, loopSize: 20 };
const ADMIN_DN = 'cn=Directory Manager';
const BASE_DN = 'dc=example,dc=com';
const PLUGIN_DN = 'cn=Retro Changelog Plugin,cn=plugins,cn=config';
const PATH = process.env.PATH?.includes('/usr/sbin') ? process.env.PATH : `${process.env.PATH}:/usr/sbin`;

const work = mkdtempSync(join(tmpdir(), 'pes-bench-'));
const cleanups = [];
const cleanup = () => {
  while (cleanups.length > 0) {
    try { cleanups.pop()(); } catch { /* best effort */ }
  }
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

// ------------------------------------------------------------------------------------------ measuring

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Runs a command, returns its wall time in ms; a non-zero exit aborts the bench (a broken run measures nothing). */
function timed(command, args, env = {}) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { env: { ...process.env, PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status ?? result.signal}:\n${result.stdout}\n${result.stderr}`);
  }
  return ms;
}

/** A B A B ... with an untimed `before` (server reset) before every single run. Returns both series. */
async function alternate(runs, a, b, before = async () => undefined) {
  const times = { a: [], b: [] };
  for (let i = 0; i < runs; i += 1) {
    // Alternate which side goes first, so neither always follows the reset.
    for (const side of i % 2 === 0 ? ['a', 'b'] : ['b', 'a']) {
      await before(side);
      times[side].push(await (side === 'a' ? a() : b()));
    }
  }
  return times;
}

const rows = [];
function row(name, aLabel, bLabel, times, target, note = '') {
  const a = median(times.a);
  const b = median(times.b);
  const ratio = a / b;
  const r = { name, aLabel, bLabel, a, b, ratio, target, runs: times.a.length, hit: ratio <= target, note };
  rows.push(r);
  console.log(`${r.hit ? 'hit   ' : 'MISSED'} ${name}: ${a.toFixed(1)} ms vs ${b.toFixed(1)} ms = ${ratio.toFixed(2)} (target <= ${target})${note ? `  ${note}` : ''}`);
}
const opRows = [];

// ------------------------------------------------------------------------------------------ helpers

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

function secretFile(name, value) {
  const path = join(work, name);
  writeFileSync(path, value);
  chmodSync(path, 0o600);
  return path;
}

/** The last line of the run log: the `end` event with reads and writes. */
function lastRun(logFile) {
  const lines = readFileSync(logFile, 'utf8').trim().split('\n');
  const end = JSON.parse(lines[lines.length - 1]);
  if (end.event !== 'end') throw new Error(`unexpected last log line: ${lines[lines.length - 1]}`);
  return end;
}

async function admin(url, password) {
  const client = new Client({ url, strictDN: false });
  await client.bind(ADMIN_DN, password);
  return client;
}

async function entry(client, dn, attributes) {
  try {
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes });
    return searchEntries[0];
  } catch (error) {
    if (error?.code === 32) return undefined;
    throw error;
  }
}

const asArray = (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]).map(String);

// ------------------------------------------------------------------------------------------ rows

function build() {
  console.log('== build: tsc, then the esbuild bundle (dist/ is not deleted)');
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync('node', ['scripts/bundle.mjs'], { cwd: ROOT, stdio: 'inherit' });
}

async function startup() {
  console.log(`== start-up (${RUNS.startup} alternating runs each)`);
  // The fast paths must print what commander prints: compare with the unbundled parser.
  const viaCommander = execFileSync('node', ['--input-type=module', '-e', `
    import { parseCommandLine } from ${JSON.stringify(join(ROOT, 'dist/src/cli/options.js'))};
    let text = ''; parseCommandLine(['--help'], '0', { out: (s) => { text += s; }, err: () => {} });
    process.stdout.write(text);`]).toString();
  const viaBin = execFileSync(BIN, ['--help']).toString();
  if (viaBin !== viaCommander) throw new Error('bin --help differs from commander\'s help text');
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  if (execFileSync(BIN, ['--version']).toString() !== `${version}\n`) throw new Error('bin --version is wrong');

  const node0 = () => timed('node', ['-e', '0']);
  row('start-up: --version', 'bin --version', 'node -e 0', await alternate(RUNS.startup, () => timed(BIN, ['--version']), node0), 1.3);
  row('start-up: --help', 'bin --help', 'node -e 0', await alternate(RUNS.startup, () => timed(BIN, ['--help']), node0), 1.5);
}

async function ds389() {
  const port = await freePort();
  const dir = join(work, 'ds');
  const script = join(ROOT, 'test', 'servers', '389ds.sh');
  console.log(`== 389 DS on 127.0.0.1:${port} (creating a throw-away instance)`);
  execFileSync('bash', [script, 'up', String(port), dir], { env: { ...process.env, PATH, DS_DM_PASSWORD: 'Secret123!' }, stdio: 'inherit' });
  cleanups.push(() => execFileSync('bash', [script, 'down', dir, '--purge'], { env: { ...process.env, PATH }, stdio: 'ignore' }));
  const url = `ldap://127.0.0.1:${port}`;
  const adminPw = secretFile('ds-admin.pw', 'Secret123!');
  const syncPw = secretFile('ds-sync.pw', 'Bench-Sync-Pw-1');
  const log = join(work, 'ds-tool.log');
  const client = await admin(url, 'Secret123!');
  cleanups.push(() => void client.unbind().catch(() => undefined));

  const bases = Array.from({ length: RUNS.loopSize }, (_, i) => `ou=tenant${i + 1},${BASE_DN}`);
  for (const base of bases) {
    await client.add(base, [new Attribute({ type: 'objectClass', values: ['top', 'organizationalUnit'] }), new Attribute({ type: 'ou', values: [base.slice(3, base.indexOf(','))] })]);
  }
  const plugin = await entry(client, PLUGIN_DN, ['nsslapd-pluginEnabled', 'nsslapd-changelogmaxage']);
  const pristineEnabled = asArray(plugin['nsslapd-pluginEnabled']);
  if (asArray(plugin['nsslapd-changelogmaxage']).length > 0) throw new Error('a fresh 389 DS has no nsslapd-changelogmaxage');

  /** Back to the fresh server: no sync users, none of the ACIs, the plugin as created. Not timed. */
  const reset = async () => {
    for (const base of [BASE_DN, ...bases]) {
      await client.del(`cn=Sync User,${base}`).catch((e) => { if (e?.code !== 32) throw e; });
      const acis = asArray((await entry(client, base, ['aci']))?.aci).filter((aci) => aci.includes('"prepare-endpoint-server: '));
      if (acis.length > 0) await client.modify(base, [new Change({ operation: 'delete', modification: new Attribute({ type: 'aci', values: acis }) })]);
    }
    const now = await entry(client, PLUGIN_DN, ['nsslapd-changelogmaxage']);
    await client.modify(PLUGIN_DN, [
      new Change({ operation: 'replace', modification: new Attribute({ type: 'nsslapd-pluginEnabled', values: pristineEnabled }) }),
      ...(asArray(now?.['nsslapd-changelogmaxage']).length > 0
        ? [new Change({ operation: 'delete', modification: new Attribute({ type: 'nsslapd-changelogmaxage', values: [] }) })]
        : []),
    ]);
  };

  const toolArgs = (base) => ['-h', '127.0.0.1', '-p', String(port), '-D', ADMIN_DN, '-j', adminPw, '--syncServerBindPasswordFile', syncPw,
    '-b', base, '--isSource', '--no-prompt', '--logFile', log];
  const scriptEnv = (base) => ({ LDAP_URL: url, BIND_DN: ADMIN_DN, BIND_PW_FILE: adminPw, SYNC_PW_FILE: syncPw, BASE_DN: base });
  const tool = (base = BASE_DN) => timed(BIN, toolArgs(base));
  const shell = (base = BASE_DN) => timed('bash', [join(ROOT, 'bench', 'prepare-389ds.sh')], scriptEnv(base));

  if (ONLY.includes('389ds')) {
    console.log(`== 389 DS: full source preparation of a fresh server (${RUNS.prepare} alternating runs, reset before each)`);
    const ops = [];
    row('389 DS: first run (fresh server)', 'tool', 'bench/prepare-389ds.sh',
      await alternate(RUNS.prepare, () => { const ms = tool(); ops.push(lastRun(log)); return ms; }, shell, reset), 1.0);
    opRows.push({ name: '389 DS source, first run', reads: median(ops.map((o) => o.reads)), writes: median(ops.map((o) => o.writes)), minReads: 7, minWrites: 3 });

    console.log(`== 389 DS: re-run on the prepared server (${RUNS.rerun} alternating runs)`);
    await reset();
    tool();
    const again = [];
    row('389 DS: re-run (prepared server)', 'tool', 'bench/prepare-389ds.sh',
      await alternate(RUNS.rerun, () => { const ms = tool(); again.push(lastRun(log)); return ms; }, shell), 0.8);
    if (again.some((o) => o.writes !== 0)) throw new Error('a re-run on a prepared 389 DS wrote something');
    opRows.push({ name: '389 DS source, re-run', reads: median(again.map((o) => o.reads)), writes: Math.max(...again.map((o) => o.writes)), minReads: 7, minWrites: 0 });
  }

  if (ONLY.includes('loop')) {
    console.log(`== 389 DS: a loop preparing ${RUNS.loopSize} suffixes one after another (${RUNS.loop} alternating loops, reset before each)`);
    const per = { a: [], b: [] };
    const loop = (side) => {
      for (const base of bases) per[side].push(side === 'a' ? tool(base) : shell(base));
      return 0;
    };
    await alternate(RUNS.loop, () => loop('a'), () => loop('b'), reset);
    row(`389 DS: loop over ${RUNS.loopSize} suffixes, per run`, 'tool', 'bench/prepare-389ds.sh', per, 1.0,
      `(${per.a.length} runs each; the first of each loop enables the plugin)`);
  }
  await client.unbind();
}

async function ping() {
  const port = await freePort();
  const dir = join(work, 'ping');
  const script = join(ROOT, 'test', 'emulators', 'pingdirectory', 'emulator.sh');
  const up = () => execFileSync('bash', [script, 'up', String(port), dir], { stdio: 'ignore' });
  const down = () => execFileSync('bash', [script, 'down', dir], { stdio: 'ignore' });
  console.log(`== PingDirectory emulator on 127.0.0.1:${port}`);
  up();
  cleanups.push(() => execFileSync('bash', [script, 'down', dir, '--purge'], { stdio: 'ignore' }));
  const url = `ldap://127.0.0.1:${port}`;
  const adminPw = secretFile('ping-admin.pw', 'adminpw');
  const syncPw = secretFile('ping-sync.pw', 'Bench-Sync-Pw-1');
  const log = join(work, 'ping-tool.log');
  const tool = () => timed(BIN, ['-h', '127.0.0.1', '-p', String(port), '-D', ADMIN_DN, '-j', adminPw, '--syncServerBindPasswordFile', syncPw,
    '-b', BASE_DN, '--isSource', '--no-prompt', '--logFile', log]);
  const shell = () => timed('bash', [join(ROOT, 'bench', 'prepare-pingdirectory.sh')],
    { LDAP_URL: url, BIND_DN: ADMIN_DN, BIND_PW_FILE: adminPw, SYNC_PW_FILE: syncPw, BASE_DN });
  // The emulator keeps its data in memory: a restart is a fresh server. Not timed.
  const restart = async () => { down(); up(); };

  console.log(`== PingDirectory emulator: full source preparation of a fresh server (${RUNS.prepare} alternating runs, restart before each)`);
  const ops = [];
  row('PingDirectory emulator: first run (fresh server)', 'tool', 'bench/prepare-pingdirectory.sh',
    await alternate(RUNS.prepare, () => { const ms = tool(); ops.push(lastRun(log)); return ms; }, shell, restart), 1.0);
  opRows.push({ name: 'PingDirectory source, first run', reads: median(ops.map((o) => o.reads)), writes: median(ops.map((o) => o.writes)), minReads: 6, minWrites: 2 });

  console.log(`== PingDirectory emulator: re-run on the prepared server (${RUNS.rerun} alternating runs)`);
  await restart();
  tool();
  const again = [];
  row('PingDirectory emulator: re-run (prepared server)', 'tool', 'bench/prepare-pingdirectory.sh',
    await alternate(RUNS.rerun, () => { const ms = tool(); again.push(lastRun(log)); return ms; }, shell), 0.8);
  if (again.some((o) => o.writes !== 0)) throw new Error('a re-run on a prepared PingDirectory emulator wrote something');
  opRows.push({ name: 'PingDirectory source, re-run', reads: median(again.map((o) => o.reads)), writes: Math.max(...again.map((o) => o.writes)), minReads: 6, minWrites: 0 });
}

// ------------------------------------------------------------------------------------------ report

function machine() {
  const cpu = cpus();
  const ldapsearch = spawnSync('ldapsearch', ['-VV'], { encoding: 'utf8' });
  const ldapVersion = /ldapsearch\s+([\d.]+)/.exec(`${ldapsearch.stdout}${ldapsearch.stderr}`)?.[1] ?? 'unknown';
  const slapd = spawnSync('dpkg-query', ['-W', '-f=${Version}', '389-ds-base'], { encoding: 'utf8' }).stdout || 'unknown';
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM (${(freemem() / 2 ** 30).toFixed(0)} free), ` +
    `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end (other work on the machine shows here), ` +
    `${platform()} ${release()}, Node ${process.versions.node}, 389-ds-base ${slapd}, OpenLDAP ldapsearch ${ldapVersion}`;
}

function table() {
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${QUICK ? ' (--quick)' : ''} on: ${machine()}.`,
    '',
    '| Benchmark | A | B | runs | median A | median B | A/B | target | |',
    '|---|---|---|--:|--:|--:|--:|--:|---|',
    ...rows.map((r) => `| ${r.name} | ${r.aLabel} | ${r.bLabel} | ${r.runs} | ${r.a.toFixed(1)} ms | ${r.b.toFixed(1)} ms | ${r.ratio.toFixed(2)} | ≤ ${r.target.toFixed(1)} | ${r.hit ? 'hit' : '**missed**'} |`),
  ];
  if (opRows.length > 0) {
    lines.push('', '| LDAP operations per run (tool, from its log) | reads | writes | minimum the plan needs (reads / writes) | |', '|---|--:|--:|--:|---|',
      ...opRows.map((o) => `| ${o.name} | ${o.reads} | ${o.writes} | ${o.minReads} / ${o.minWrites} | ${o.reads <= o.minReads && o.writes <= o.minWrites ? 'at the minimum' : `**${o.reads - o.minReads} reads over**`} |`));
  }
  return lines.join('\n');
}

if (BUILD) build();
if (ONLY.includes('startup')) await startup();
if (ONLY.includes('389ds') || ONLY.includes('loop')) await ds389();
if (ONLY.includes('ping')) await ping();
const text = table();
console.log(`\n${text}\n`);
if (WRITE) {
  const file = join(ROOT, 'BENCHMARKS.md');
  const current = readFileSync(file, 'utf8');
  const start = current.indexOf('<!-- bench:start -->');
  const end = current.indexOf('<!-- bench:end -->');
  if (start < 0 || end < start) throw new Error('BENCHMARKS.md has no <!-- bench:start --> ... <!-- bench:end --> block');
  writeFileSync(file, `${current.slice(0, start)}<!-- bench:start -->\n${text}\n${current.slice(end)}`);
  console.log('BENCHMARKS.md updated');
}
