/**
 * Starts the PingDS/OpenDJ EMULATOR (a test double, not the real product) on 127.0.0.1.
 *
 *   node dist/test/emulators/opendj/main.js --port <n> [--flavor pingds|opendj] [--standalone]
 *        [--changelog-mode enabled-cookie-mode-only|enabled|disabled] [--admin-password-file <f>] [--pid-file <f>]
 *
 * Once listening it prints one JSON line on stdout: `{"emulator":"opendj","host":"127.0.0.1","port":N,"pid":P,...}`.
 * SIGTERM or SIGINT stops it. The admin is cn=Directory Manager (password from the file, else adminpw).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { listen } from './server.js';
import type { ChangelogMode, Flavor } from './state.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      flavor: { type: 'string', default: 'pingds' },
      standalone: { type: 'boolean', default: false },
      'changelog-mode': { type: 'string', default: 'enabled-cookie-mode-only' },
      'admin-password-file': { type: 'string' },
      'pid-file': { type: 'string' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, not '${values.port}'`);
  if (values.flavor !== 'pingds' && values.flavor !== 'opendj') throw new Error('--flavor must be pingds or opendj');
  const mode = values['changelog-mode'];
  if (mode !== 'enabled-cookie-mode-only' && mode !== 'enabled' && mode !== 'disabled') throw new Error('--changelog-mode must be enabled-cookie-mode-only, enabled or disabled');
  const file = values['admin-password-file'];
  const adminPassword = file === undefined ? 'adminpw' : (readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '').trim();
  const flavor: Flavor = values.flavor;
  const changelogMode: ChangelogMode = mode;
  const running = await listen(port, { flavor, replicationServer: values.standalone !== true, changelogMode, adminPassword });
  const pidFile = values['pid-file'];
  if (pidFile !== undefined) writeFileSync(pidFile, `${process.pid}\n`);
  process.stderr.write(`${flavor === 'pingds' ? 'PingDS' : 'OpenDJ'} EMULATOR for tests (not the real product) listening on 127.0.0.1:${running.port}\n`);
  process.stdout.write(`${JSON.stringify({ emulator: 'opendj', flavor, host: running.host, port: running.port, pid: process.pid, replicationServer: values.standalone !== true })}\n`);
  const stop = (): void => {
    void running.close().then(() => {
      if (pidFile !== undefined) rmSync(pidFile, { force: true });
      process.exit(0);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`opendj emulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
