// 389 DS 2.3 with nsslapd-dynamic-plugins on: live Retro Changelog Plugin cycles (prepare as a source, which
// starts the plugin live, then --remove --disableChangelog, which stops it live).
//   - mdb backend: the server is reported to die after a few cycles (389 DS 2.3.1 did, in liblmdb, and then would
//     not start while the plugin was on). Every live start and stop must be preceded by the tool's caution (logged
//     before the write), whether the server survives or not; a death is a one-line exit 91.
//   - bdb backend: the same cycles, no caution, the server alive at the end.
// The number of cycles the server went through (and where it died) is printed as a diagnostic. PES_MDB_CYCLES
// and PES_BDB_CYCLES set the cycles (defaults 6 and 10).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { acceptsConnection } from '../servers/harness.js';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { runCli, type RunCliResult } from '../helpers/cli.js';
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
const PLUGIN_DN = 'cn=Retro Changelog Plugin,cn=plugins,cn=config';
const CAUTION = /uses the mdb database with nsslapd-dynamic-plugins on: 389 DS 2\.3 has crashed/;
const MDB_CYCLES = Math.max(1, Number(process.env.PES_MDB_CYCLES ?? 6));
const BDB_CYCLES = Math.max(1, Number(process.env.PES_BDB_CYCLES ?? 10));

let tmp = '';

before(() => {
  tmp = makeTempDir('pes-389-cycles-');
});

after(() => {
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

interface Toggle {
  readonly run: RunCliResult;
  readonly lines: LogLine[];
}

function cycler(
  server: () => Ds389,
  label: string,
): { prepare: () => Promise<Toggle>; disable: () => Promise<Toggle> } {
  const logFile = path.join(tmp, `${label}.log`);
  const args = (extra: string[]): string[] =>
    connectionArgs(
      {
        host: server().host,
        port: server().port,
        bindDn: server().adminDn,
        adminPasswordFile: secretFile(tmp, `${label}-admin.pw`, server().adminPassword),
        syncPasswordFile: secretFile(tmp, `${label}-sync.pw`, `Sync-${label}-${randomUUID()}`),
        logFile,
      },
      ['-b', BASE, ...extra],
    );
  const toggle = async (extra: string[]): Promise<Toggle> => {
    const offset = fileSize(logFile);
    const run = await runCli(args(extra), { timeoutMs: 90_000 });
    return { run, lines: logLines(logFile, offset) };
  };
  return { prepare: () => toggle(['--isSource']), disable: () => toggle(['--remove', '--disableChangelog']) };
}

/** Whether the run wrote the plugin entry, and whether the caution was logged before that write. */
function pluginWrite(toggle: Toggle): { written: boolean; cautionedFirst: boolean } {
  const caution = toggle.lines.findIndex((l) => l.event === 'warning' && CAUTION.test(String(l.msg)));
  // The write that starts or stops the plugin (others to its entry, such as the change record settings, are not toggles).
  const write = toggle.lines.findIndex(
    (l) =>
      l.event === 'write' &&
      String(l.dn).toLowerCase() === PLUGIN_DN.toLowerCase() &&
      JSON.stringify(l['attributes'] ?? [])
        .toLowerCase()
        .includes('nsslapd-pluginenabled'),
  );
  return { written: write >= 0, cautionedFirst: caution >= 0 && (write < 0 || caution < write) };
}

describe('389 DS, mdb, dynamic plugins: live Retro Changelog Plugin cycles', () => {
  let ds: Ds389 | undefined;
  const server = (): Ds389 => {
    assert.ok(ds, '389 DS was not started');
    return ds;
  };

  before(async () => {
    ds = await startDs389({ dynamicPlugins: true, dbLib: 'mdb' });
  });
  after(async () => {
    await ds?.stop();
  });

  test(`every live start and stop is cautioned before its write; a server fault is one line with the server's code (${MDB_CYCLES} cycles at most)`, async (t) => {
    const { prepare, disable } = cycler(server, 'mdb');
    let fault: string | undefined;
    let cycles = 0;
    for (let cycle = 1; cycle <= MDB_CYCLES && fault === undefined; cycle++) {
      for (const [name, step] of [
        ['start', prepare],
        ['stop', disable],
      ] as const) {
        const toggle = await step();
        const { written, cautionedFirst } = pluginWrite(toggle);
        if (toggle.run.code === 0) {
          assert.ok(
            written && cautionedFirst,
            `cycle ${cycle}, ${name}: the plugin was toggled, the caution first\n${describeRun(toggle.run)}`,
          );
          continue;
        }
        // The server failed: it died (91), or refuses writes since (389 DS then answers 68 to a plain modify).
        assert.ok(
          cautionedFirst || !written,
          `cycle ${cycle}, ${name}: no plugin write without the caution first\n${describeRun(toggle.run)}`,
        );
        assert.notEqual(toggle.run.code, 1, describeRun(toggle.run));
        assert.equal(
          toggle.run.stderr.split('\n').filter((l) => l.startsWith('Error: ')).length,
          1,
          describeRun(toggle.run),
        );
        const alive = await acceptsConnection(server().port);
        fault =
          `cycle ${cycle}, ${name}: exit ${String(toggle.run.code)}, ${alive ? 'server up but refusing writes' : 'server dead'} ` +
          `(${
            toggle.run.stderr
              .split('\n')
              .find((l) => l.startsWith('Error: '))
              ?.slice(0, 100) ?? ''
          })`;
        break;
      }
      if (fault === undefined) cycles = cycle;
    }
    t.diagnostic(
      fault === undefined
        ? `389 DS (mdb, dynamic plugins) survived ${cycles} live on/off cycles`
        : `389 DS (mdb, dynamic plugins) after ${cycles} full cycles: ${fault}`,
    );
  });
});

describe('389 DS, bdb, dynamic plugins: live Retro Changelog Plugin cycles', () => {
  let ds: Ds389 | undefined;
  const server = (): Ds389 => {
    assert.ok(ds, '389 DS was not started');
    return ds;
  };

  before(async () => {
    ds = await startDs389({ dynamicPlugins: true, dbLib: 'bdb' });
  });
  after(async () => {
    await ds?.stop();
  });

  test(`${BDB_CYCLES} cycles: every run exits 0, no caution, the server alive at the end`, async (t) => {
    const { prepare, disable } = cycler(server, 'bdb');
    for (let cycle = 1; cycle <= BDB_CYCLES; cycle++) {
      for (const step of [prepare, disable]) {
        const toggle = await step();
        assert.equal(toggle.run.code, 0, `cycle ${cycle}: ${describeRun(toggle.run)}`);
        assert.doesNotMatch(toggle.run.stderr, CAUTION, describeRun(toggle.run));
      }
    }
    assert.equal(await acceptsConnection(server().port), true);
    t.diagnostic(`389 DS (bdb, dynamic plugins) survived ${BDB_CYCLES} live on/off cycles`);
  });
});
