/**
 * The command-line plumbing both emulators' main.ts share: the port argument, the admin password file, the
 * announcement once listening, the PID file, and stopping on SIGTERM or SIGINT.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { RunningEmulator } from './ldap-server.js';

/** --port: 0 lets the kernel choose. */
export function parsePort(text: string | undefined): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, not '${text}'`);
  return port;
}

/** The admin password: the first line of the file, trimmed. */
export function readPasswordFile(file: string): string {
  return (readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '').trim();
}

/**
 * Once listening: write the PID file, say on stderr what is listening (a test double, not the product), print the
 * one JSON line the starters wait for on stdout, and close and exit 0 on SIGTERM or SIGINT.
 */
export function announceAndServe(
  running: RunningEmulator,
  pidFile: string | undefined,
  banner: string,
  announcement: Record<string, unknown>,
): void {
  if (pidFile !== undefined) writeFileSync(pidFile, `${process.pid}\n`);
  process.stderr.write(`${banner} EMULATOR for tests (not the real product) listening on 127.0.0.1:${running.port}\n`);
  process.stdout.write(`${JSON.stringify(announcement)}\n`);
  const stop = (): void => {
    void running.close().then(() => {
      if (pidFile !== undefined) rmSync(pidFile, { force: true });
      process.exit(0);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Runs main; a failure is one line on stderr and exit 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
