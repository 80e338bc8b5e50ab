/**
 * Starts the PingDirectory EMULATOR (a test double, not the real product) on 127.0.0.1.
 *
 *   node dist/test/emulators/pingdirectory/main.js --port <n> [--proxy] [--admin-password-file <f>] [--pid-file <f>]
 *
 * --port 0 lets the kernel choose. The admin password is read from the file's first line, else from
 * PING_EMULATOR_ADMIN_PASSWORD, else it is `adminpw`. Once listening it prints one JSON line on stdout,
 * `{"emulator":"pingdirectory","host":"127.0.0.1","port":N,"pid":P,"proxy":false}`. SIGTERM or SIGINT stops it.
 */
import { parseArgs } from 'node:util';
import { announceAndServe, parsePort, readPasswordFile, runMain } from '../shared/main.js';
import { listen } from './server.js';

function adminPassword(file: string | undefined): string {
  if (file !== undefined) return readPasswordFile(file);
  return process.env.PING_EMULATOR_ADMIN_PASSWORD ?? 'adminpw';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      proxy: { type: 'boolean', default: false },
      'admin-password-file': { type: 'string' },
      'pid-file': { type: 'string' },
    },
  });
  const port = parsePort(values.port);
  const proxy = values.proxy === true;
  const running = await listen(port, { proxy, adminPassword: adminPassword(values['admin-password-file']) });
  announceAndServe(running, values['pid-file'], `PingDirectory${proxy ? 'Proxy' : ''}`, {
    emulator: proxy ? 'pingdirectoryproxy' : 'pingdirectory',
    host: running.host,
    port: running.port,
    pid: process.pid,
    proxy,
  });
}

runMain('pingdirectory emulator', main);
