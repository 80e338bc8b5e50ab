// Replicated pairs of throw-away servers on 127.0.0.1 for the --replica tests:
//
//   startDs389Pair(): two 389 DS instances (test/servers/389ds.sh) in multi-supplier replication of
//     dc=example,dc=com, set up with dsconf as Red Hat documents it (replication enable on each with its own
//     replica id, one agreement each way, A initialises B);
//   startSlapdPair(): two slapd (test/servers/slapd.sh) in multi-provider replication of dc=example,dc=com:
//     syncrepl (refreshAndPersist) each way, olcServerID per server, syncprov on the data database,
//     olcMultiProvider TRUE; plain by default (the tool under test then creates each accesslog itself), or with
//     { delta: true } delta-syncrepl over a cn=accesslog database on each server (the tool adopts it);
//   startSlapdConsumer(provider): a read-only syncrepl consumer with olcUpdateRef.
//
// Every process is stopped by its PID through the scripts (stop()).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Attribute, Change } from 'ldapts';
import { adminBind, withClient } from '../helpers/directory.js';
import { startDs389, type Ds389, type Ds389Options } from './ds389.js';
import { startSlapd, type Slapd } from './openldap.js';

const execFileP = promisify(execFile);

export const REPLICATED_SUFFIX = 'dc=example,dc=com';
const REPLICATION_MANAGER = 'cn=replication manager,cn=config';
const MAPPING_TREE_REPLICA = 'cn=replica,cn=dc\\3Dexample\\2Cdc\\3Dcom,cn=mapping tree,cn=config';

export interface Ds389Pair {
  readonly a: Ds389;
  readonly b: Ds389;
  /** The DN of the agreement from `from` to the other server. */
  agreementDn(from: 'a' | 'b'): string;
  /** nsds5ReplicaEnabled: off on the agreement from `from` (its changes stop reaching the other server). */
  pause(from: 'a' | 'b'): Promise<void>;
  resume(from: 'a' | 'b'): Promise<void>;
  stop(): Promise<void>;
}

/** dsconf against one instance, the Directory Manager's password in a file (never on argv). */
async function dsconf(ds: Ds389, args: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pes-dsconf-'));
  const passwordFile = path.join(dir, 'pw');
  try {
    await writeFile(passwordFile, ds.adminPassword, { mode: 0o600 });
    const { stdout } = await execFileP('dsconf', ['-D', ds.adminDn, '-y', passwordFile, ds.url, ...args], {
      timeout: 120_000,
      maxBuffer: 4 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`dsconf ${args.slice(0, 2).join(' ')} on ${ds.url} failed: ${e.stderr ?? ''}${e.stdout ?? ''}`, {
      cause: error,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Two 389 DS instances in multi-supplier replication (about 20 s here). */
export async function startDs389Pair(opts: Ds389Options = {}): Promise<Ds389Pair> {
  // An initialisation that keeps failing ("Can't contact LDAP server" from A to B, seen once in a clean CI run
  // whose other runs passed) gets a fresh pair of instances, once: the tests need a pair, not those two.
  try {
    return await startDs389PairOnce(opts);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('initialising B failed')) throw error;
    return startDs389PairOnce(opts);
  }
}

async function startDs389PairOnce(opts: Ds389Options): Promise<Ds389Pair> {
  const [a, b] = await Promise.all([startDs389(opts), startDs389(opts)]);
  try {
    // A test-only secret of the replication manager (it exists on these throw-away servers only).
    const replicationPassword = 'Repl-Secret-123';
    for (const [ds, id] of [
      [a, '1'],
      [b, '2'],
    ] as const) {
      await dsconf(ds, [
        'replication',
        'enable',
        '--suffix',
        REPLICATED_SUFFIX,
        '--role',
        'supplier',
        '--replica-id',
        id,
        '--bind-dn',
        REPLICATION_MANAGER,
        '--bind-passwd',
        replicationPassword,
      ]);
    }
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      await dsconf(from, [
        'repl-agmt',
        'create',
        '--suffix',
        REPLICATED_SUFFIX,
        '--host',
        '127.0.0.1',
        '--port',
        String(to.port),
        '--conn-protocol',
        'LDAP',
        '--bind-dn',
        REPLICATION_MANAGER,
        '--bind-passwd',
        replicationPassword,
        '--bind-method',
        'SIMPLE',
        `to-${to.port}`,
      ]);
    }
    // init-status says "Unknown" until the total update task reports; on a loaded machine that can outlast a
    // first init, so an init still unknown after 30 s is started again (initialising twice is harmless).
    const init = (): Promise<string> => dsconf(a, ['repl-agmt', 'init', '--suffix', REPLICATED_SUFFIX, `to-${b.port}`]);
    await init();
    const deadline = Date.now() + 180_000;
    let startedAt = Date.now();
    // A loaded machine can also fail an init outright ("Can't contact LDAP server - no response received" while
    // B is still busy starting): such a failure is tried again, twice, before the pair gives up.
    let failedInits = 0;
    for (;;) {
      const status = await dsconf(a, ['repl-agmt', 'init-status', '--suffix', REPLICATED_SUFFIX, `to-${b.port}`]);
      if (/successfully initialized/i.test(status)) break;
      if (Date.now() > deadline) throw new Error(`initialising B failed: ${status}`);
      if (/fail|error/i.test(status)) {
        failedInits += 1;
        if (failedInits > 2) throw new Error(`initialising B failed: ${status}`);
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        await init();
        startedAt = Date.now();
        continue;
      }
      if (/unknown/i.test(status) && Date.now() - startedAt > 30_000) {
        await init();
        startedAt = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } catch (error) {
    await Promise.all([a.stop(), b.stop()]);
    throw error;
  }
  const agreementDn = (from: 'a' | 'b'): string => `cn=to-${(from === 'a' ? b : a).port},${MAPPING_TREE_REPLICA}`;
  const setEnabled = async (from: 'a' | 'b', value: 'on' | 'off'): Promise<void> => {
    const ds = from === 'a' ? a : b;
    await withClient(ds.url, adminBind(ds), (c) =>
      c.modify(
        agreementDn(from),
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'nsds5ReplicaEnabled', values: [value] }),
        }),
      ),
    );
  };
  return {
    a,
    b,
    agreementDn,
    pause: (from) => setEnabled(from, 'off'),
    resume: (from) => setEnabled(from, 'on'),
    stop: async () => {
      await Promise.all([a.stop(), b.stop()]);
    },
  };
}

export interface SlapdPair {
  readonly a: Slapd;
  readonly b: Slapd;
  stop(): Promise<void>;
}

const SLAPD_DATA_DB = 'olcDatabase={1}mdb,cn=config';

export interface SlapdPairOptions {
  /**
   * Delta-syncrepl: each server logs its writes in its own `cn=accesslog` database (in the harness's accesslog
   * folder) and the syncrepl of the other reads that log (logbase, syncdata=accesslog), as the OpenLDAP
   * Administrator's Guide sets up delta-syncrepl multi-provider.
   */
  readonly delta?: boolean;
}

/** Two slapd in multi-provider syncrepl of dc=example,dc=com; B starts empty and receives A's tree. */
export async function startSlapdPair(opts: SlapdPairOptions = {}): Promise<SlapdPair> {
  const [a, b] = await Promise.all([startSlapd({ noSync: true }), startSlapd({ noSync: true, emptyDatabase: true })]);
  try {
    for (const [self, other, id] of [
      [a, b, '1'],
      [b, a, '2'],
    ] as const) {
      await withClient(self.url, adminBind(self), async (c) => {
        const add = (type: string, values: string[]): Change =>
          new Change({ operation: 'add', modification: new Attribute({ type, values }) });
        await c.modify('cn=config', [add('olcServerID', [id])]);
        await c.modify('cn=module{0},cn=config', [
          add('olcModuleLoad', opts.delta === true ? ['syncprov', 'accesslog'] : ['syncprov']),
        ]);
        if (opts.delta === true) {
          // The log database first (the overlay names it), readable by the other server's replication bind.
          await c.add(`olcDatabase={2}mdb,cn=config`, {
            objectClass: ['olcDatabaseConfig', 'olcMdbConfig'],
            olcDatabase: '{2}mdb',
            olcSuffix: 'cn=accesslog',
            olcDbDirectory: self.accesslogDirectory,
            olcRootDN: self.adminDn,
            olcDbIndex: ['default eq', 'entryCSN,objectClass,reqEnd,reqResult,reqStart,reqDN'],
            olcAccess: `{0}to * by dn.exact="${other.adminDn}" read by * break`,
          });
          await c.add('olcOverlay=syncprov,olcDatabase={2}mdb,cn=config', {
            objectClass: ['olcOverlayConfig', 'olcSyncProvConfig'],
            olcOverlay: 'syncprov',
            olcSpNoPresent: 'TRUE',
            olcSpReloadHint: 'TRUE',
          });
        }
        await c.add(`olcOverlay=syncprov,${SLAPD_DATA_DB}`, {
          objectClass: ['olcOverlayConfig', 'olcSyncProvConfig'],
          olcOverlay: 'syncprov',
        });
        if (opts.delta === true) {
          await c.add(`olcOverlay=accesslog,${SLAPD_DATA_DB}`, {
            objectClass: ['olcOverlayConfig', 'olcAccessLogConfig'],
            olcOverlay: 'accesslog',
            olcAccessLogDB: 'cn=accesslog',
            olcAccessLogOps: 'writes',
            olcAccessLogSuccess: 'TRUE',
            olcAccessLogPurge: '07+00:00 01+00:00',
          });
        }
        const delta =
          opts.delta === true
            ? ' logbase="cn=accesslog" logfilter="(&(objectClass=auditWriteObject)(reqResult=0))" syncdata=accesslog'
            : '';
        await c.modify(SLAPD_DATA_DB, [
          add('olcSyncrepl', [
            `rid=00${id} provider=${other.url} bindmethod=simple binddn="${other.adminDn}" ` +
              `credentials=${other.adminPassword} searchbase="${REPLICATED_SUFFIX}" scope=sub ` +
              `type=refreshAndPersist retry="1 +" timeout=5${delta}`,
          ]),
          add('olcMultiProvider', ['TRUE']),
        ]);
      });
    }
    // B holds A's tree once replication runs.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const people = await withClient(b.url, adminBind(b), async (c) => {
        const found = await c.search(`ou=People,${REPLICATED_SUFFIX}`, { scope: 'base' }).catch(() => undefined);
        return found?.searchEntries.length ?? 0;
      });
      if (people === 1) break;
      if (Date.now() > deadline) throw new Error('slapd B did not receive A tree in 60 s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch (error) {
    await Promise.all([a.stop(), b.stop()]);
    throw error;
  }
  return {
    a,
    b,
    stop: async () => {
      await Promise.all([a.stop(), b.stop()]);
    },
  };
}

/**
 * A read-only consumer of `provider` (plain syncrepl, no olcMultiProvider, writes referred to the provider by
 * olcUpdateRef): it starts empty and receives the provider's tree.
 */
export async function startSlapdConsumer(provider: Slapd): Promise<Slapd> {
  const consumer = await startSlapd({ noSync: true, emptyDatabase: true });
  try {
    await withClient(consumer.url, adminBind(consumer), async (c) => {
      const add = (type: string, values: string[]): Change =>
        new Change({ operation: 'add', modification: new Attribute({ type, values }) });
      await c.modify(SLAPD_DATA_DB, [
        add('olcSyncrepl', [
          `rid=009 provider=${provider.url} bindmethod=simple binddn="${provider.adminDn}" ` +
            `credentials=${provider.adminPassword} searchbase="${REPLICATED_SUFFIX}" scope=sub ` +
            'type=refreshAndPersist retry="1 +" timeout=5',
        ]),
        add('olcUpdateRef', [provider.url]),
      ]);
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const people = await withClient(consumer.url, adminBind(consumer), async (c) => {
        const found = await c.search(`ou=People,${REPLICATED_SUFFIX}`, { scope: 'base' }).catch(() => undefined);
        return found?.searchEntries.length ?? 0;
      });
      if (people === 1) break;
      if (Date.now() > deadline) throw new Error('the slapd consumer did not receive the tree in 60 s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch (error) {
    await consumer.stop();
    throw error;
  }
  return consumer;
}
