// Throw-away PingDirectory EMULATOR (test/emulators/pingdirectory, not the real product) for node:test
// integration tests, the demo and benchmarks. Typical use:
//
//   let ping: PingEmulator;
//   before(async () => { ping = await startPingEmulator(); });
//   after(async () => { await ping?.stop(); });
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { startEmulatorProcess, type EmulatorProcess } from './emulator.js';

export const pingEmulatorMain: string = path.join(repoRoot, 'dist', 'test', 'emulators', 'pingdirectory', 'main.js');

export interface PingEmulatorOptions {
  /** Answer as PingDirectoryProxy (no changelog backend of its own). */
  proxy?: boolean;
}

export interface PingEmulator extends EmulatorProcess {
  /** The admin's entry DN is cn=Directory Manager,cn=Root DNs,cn=config; this is its alternate bind DN. */
  adminDn: 'cn=Directory Manager';
}

export async function startPingEmulator(opts: PingEmulatorOptions = {}): Promise<PingEmulator> {
  const emulator = await startEmulatorProcess({
    main: pingEmulatorMain,
    args: opts.proxy ? ['--proxy'] : [],
    tmpPrefix: 'pes-ping-emulator-',
    name: 'PingDirectory emulator',
  });
  return { ...emulator, adminDn: 'cn=Directory Manager' };
}
