/**
 * The emulator's LDAP listener (../shared/ldap-server.ts, with the PingDirectory emulator's wire format) serving
 * one EmulatedServer.
 */
import { listenLdap, type RunningEmulator } from '../shared/ldap-server.js';
import { EmulatedServer, type EmulatorOptions } from './state.js';

export type { RunningEmulator };

/** Request controls the emulator understands (the external changelog control); any other critical one is refused. */
const KNOWN_CONTROLS = new Set(['1.3.6.1.4.1.26027.1.5.4']);

export async function listen(port: number, options: EmulatorOptions): Promise<RunningEmulator> {
  return listenLdap(port, new EmulatedServer(options), {
    knownControls: KNOWN_CONTROLS,
    refuseExtended: (oid) => `Unsupported extended operation ${oid}`,
  });
}
