// Throw-away 389 Directory Server for node:test integration tests, driven by
// test/servers/389ds.sh. Typical use:
//
//   let ds: Ds389;
//   before(async () => { ds = await startDs389(); });
//   after(async () => { await ds?.stop(); });
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { startPortScript } from './harness.js';
import type { ServerTls } from './tls.js';

export { freePort } from './harness.js';

export const ds389Script: string = path.join(repoRoot, 'test', 'servers', '389ds.sh');

export interface Ds389Options {
  /** nsslapd-dynamic-plugins: on (plugin enable/disable takes effect without restart). */
  dynamicPlugins?: boolean;
  /** nsslapd-db-durable-transaction: off (no durable commit per write): for tests that load thousands of entries. */
  noSync?: boolean;
  /** The database library of the backends (dscreate's `db_lib`): mdb (the harness default) or bdb. */
  dbLib?: 'mdb' | 'bdb';
  /**
   * Opt-in TLS: the certificate and key go into the instance's NSS database, the CA is trusted, and LDAPS
   * listens on a second port (127.0.0.1); StartTLS then works on `port` too. Set at creation, kept on restart.
   */
  tls?: ServerTls;
}

export interface Ds389 {
  host: '127.0.0.1';
  port: number;
  url: string;
  dataDir: string;
  adminDn: 'cn=Directory Manager';
  adminPassword: string;
  /** With `tls`: the LDAPS port and URL. */
  ldapsPort?: number;
  ldapsUrl?: string;
  /** Stop and start again (data kept); resolves once LDAP answers. */
  restart(): Promise<void>;
  /** Stop the server and delete its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startDs389(opts: Ds389Options = {}): Promise<Ds389> {
  const adminPassword = process.env.DS_DM_PASSWORD ?? 'Secret123!';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DS_DM_PASSWORD: adminPassword,
    DS_DYNAMIC_PLUGINS: opts.dynamicPlugins ? '1' : '0',
    DS_DB_NOSYNC: opts.noSync === true ? '1' : '0',
    DS_DB_LIB: opts.dbLib ?? 'mdb',
  };
  const server = await startPortScript(
    {
      script: ds389Script,
      name: '389 DS',
      envPrefix: 'DS',
      dataDirPrefix: 'pes-389ds',
      portInUse: /already listens|Address already in use|Can't bind/i,
      upTimeoutMs: 120_000,
      downTimeoutMs: 90_000,
    },
    env,
    opts.tls,
  );
  const { port, ldapsPort } = server;
  return {
    host: '127.0.0.1',
    port,
    url: `ldap://127.0.0.1:${port}`,
    dataDir: server.dataDir,
    adminDn: 'cn=Directory Manager',
    adminPassword,
    ...(ldapsPort === undefined ? {} : { ldapsPort, ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}` }),
    restart: () => server.restart(),
    stop: () => server.stop(),
  };
}
