// Throw-away OpenLDAP slapd for node:test integration tests, driven by
// test/servers/slapd.sh. Typical use:
//
//   let slapd: Slapd;
//   before(async () => { slapd = await startSlapd(); });
//   after(async () => { await slapd?.stop(); });
//
// Accounts (all with adminPassword):
//   adminDn        cn=admin,dc=example,dc=com   rootdn of dc=example,dc=com and
//                                               "manage" on cn=config
//   configAdminDn  cn=admin,cn=config           rootdn of cn=config
//   limitedDn      cn=limited,dc=example,dc=com may write dc=example,dc=com,
//                                               no rights on cn=config
// olcAccess of olcDatabase={1}mdb,cn=config at creation (third-party rules that
// tests can check are left intact):
//   {0}to * by dn.exact="gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth" manage by * break
//      (uid/gid of the user running the tests)
//   {1}to * by dn.exact="cn=limited,dc=example,dc=com" write by * break
//   {2}to attrs=userPassword by self write by anonymous auth by * none
//   {3}to * by * read
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { startPortScript } from './harness.js';
import type { ServerTls } from './tls.js';

export const slapdScript: string = path.join(repoRoot, 'test', 'servers', 'slapd.sh');

export interface Slapd {
  host: '127.0.0.1';
  port: number;
  url: string;
  dataDir: string;
  adminDn: 'cn=admin,dc=example,dc=com';
  /** Password of adminDn, configAdminDn and limitedDn. */
  adminPassword: string;
  configAdminDn: 'cn=admin,cn=config';
  limitedDn: 'cn=limited,dc=example,dc=com';
  /** Existing empty directory (mode 700) for an accesslog database (slapd cannot create one). */
  accesslogDirectory: string;
  /** ldapi:// URL of the server's socket; root gets "manage" everywhere through SASL EXTERNAL. */
  ldapiUrl: string;
  /** With `tls`: the LDAPS port (127.0.0.1) and URL; StartTLS then works on `port` too. */
  ldapsPort?: number;
  ldapsUrl?: string;
  /** Stop and start again (data and cn=config kept); resolves once LDAP answers. */
  restart(): Promise<void>;
  /** Stop the server and delete its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** ldapi URL as slapd.sh builds it: the socket path with every '/' as %2F. */
function ldapiUrlFor(dataDir: string): string {
  return `ldapi://${encodeURIComponent(path.join(dataDir, 'run', 'ldapi'))}`;
}

export interface SlapdOptions {
  /** Opt-in TLS: certificate, key and CA for olcTLS*, an ldaps:// listener on a second port, StartTLS on the first. */
  tls?: ServerTls;
  /** olcDbNoSync: TRUE on the data database (no fsync per write): for tests that load thousands of entries. */
  noSync?: boolean;
  /** No seeded entries (not even the suffix): for a syncrepl consumer that replicates the whole tree. */
  emptyDatabase?: boolean;
  /**
   * cn=config exactly as Debian's package makes it (slapd.init.ldif): only root over ldapi may manage it, the
   * data admin cn=admin,dc=example,dc=com has no rights there, root only reads the data; no cn=limited, no
   * cn=admin,cn=config password; seeded with the suffix entry only.
   */
  stock?: boolean;
}

export async function startSlapd(opts: SlapdOptions = {}): Promise<Slapd> {
  const adminPassword = process.env.SLAPD_ADMIN_PASSWORD ?? 'Secret123!';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SLAPD_ADMIN_PASSWORD: adminPassword,
    SLAPD_DB_NOSYNC: opts.noSync === true ? '1' : '0',
    SLAPD_EMPTY_DB: opts.emptyDatabase === true ? '1' : '0',
    SLAPD_STOCK: opts.stock === true ? '1' : '0',
  };
  const server = await startPortScript(
    {
      script: slapdScript,
      name: 'slapd',
      envPrefix: 'SLAPD',
      dataDirPrefix: 'pes-slapd',
      // the script resolves DATADIR with pwd -P, and the ldapi URL is derived from it
      realpathDataDir: true,
      portInUse: /already listens|Address already in use/i,
      upTimeoutMs: 60_000,
      downTimeoutMs: 60_000,
    },
    env,
    opts.tls,
  );
  const { port, dataDir, ldapsPort } = server;
  return {
    host: '127.0.0.1',
    port,
    url: `ldap://127.0.0.1:${port}`,
    dataDir,
    adminDn: 'cn=admin,dc=example,dc=com',
    adminPassword,
    configAdminDn: 'cn=admin,cn=config',
    limitedDn: 'cn=limited,dc=example,dc=com',
    accesslogDirectory: path.join(dataDir, 'accesslog'),
    ldapiUrl: ldapiUrlFor(dataDir),
    ...(ldapsPort === undefined ? {} : { ldapsPort, ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}` }),
    restart: () => server.restart(),
    stop: () => server.stop(),
  };
}
