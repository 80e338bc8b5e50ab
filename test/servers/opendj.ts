// Throw-away PingDS/OpenDJ EMULATOR (test/emulators/opendj, not the real product) for node:test integration
// tests. Typical use:
//
//   let ds: OpenDjEmulator;
//   before(async () => { ds = await startOpenDjEmulator(); });
//   after(async () => { await ds?.stop(); });
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { startEmulatorProcess, type EmulatorProcess } from './emulator.js';

export const openDjEmulatorMain: string = path.join(repoRoot, 'dist', 'test', 'emulators', 'opendj', 'main.js');

export interface OpenDjEmulatorOptions {
  /** pingds (default): PingDS 8; opendj: OpenDJ 4 (compute-change-number, an external changelog domain entry). */
  flavor?: 'pingds' | 'opendj';
  /** No replication server: no cn=changelog. */
  standalone?: boolean;
  /** PingDS changelog-enabled at start (default enabled-cookie-mode-only, the product's default). */
  changelogMode?: 'enabled-cookie-mode-only' | 'enabled' | 'disabled';
}

export interface OpenDjEmulator extends EmulatorProcess {
  /** The root user's entry DN is cn=Directory Manager,cn=Root DNs,cn=config; this is its alternate bind DN. */
  adminDn: 'cn=Directory Manager';
  /** An account with every right on the data and none on cn=config. */
  dataAdmin: { dn: string; password: string };
}

export async function startOpenDjEmulator(opts: OpenDjEmulatorOptions = {}): Promise<OpenDjEmulator> {
  const args = [
    '--flavor',
    opts.flavor ?? 'pingds',
    ...(opts.standalone === true ? ['--standalone'] : []),
    ...(opts.changelogMode === undefined ? [] : ['--changelog-mode', opts.changelogMode]),
  ];
  const emulator = await startEmulatorProcess({
    main: openDjEmulatorMain,
    args,
    tmpPrefix: 'pes-opendj-emulator-',
    name: 'OpenDJ emulator',
  });
  return {
    ...emulator,
    adminDn: 'cn=Directory Manager',
    dataAdmin: { dn: 'uid=data-admin,ou=People,dc=example,dc=com', password: 'data-admin-pw' },
  };
}
