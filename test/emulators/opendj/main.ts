/**
 * Starts the PingDS/OpenDJ EMULATOR (a test double, not the real product) on 127.0.0.1.
 *
 *   node dist/test/emulators/opendj/main.js --port <n> [--flavor pingds|opendj] [--standalone]
 *        [--changelog-mode enabled-cookie-mode-only|enabled|disabled] [--admin-password-file <f>] [--pid-file <f>]
 *
 * Once listening it prints one JSON line on stdout: `{"emulator":"opendj","host":"127.0.0.1","port":N,"pid":P,...}`.
 * SIGTERM or SIGINT stops it. The admin is cn=Directory Manager (password from the file, else adminpw).
 */
import { parseArgs } from 'node:util';
import { announceAndServe, parsePort, readPasswordFile, runMain } from '../shared/main.js';
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
  const port = parsePort(values.port);
  if (values.flavor !== 'pingds' && values.flavor !== 'opendj') throw new Error('--flavor must be pingds or opendj');
  const mode = values['changelog-mode'];
  if (mode !== 'enabled-cookie-mode-only' && mode !== 'enabled' && mode !== 'disabled')
    throw new Error('--changelog-mode must be enabled-cookie-mode-only, enabled or disabled');
  const file = values['admin-password-file'];
  const adminPassword = file === undefined ? 'adminpw' : readPasswordFile(file);
  const flavor: Flavor = values.flavor;
  const changelogMode: ChangelogMode = mode;
  const replicationServer = values.standalone !== true;
  const running = await listen(port, { flavor, replicationServer, changelogMode, adminPassword });
  announceAndServe(running, values['pid-file'], flavor === 'pingds' ? 'PingDS' : 'OpenDJ', {
    emulator: 'opendj',
    flavor,
    host: running.host,
    port: running.port,
    pid: process.pid,
    replicationServer,
  });
}

runMain('opendj emulator', main);
