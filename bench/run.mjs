#!/usr/bin/env node
/**
 * Benchmarks of prepare-endpoint-server (npm run bench): each row compares the tool with a baseline in the
 * same run, alternating A B A B, and reports medians and their ratio against the target. Nothing here is a
 * test: a missed target prints "MISSED", it does not fail.
 *
 *   npm run bench                    full run (about 3 minutes on 2 cores)
 *   npm run bench -- --quick         fewer runs (about 1 minute)
 *   npm run bench -- --write         also writes the table into BENCHMARKS.md (between the bench markers)
 *   npm run bench -- --only=startup  rows: startup, 389ds, lib389, loop, ping (comma separated); `ansible` (not
 *                                    in the default set) runs bench/ansible.mjs, the fleet side by side
 *   npm run bench -- --nodes=20,24   the Node majors to run the tool on (default 20,22,24)
 *   npm run bench -- --no-build      use dist/ as it is (default: tsc, then the esbuild bundle)
 *   npm run bench -- --instructions  start-up rows only, counted in instructions (valgrind's callgrind) instead
 *                                    of timed: repeatable whatever else the machine runs (--write fills its own
 *                                    block of BENCHMARKS.md)
 *
 * Nodes: the start-up and 389 DS rows run once per Node major, with the tool (and the `node -e 0` baseline) on
 * that Node, which scripts/node-for.sh provides (the machine's own, or the npm registry's `node` package in
 * .cache/node/<major>); the PingDirectory rows too. On a Node with a module compile
 * cache (22+) the tool's cache lives in this run's temporary folder and is warmed by one untimed run first.
 *
 * Servers: a throw-away 389 DS (test/servers/389ds.sh) and the PingDirectory emulator
 * (test/emulators/pingdirectory/emulator.sh), both on 127.0.0.1 only, started and stopped (by PID) through
 * those scripts, their data in a temporary folder that is deleted at the end. Server resets between runs
 * are not timed. Baselines: `node -e 0`, and bench/prepare-389ds.sh / bench/prepare-pingdirectory.sh, which
 * do the same LDAP operations with OpenLDAP's ldapsearch/ldapmodify, and bench/prepare-389ds-lib389.sh, the
 * same preparation with the 389 Project's dsconf and dsidm.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { cpus, freemem, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { freePort, median, PATH, ROOT } from './lib.mjs';
import { Client, Change, Attribute } from 'ldapts';

const BIN = join(ROOT, 'bin', 'prepare-endpoint-server');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const INSTRUCTIONS = argv.includes('--instructions');
const WRITE = argv.includes('--write');
const BUILD = !argv.includes('--no-build');
const ONLY = INSTRUCTIONS
  ? ['startup']
  : (argv
      .find((a) => a.startsWith('--only='))
      ?.slice(7)
      .split(',') ?? ['startup', '389ds', 'lib389', 'loop', 'ping']);
const NODES = argv
  .find((a) => a.startsWith('--nodes='))
  ?.slice(8)
  .split(',') ?? ['20', '22', '24'];
const RUNS = QUICK
  ? { startup: INSTRUCTIONS ? 1 : 11, prepare: 3, rerun: 5, lib389: 2, loop: 1, loopSize: 20 }
  : { startup: INSTRUCTIONS ? 3 : 31, prepare: 9, rerun: 15, lib389: 5, loop: 3, loopSize: 20 };
const ADMIN_DN = 'cn=Directory Manager';
const BASE_DN = 'dc=example,dc=com';
const PLUGIN_DN = 'cn=Retro Changelog Plugin,cn=plugins,cn=config';

const work = mkdtempSync(join(tmpdir(), 'pes-bench-'));
const cleanups = [];
const cleanup = () => {
  while (cleanups.length > 0) {
    try {
      cleanups.pop()();
    } catch {
      /* best effort */
    }
  }
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

// ------------------------------------------------------------------------------------------ measuring

/**
 * Runs a command, returns its wall time in ms; an exit other than `expect` aborts the bench (a broken run
 * measures nothing).
 */
function timed(command, args, env = {}, expect = 0) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, {
    env: { ...process.env, PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 24,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== expect) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status ?? result.signal}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return ms;
}

/** The instructions a command executes, in millions (valgrind's callgrind); an exit other than `expect` aborts the bench. */
function counted(command, args, env = {}, expect = 0) {
  const result = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', command, ...args], {
    env: { ...process.env, PATH, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 24,
  });
  const collected = /Collected : (\d+)/.exec(result.stderr)?.[1];
  if (result.status !== expect || collected === undefined) {
    throw new Error(
      `valgrind ${command} ${args.join(' ')} exited ${result.status ?? result.signal}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return Number(collected) / 1e6;
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
/** The Node the rows being measured run the tool on: { major, version, bin, env }. */
let current;
/** A row; `target` null for a row that only informs (no target set for it). */
function row(name, aLabel, bLabel, times, target, note = '', unit = 'ms') {
  const a = median(times.a);
  const b = median(times.b);
  const ratio = a / b;
  const hit = target === null ? null : ratio <= target;
  const r = { node: current.version, name, aLabel, bLabel, a, b, ratio, target, runs: times.a.length, hit, note, unit };
  rows.push(r);
  const verdict = hit === null ? 'info  ' : hit ? 'hit   ' : 'MISSED';
  console.log(
    `${verdict} [Node ${current.version}] ${name}: ${a.toFixed(1)} ${unit} vs ${b.toFixed(1)} ${unit} = ${ratio.toFixed(2)}${target === null ? '' : ` (target <= ${target})`}${note ? `  ${note}` : ''}`,
  );
}
const opRows = [];
/** Records the tool's LDAP operations per run and prints them (reads, writes, round trips). */
function opRow(r) {
  opRows.push(r);
  console.log(`       ${r.name}: ${r.reads} reads, ${r.writes} writes, ${r.roundTrips} round trips per run (tool)`);
}

/** The tool, on the Node being measured. */
const tool = (args, env = {}, expect = 0) => timed(current.bin, [BIN, ...args], { ...current.env, ...env }, expect);

/** The Node binary of each major (scripts/node-for.sh installs the ones the machine lacks), and its own cache folder. */
function nodes() {
  return NODES.map((major) => {
    const bin = execFileSync('bash', [join(ROOT, 'scripts', 'node-for.sh'), major], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    const version = execFileSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    const compileCache =
      execFileSync(bin, ['-p', "typeof require('node:module').enableCompileCache === 'function'"], {
        encoding: 'utf8',
      }).trim() === 'true';
    // The tool keeps its compile cache under $XDG_CACHE_HOME: one fresh folder per Node for this bench run.
    return { major, version, bin, compileCache, env: { XDG_CACHE_HOME: join(work, `cache-${major}`) } };
  });
}

// ------------------------------------------------------------------------------------------ helpers

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

/**
 * The minimum LDAP operations of a re-run made by this (warm) process, one after another: two connections and
 * binds, the plan's reads, the sync user's change numbers. Returns the milliseconds they took.
 */
async function minimumOps(url, adminDn, adminPassword, syncDn, syncPassword, reads) {
  const start = process.hrtime.bigint();
  const client = new Client({ url, strictDN: false });
  await client.bind(adminDn, adminPassword);
  for (const [dn, attributes] of reads) await entry(client, dn, attributes);
  const sync = new Client({ url, strictDN: false });
  await sync.bind(syncDn, syncPassword);
  await entry(sync, '', ['firstChangeNumber', 'lastChangeNumber']);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  await Promise.all([client.unbind(), sync.unbind()]);
  return ms;
}

/** The tool's arguments for a full source preparation of `base` on 127.0.0.1:`port`, its run log in `log`. */
const sourceArgs = ({ port, adminPw, syncPw, base = BASE_DN, log }, extra = []) => [
  '-h',
  '127.0.0.1',
  '-p',
  String(port),
  '-D',
  ADMIN_DN,
  '-j',
  adminPw,
  '--syncServerBindPasswordFile',
  syncPw,
  '-b',
  base,
  '--isSource',
  '--no-prompt',
  '--logFile',
  log,
  ...extra,
];

/** The environment the bench/prepare-*.sh baselines read. */
const scriptEnv = ({ url, adminPw, syncPw, base = BASE_DN }) => ({
  LDAP_URL: url,
  BIND_DN: ADMIN_DN,
  BIND_PW_FILE: adminPw,
  SYNC_PW_FILE: syncPw,
  BASE_DN: base,
});

/**
 * The two source-preparation rows of a server, tool against `script`: a first run on a fresh server (`reset`
 * before each, untimed), then re-runs on the prepared server, which must write nothing. Both also give an
 * operation-count row from the run log.
 */
async function sourceRows({
  heading,
  server,
  opName,
  resetWord,
  script,
  prepare,
  shell,
  floor,
  floorName,
  limitOps,
  reset,
  log,
  minReads,
  minWrites,
}) {
  console.log(
    `== ${heading}: full source preparation of a fresh server (${RUNS.prepare} alternating runs, ${resetWord} before each)`,
  );
  const ops = [];
  row(
    `${server}: first run (fresh server)`,
    'tool',
    script,
    await alternate(
      RUNS.prepare,
      () => {
        const ms = prepare();
        ops.push(lastRun(log));
        return ms;
      },
      shell,
      reset,
    ),
    1.0,
  );
  row(
    `${server}: first run (fresh server) vs the floor`,
    'tool',
    floorName,
    await alternate(RUNS.prepare, prepare, floor, reset),
    0.9,
  );
  opRow({
    node: current.version,
    name: `${opName}, first run`,
    reads: median(ops.map((o) => o.reads)),
    writes: median(ops.map((o) => o.writes)),
    roundTrips: median(ops.map((o) => o.roundTrips)),
    minReads,
    minWrites,
  });

  console.log(`== ${heading}: re-run on the prepared server (${RUNS.rerun} alternating runs)`);
  await reset();
  prepare();
  const again = [];
  row(
    `${server}: re-run (prepared server)`,
    'tool',
    script,
    await alternate(
      RUNS.rerun,
      () => {
        const ms = prepare();
        again.push(lastRun(log));
        return ms;
      },
      shell,
    ),
    0.6,
  );
  row(
    `${server}: re-run (prepared server) vs the floor`,
    'tool',
    floorName,
    await alternate(RUNS.rerun, prepare, floor),
    0.9,
  );
  // The physical limit: a Node that starts and does nothing, plus the re-run's minimum LDAP operations made by
  // a warm process (one after another, as the floor makes them), timed in this process: what no client sending
  // one request at a time can beat.
  await limitOps();
  row(
    `${server}: re-run vs the physical limit`,
    'tool',
    'node -e 0 + LDAP (warm)',
    await alternate(RUNS.rerun, prepare, async () => timed(current.bin, ['-e', '0']) + (await limitOps())),
    null,
  );
  if (again.some((o) => o.writes !== 0)) throw new Error(`a re-run on a prepared ${server} wrote something`);
  opRow({
    node: current.version,
    name: `${opName}, re-run`,
    reads: median(again.map((o) => o.reads)),
    writes: Math.max(...again.map((o) => o.writes)),
    roundTrips: median(again.map((o) => o.roundTrips)),
    minReads,
    minWrites: 0,
  });
}

const asArray = (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]).map(String);

// ------------------------------------------------------------------------------------------ rows

function build() {
  console.log('== build: tsc, then the esbuild bundle (dist/ is not deleted)');
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync('node', ['scripts/bundle.mjs'], { cwd: ROOT, stdio: 'inherit' });
}

async function startup() {
  console.log(`== [Node ${current.version}] start-up (${RUNS.startup} alternating runs each)`);
  // The fast paths must print what commander prints: compare with the unbundled parser.
  const viaCommander = execFileSync('node', [
    '--input-type=module',
    '-e',
    `
    import { parseCommandLine } from ${JSON.stringify(join(ROOT, 'dist/src/cli/options.js'))};
    let text = ''; parseCommandLine(['--help'], '0', { out: (s) => { text += s; }, err: () => {} });
    process.stdout.write(text);`,
  ]).toString();
  const viaBin = execFileSync(current.bin, [BIN, '--help']).toString();
  if (viaBin !== viaCommander) throw new Error("bin --help differs from commander's help text");
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  if (execFileSync(current.bin, [BIN, '--version']).toString() !== `${version}\n`)
    throw new Error('bin --version is wrong');

  // A whole run up to its first connection, refused at once (exit 91): every chunk a real run loads (commander,
  // settings, the log, the console, the core with ldapts), with no server in the measure.
  const closed = await freePort();
  const adminPw = secretFile('startup-admin.pw', 'Secret123!');
  const syncPw = secretFile('startup-sync.pw', 'Bench-Sync-Pw-1');
  const toConnect = sourceArgs({ port: closed, adminPw, syncPw, log: join(work, 'startup.log') });
  // Untimed: fills the compile cache where this Node has one (what every run after the first one finds).
  tool(['--version']);
  tool(['--help']);
  tool(toConnect, {}, 91);

  const measure = INSTRUCTIONS ? counted : timed;
  const unit = INSTRUCTIONS ? 'M instructions' : 'ms';
  const run = (args, env = {}, expect = 0) => measure(current.bin, [BIN, ...args], { ...current.env, ...env }, expect);
  const node0 = () => measure(current.bin, ['-e', '0']);
  row(
    'start-up: --version',
    'bin --version',
    'node -e 0',
    await alternate(RUNS.startup, () => run(['--version']), node0),
    1.1,
    '',
    unit,
  );
  row(
    'start-up: --help',
    'bin --help',
    'node -e 0',
    await alternate(RUNS.startup, () => run(['--help']), node0),
    1.1,
    '',
    unit,
  );
  row(
    'start-up: a run up to its first connection',
    'bin (exit 91)',
    'node -e 0',
    await alternate(RUNS.startup, () => run(toConnect, {}, 91), node0),
    1.3,
    '',
    unit,
  );
  if (current.compileCache) {
    row(
      'compile cache: that run, cache on vs off',
      'cache on',
      'NODE_DISABLE_COMPILE_CACHE=1',
      await alternate(
        RUNS.startup,
        () => run(toConnect, {}, 91),
        () => run(toConnect, { NODE_DISABLE_COMPILE_CACHE: '1' }, 91),
      ),
      1.0,
      '',
      unit,
    );
  }
}

/** A throw-away 389 DS with 20 extra suffixes for the loop, an admin connection, and the reset between runs. */
async function ds389Server() {
  const port = await freePort();
  const dir = join(work, 'ds');
  const script = join(ROOT, 'test', 'servers', '389ds.sh');
  console.log(`== 389 DS on 127.0.0.1:${port} (creating a throw-away instance)`);
  execFileSync('bash', [script, 'up', String(port), dir], {
    env: { ...process.env, PATH, DS_DM_PASSWORD: 'Secret123!' },
    stdio: 'inherit',
  });
  cleanups.push(() =>
    execFileSync('bash', [script, 'down', dir, '--purge'], { env: { ...process.env, PATH }, stdio: 'ignore' }),
  );
  const url = `ldap://127.0.0.1:${port}`;
  const client = await admin(url, 'Secret123!');
  cleanups.push(() => void client.unbind().catch(() => undefined));

  const bases = Array.from({ length: RUNS.loopSize }, (_, i) => `ou=tenant${i + 1},${BASE_DN}`);
  for (const base of bases) {
    await client.add(base, [
      new Attribute({ type: 'objectClass', values: ['top', 'organizationalUnit'] }),
      new Attribute({ type: 'ou', values: [base.slice(3, base.indexOf(','))] }),
    ]);
  }
  const plugin = await entry(client, PLUGIN_DN, ['nsslapd-pluginEnabled', 'nsslapd-changelogmaxage']);
  const pristineEnabled = asArray(plugin['nsslapd-pluginEnabled']);
  if (asArray(plugin['nsslapd-changelogmaxage']).length > 0)
    throw new Error('a fresh 389 DS has no nsslapd-changelogmaxage');

  /** Back to the fresh server: no sync users, none of the ACIs, the plugin as created. Not timed. */
  const reset = async () => {
    for (const base of [BASE_DN, ...bases]) {
      for (const user of [`cn=Sync User,${base}`, `uid=${LIB389_UID},ou=People,${base}`]) {
        await client.del(user).catch((e) => {
          if (e?.code !== 32) throw e;
        });
      }
      const acis = asArray((await entry(client, base, ['aci']))?.aci).filter((aci) =>
        aci.includes('"prepare-endpoint-server: '),
      );
      if (acis.length > 0)
        await client.modify(base, [
          new Change({ operation: 'delete', modification: new Attribute({ type: 'aci', values: acis }) }),
        ]);
    }
    const now = await entry(client, PLUGIN_DN, ['nsslapd-changelogmaxage']);
    await client.modify(PLUGIN_DN, [
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'nsslapd-pluginEnabled', values: pristineEnabled }),
      }),
      ...(asArray(now?.['nsslapd-changelogmaxage']).length > 0
        ? [
            new Change({
              operation: 'delete',
              modification: new Attribute({ type: 'nsslapd-changelogmaxage', values: [] }),
            }),
          ]
        : []),
    ]);
  };
  return {
    port,
    url,
    client,
    bases,
    reset,
    adminPw: secretFile('ds-admin.pw', 'Secret123!'),
    syncPw: secretFile('ds-sync.pw', 'Bench-Sync-Pw-1'),
  };
}

/** The uid of the account dsidm creates (uid=...,ou=People,<base>, as dsidm makes accounts); the tool is given the same DN. */
const LIB389_UID = 'syncuser';

async function ds389Rows(ds) {
  const { port, url, bases, reset, adminPw, syncPw } = ds;
  const log = join(work, `ds-tool-${current.major}.log`);
  const prepare = (base = BASE_DN) => tool(sourceArgs({ port, adminPw, syncPw, base, log }));
  const shell = (base = BASE_DN) =>
    timed('bash', [join(ROOT, 'bench', 'prepare-389ds.sh')], scriptEnv({ url, adminPw, syncPw, base }));
  const floor = () => timed(current.bin, [join(ROOT, 'bench', 'floor-389ds.mjs')], scriptEnv({ url, adminPw, syncPw }));
  const label = `[Node ${current.version}] 389 DS`;

  if (ONLY.includes('389ds')) {
    await sourceRows({
      heading: label,
      server: '389 DS',
      opName: '389 DS source',
      resetWord: 'reset',
      script: 'bench/prepare-389ds.sh',
      prepare,
      shell,
      floor,
      floorName: 'bench/floor-389ds.mjs',
      limitOps: () =>
        minimumOps(url, ADMIN_DN, 'Secret123!', `cn=Sync User,${BASE_DN}`, 'Bench-Sync-Pw-1', [
          ['', ['vendorVersion', 'changelog']],
          [BASE_DN, ['aci']],
          [`cn=Sync User,${BASE_DN}`, ['1.1']],
          ['cn=config', ['nsslapd-dynamic-plugins']],
          [PLUGIN_DN, ['nsslapd-pluginEnabled', 'nsslapd-changelogmaxage']],
        ]),
      reset,
      log,
      minReads: 7,
      minWrites: 3,
    });
  }

  if (ONLY.includes('lib389')) {
    // The same preparation as dsconf/dsidm make it: the same account DN, the same ACI, plugin and maximum age.
    const syncDn = `uid=${LIB389_UID},ou=People,${BASE_DN}`;
    const lib389 = () =>
      timed('bash', [join(ROOT, 'bench', 'prepare-389ds-lib389.sh')], {
        ...scriptEnv({ url, adminPw, syncPw }),
        SYNC_UID: LIB389_UID,
      });
    console.log(
      `== ${label}: the same source preparation with dsconf/dsidm (${RUNS.lib389} alternating runs, reset before each)`,
    );
    const ops = [];
    row(
      '389 DS: first run vs dsconf/dsidm',
      'tool',
      'bench/prepare-389ds-lib389.sh',
      await alternate(
        RUNS.lib389,
        () => {
          const ms = tool(sourceArgs({ port, adminPw, syncPw, log }, ['--syncServerBindDN', syncDn]));
          ops.push(lastRun(log));
          return ms;
        },
        lib389,
        reset,
      ),
      1.0,
    );
    if (ops.some((o) => o.writes < 3))
      throw new Error('a first run of the tool on a fresh 389 DS wrote fewer than 3 entries');
    await reset();
  }

  if (ONLY.includes('loop')) {
    console.log(
      `== ${label}: a loop preparing ${RUNS.loopSize} suffixes one after another (${RUNS.loop} alternating loops, reset before each)`,
    );
    const per = { a: [], b: [] };
    const loop = (side) => {
      for (const base of bases) per[side].push(side === 'a' ? prepare(base) : shell(base));
      return 0;
    };
    await alternate(
      RUNS.loop,
      () => loop('a'),
      () => loop('b'),
      reset,
    );
    row(
      `389 DS: loop over ${RUNS.loopSize} suffixes, per run`,
      'tool',
      'bench/prepare-389ds.sh',
      per,
      1.0,
      `(${per.a.length} runs each; the first of each loop enables the plugin)`,
    );
  }
  await reset();
}

async function ping() {
  const port = await freePort();
  const dir = join(work, `ping-${current.major}`);
  const script = join(ROOT, 'test', 'emulators', 'pingdirectory', 'emulator.sh');
  const up = () => execFileSync('bash', [script, 'up', String(port), dir], { stdio: 'ignore' });
  const down = () => execFileSync('bash', [script, 'down', dir], { stdio: 'ignore' });
  console.log(`== [Node ${current.version}] PingDirectory emulator on 127.0.0.1:${port}`);
  up();
  cleanups.push(() => execFileSync('bash', [script, 'down', dir, '--purge'], { stdio: 'ignore' }));
  const url = `ldap://127.0.0.1:${port}`;
  const adminPw = secretFile('ping-admin.pw', 'adminpw');
  const syncPw = secretFile('ping-sync.pw', 'Bench-Sync-Pw-1');
  const log = join(work, 'ping-tool.log');
  const prepare = () => tool(sourceArgs({ port, adminPw, syncPw, log }));
  const shell = () =>
    timed('bash', [join(ROOT, 'bench', 'prepare-pingdirectory.sh')], scriptEnv({ url, adminPw, syncPw }));
  const floor = () =>
    timed(current.bin, [join(ROOT, 'bench', 'floor-pingdirectory.mjs')], scriptEnv({ url, adminPw, syncPw }));
  // The emulator keeps its data in memory: a restart is a fresh server. Not timed.
  const restart = async () => {
    down();
    up();
  };

  await sourceRows({
    heading: 'PingDirectory emulator',
    server: 'PingDirectory emulator',
    opName: 'PingDirectory source',
    resetWord: 'restart',
    script: 'bench/prepare-pingdirectory.sh',
    prepare,
    shell,
    floor,
    floorName: 'bench/floor-pingdirectory.mjs',
    limitOps: () =>
      minimumOps(url, ADMIN_DN, 'adminpw', 'cn=Sync User,cn=Root DNs,cn=config', 'Bench-Sync-Pw-1', [
        ['', ['vendorName']],
        [BASE_DN, ['1.1']],
        ['cn=Sync User,cn=Root DNs,cn=config', ['ds-privilege-name']],
        ['ds-cfg-backend-id=changelog,cn=Backends,cn=config', ['ds-cfg-enabled', 'ds-cfg-changelog-maximum-age']],
      ]),
    reset: restart,
    log,
    minReads: 6,
    minWrites: 2,
  });
  down();
}

// ------------------------------------------------------------------------------------------ report

function machine(measured) {
  const cpu = cpus();
  const ldapsearch = spawnSync('ldapsearch', ['-VV'], { encoding: 'utf8' });
  const ldapVersion = /ldapsearch\s+([\d.]+)/.exec(`${ldapsearch.stdout}${ldapsearch.stderr}`)?.[1] ?? 'unknown';
  const slapd =
    spawnSync('dpkg-query', ['-W', '-f=${Version}', '389-ds-base'], { encoding: 'utf8' }).stdout || 'unknown';
  const lib389 =
    spawnSync('dpkg-query', ['-W', '-f=${Version}', 'python3-lib389'], { encoding: 'utf8' }).stdout || 'unknown';
  return (
    `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM (${(freemem() / 2 ** 30).toFixed(0)} free), ` +
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end (other work on the machine shows here), ` +
    `${platform()} ${release()}, Node ${measured.map((n) => n.version).join(', ')}, 389-ds-base ${slapd}, python3-lib389 ${lib389}, OpenLDAP ldapsearch ${ldapVersion}`
  );
}

const targetText = (target) => (target === null ? '—' : `≤ ${target.toFixed(1)}`);
const verdictText = (r) => (r.hit === null ? '' : r.hit ? 'hit' : '**missed**');

/** The ratios of every row, one column per Node, side by side. */
function sideBySide(measured) {
  const names = [...new Set(rows.map((r) => r.name))];
  return [
    `| A/B | ${measured.map((n) => `Node ${n.version}`).join(' | ')} | target |`,
    `|---|${measured.map(() => '--:').join('|')}|--:|`,
    ...names.map((name) => {
      const first = rows.find((r) => r.name === name);
      const cells = measured.map((n) => {
        const r = rows.find((x) => x.name === name && x.node === n.version);
        return r === undefined ? '' : r.hit === false ? `**${r.ratio.toFixed(2)}**` : r.ratio.toFixed(2);
      });
      return `| ${name} | ${cells.join(' | ')} | ${targetText(first.target)} |`;
    }),
  ];
}

function table(measured) {
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${QUICK ? ' (--quick)' : ''}${INSTRUCTIONS ? ', counted in instructions (valgrind callgrind, median of 3)' : ''} on: ${machine(measured)}.`,
    '',
    ...(measured.length > 1 ? ['Ratios A/B per Node (bold: target missed):', '', ...sideBySide(measured), ''] : []),
  ];
  for (const n of measured) {
    const mine = rows.filter((r) => r.node === n.version);
    const ops = opRows.filter((o) => o.node === n.version);
    if (mine.length === 0) continue;
    lines.push(
      `#### Node ${n.version}${n.compileCache ? ' (module compile cache on)' : ' (no module compile cache in this runtime)'}`,
      '',
      '| Benchmark | A | B | runs | median A | median B | A/B | target | |',
      '|---|---|---|--:|--:|--:|--:|--:|---|',
      ...mine.map(
        (r) =>
          `| ${r.name} | ${r.aLabel} | ${r.bLabel} | ${r.runs} | ${r.a.toFixed(1)} ${r.unit} | ${r.b.toFixed(1)} ${r.unit} | ${r.ratio.toFixed(2)} | ${targetText(r.target)} | ${verdictText(r)} |`,
      ),
    );
    if (ops.length > 0) {
      lines.push(
        '',
        '| LDAP operations per run (tool, from its log) | reads | writes | round trips | minimum the plan needs (reads / writes) | |',
        '|---|--:|--:|--:|--:|---|',
        ...ops.map(
          (o) =>
            `| ${o.name} | ${o.reads} | ${o.writes} | ${o.roundTrips ?? '?'} | ${o.minReads} / ${o.minWrites} | ${o.reads <= o.minReads && o.writes <= o.minWrites ? 'at the minimum' : `**${[o.reads > o.minReads ? `${o.reads - o.minReads} reads` : '', o.writes > o.minWrites ? `${o.writes - o.minWrites} writes` : ''].filter(Boolean).join(', ')} over**`} |`,
        ),
      );
    }
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}

if (BUILD) build();
const measured = nodes();
const ds = ONLY.some((o) => ['389ds', 'lib389', 'loop'].includes(o)) ? await ds389Server() : undefined;
for (const node of measured) {
  current = node;
  if (ONLY.includes('startup')) await startup();
  if (ds !== undefined) await ds389Rows(ds);
  if (ONLY.includes('ping')) await ping();
}
await ds?.client.unbind();
if (ONLY.includes('ansible')) {
  execFileSync(
    process.execPath,
    [join(ROOT, 'bench', 'ansible.mjs'), ...(QUICK ? ['--quick'] : []), ...(WRITE ? ['--write'] : [])],
    { stdio: 'inherit' },
  );
}
if (rows.length === 0) process.exit(0);
const text = table(measured);
console.log(`\n${text}\n`);
if (WRITE) {
  const file = join(ROOT, 'BENCHMARKS.md');
  const doc = readFileSync(file, 'utf8');
  const block = INSTRUCTIONS ? 'bench-instructions' : 'bench';
  const start = doc.indexOf(`<!-- ${block}:start -->`);
  const end = doc.indexOf(`<!-- ${block}:end -->`);
  if (start < 0 || end < start)
    throw new Error(`BENCHMARKS.md has no <!-- ${block}:start --> ... <!-- ${block}:end --> block`);
  writeFileSync(file, `${doc.slice(0, start)}<!-- ${block}:start -->\n${text}\n${doc.slice(end)}`);
  console.log('BENCHMARKS.md updated');
}
