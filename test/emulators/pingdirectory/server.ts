/**
 * The emulator's LDAP listener (../shared/ldap-server.ts) serving one EmulatedServer. It understands no request
 * control: every critical one is refused.
 */
import { listenLdap, type RunningEmulator } from '../shared/ldap-server.js';
import { EmulatedServer, type EmulatorOptions } from './state.js';

export type { RunningEmulator };

const START_TLS_OID = '1.3.6.1.4.1.1466.20037';

export async function listen(port: number, options: EmulatorOptions): Promise<RunningEmulator> {
  return listenLdap(port, new EmulatedServer(options), {
    knownControls: new Set(),
    refuseExtended: (oid) =>
      oid === START_TLS_OID ? 'The emulator does not offer StartTLS' : `Unsupported extended operation ${oid}`,
  });
}
