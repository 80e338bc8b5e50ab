/**
 * Starts the PingDirectory EMULATOR (a test double, not the real product) on 127.0.0.1.
 *
 *   node dist/test/emulators/pingdirectory/main.js --port <n> [--proxy] [--admin-password-file <f>] [--pid-file <f>]
 *
 * --port 0 lets the kernel choose. The admin password is read from the file's first line, else from
 * PING_EMULATOR_ADMIN_PASSWORD, else it is `adminpw`. Once listening it prints one JSON line on stdout,
 * `{"emulator":"pingdirectory","host":"127.0.0.1","port":N,"pid":P,"proxy":false}`. SIGTERM or SIGINT stops it.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { listen } from './server.js';

function adminPassword(file: string | undefined): string {
  if (file !== undefined) return (readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '').trim();
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
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, not '${values.port}'`);
  const proxy = values.proxy === true;
  const running = await listen(port, { proxy, adminPassword: adminPassword(values['admin-password-file']) });
  const pidFile = values['pid-file'];
  if (pidFile !== undefined) writeFileSync(pidFile, `${process.pid}\n`);
  process.stderr.write(
    `PingDirectory${proxy ? 'Proxy' : ''} EMULATOR for tests (not the real product) listening on 127.0.0.1:${running.port}\n`,
  );
  process.stdout.write(`${JSON.stringify({ emulator: proxy ? 'pingdirectoryproxy' : 'pingdirectory', host: running.host, port: running.port, pid: process.pid, proxy })}\n`);

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
  process.stderr.write(`pingdirectory emulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
