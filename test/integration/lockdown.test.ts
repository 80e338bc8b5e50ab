// Locked-down servers, against real processes: a slapd configured from Debian's own slapd.init.ldif (cn=config
// manageable only by root over ldapi with SASL EXTERNAL; the data admin has no rights there; root only reads the
// data), a 389 DS reached over its ldapi socket with autobind, and client-certificate SASL EXTERNAL binds over
// StartTLS. Every claim is checked on the server: the sync user binds, reads cn=accesslog and the base, runs an
// RFC 4533 search (ldapsearch -E sync=ro); a re-run writes nothing; an unmapped certificate is refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { startSlapd, type Slapd } from '../servers/openldap.js';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { makeTestCertificates, serverTls, type TestCertificates } from '../servers/tls.js';
import { repoRoot, runCli, type RunCliResult } from '../helpers/cli.js';
import { canBind, readEntry, searchDns } from '../helpers/directory.js';
import { describeRun, makeTempDir, secretFile } from '../helpers/fixture.js';
import { spawnCli } from '../helpers/matrix.js';

const BASE = 'dc=example,dc=com';
const SYNC_DN = `cn=Sync User,${BASE}`;
const SYNC_PASSWORD = `Sync-Lockdown-${randomUUID()}`;
const DATA_ADMIN = `cn=admin,${BASE}`;
const isRoot = process.getuid?.() === 0;

let tmp: string;
let syncPasswordFile: string;

/** The run's result and its --json object. */
async function run(args: string[]): Promise<{ r: RunCliResult; json: { ldap: { writes: number }; changed: boolean } }> {
  const r = await runCli([...args, '--no-prompt', '--json', '--logFile', path.join(tmp, 'run.log')], {
    timeoutMs: 120_000,
  });
  let json = { ldap: { writes: -1 }, changed: true };
  try {
    json = JSON.parse(r.stdout) as typeof json;
  } catch {
    // the assertion on the exit code shows the output
  }
  return { r, json };
}

function ldapsearch(args: string[]): string {
  return execFileSync('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', ...args], { encoding: 'utf8' });
}

/** A client certificate issued by the test CA, key and certificate in one PEM file. */
function clientPem(certs: TestCertificates, name: string, subject: string): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const key = path.join(dir, 'client.key');
  const csr = path.join(dir, 'client.csr');
  const cert = path.join(dir, 'client.pem');
  execFileSync('openssl', [
    'req',
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    subject,
  ]);
  execFileSync('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    certs.caPem,
    '-CAkey',
    certs.caKey,
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    cert,
  ]);
  const both = path.join(dir, 'keystore.pem');
  execFileSync('sh', ['-c', `cat '${cert}' '${key}' > '${both}'`]);
  return both;
}

before(() => {
  tmp = makeTempDir('pes-lockdown-');
  syncPasswordFile = secretFile(tmp, 'sync.pw', SYNC_PASSWORD);
});

describe('ldapi:// in --hostname', () => {
  test('a path that is no socket: 89 naming it; a missing socket: 91 naming it', async () => {
    const notSocket = path.join(tmp, 'not-a-socket');
    writeFileSync(notSocket, '');
    const common = [
      '--useSASLExternal',
      '-b',
      BASE,
      '--isDestination',
      '--syncServerBindPasswordFile',
      syncPasswordFile,
    ];
    const a = await run(['-h', `ldapi://${encodeURIComponent(notSocket)}`, ...common]);
    assert.equal(a.r.code, 89, describeRun(a.r));
    assert.match(a.r.stderr, new RegExp(`'${notSocket}' is not a socket`), describeRun(a.r));
    const missing = path.join(tmp, 'no-such.socket');
    const b = await run(['-h', `ldapi://${encodeURIComponent(missing).replace(/%2F/g, '%2f')}`, ...common]);
    assert.equal(b.r.code, 91, describeRun(b.r));
    assert.match(b.r.stderr, new RegExp(`Cannot connect to the ldapi socket '${missing}': there is no such socket`));
    const c = await run(['-h', 'ldapi://relative%2Fpath', ...common]);
    assert.equal(c.r.code, 89, describeRun(c.r));
    const d = await run(['-h', `ldapi://${encodeURIComponent(missing)}`, '--useStartTLS', ...common]);
    assert.equal(d.r.code, 89, describeRun(d.r));
  });

  test('ldapi:/// looks for the default socket: with none on this machine, 89 listing where it looked', async (ctx) => {
    const places = ['/run/slapd/ldapi', '/var/run/slapd/ldapi', '/run/openldap/ldapi', '/run/ldapi', '/var/run/ldapi'];
    const ds389 = readdirSync('/run').filter((name) => /^slapd-.+\.socket$/.test(name));
    if (places.some((place) => existsSync(place)) || ds389.length > 0) {
      ctx.skip('this machine has a default ldapi socket');
      return;
    }
    const common = [
      '--useSASLExternal',
      '-b',
      BASE,
      '--isDestination',
      '--syncServerBindPasswordFile',
      syncPasswordFile,
    ];
    const { r } = await run(['-h', 'ldapi:///', ...common]);
    assert.equal(r.code, 89, describeRun(r));
    assert.match(r.stderr, /no ldapi socket found in the usual places \(\/run\/slapd\/ldapi, /, describeRun(r));
  });
});

describe("Debian's stock slapd (slapd.init.ldif), prepared by root over ldapi", { skip: !isRoot }, () => {
  let slapd: Slapd;
  let adminPasswordFile: string;
  const accesslog = (): string[] => ['--accesslogDirectory', slapd.accesslogDirectory];

  before(async () => {
    slapd = await startSlapd({ stock: true });
    adminPasswordFile = secretFile(tmp, 'stock-admin.pw', slapd.adminPassword);
  });
  after(async () => {
    await slapd?.stop();
  });

  test('SASL EXTERNAL alone: root may not write the data, 50 before any write, the hint names --bindDN', async () => {
    const { r } = await run([
      '-h',
      slapd.ldapiUrl,
      '--useSASLExternal',
      '-b',
      BASE,
      '--isDestination',
      '--syncServerBindPasswordFile',
      syncPasswordFile,
    ]);
    assert.equal(r.code, 50, describeRun(r));
    assert.match(r.stderr, /--bindDN/, describeRun(r));
    assert.equal(await readEntry(slapd.url, undefined, SYNC_DN), undefined, 'nothing written');
  });

  test('one command as root: source and destination; a re-run writes nothing; the sync user reads and syncs', async () => {
    const args = [
      '-h',
      slapd.ldapiUrl,
      '--saslOption',
      'mech=EXTERNAL',
      '-D',
      DATA_ADMIN,
      '-j',
      adminPasswordFile,
      '--syncServerBindPasswordFile',
      syncPasswordFile,
      '-b',
      BASE,
      '--isSource',
      '--isDestination',
      ...accesslog(),
    ];
    const first = await run(args);
    assert.equal(first.r.code, 0, describeRun(first.r));
    assert.ok(first.json.ldap.writes > 0, describeRun(first.r));
    const again = await run(args);
    assert.equal(again.r.code, 0, describeRun(again.r));
    assert.equal(again.json.ldap.writes, 0, describeRun(again.r));
    assert.equal(again.json.changed, false);

    assert.equal(await canBind(slapd.url, SYNC_DN, SYNC_PASSWORD), true);
    const sync = { dn: SYNC_DN, password: SYNC_PASSWORD };
    assert.ok((await searchDns(slapd.url, sync, 'cn=accesslog', '(objectClass=*)')).length > 0, 'reads cn=accesslog');
    assert.ok((await searchDns(slapd.url, sync, BASE, '(objectClass=*)')).includes(BASE), 'reads the base');
    const pw = secretFile(tmp, 'sync-nonl.pw', SYNC_PASSWORD);
    writeFileSync(pw, SYNC_PASSWORD, { mode: 0o600 }); // ldapsearch -y takes the whole file
    const synced = ldapsearch(['-x', '-H', slapd.url, '-D', SYNC_DN, '-y', pw, '-b', BASE, '-E', 'sync=ro', 'dn']);
    assert.match(synced, new RegExp(`^dn: ${BASE}$`, 'm'), synced);
    // The sync user may write the destination: an entry it adds is there.
    const probe = `cn=probe-${randomUUID()},${BASE}`;
    execFileSync('ldapadd', ['-x', '-H', slapd.url, '-D', SYNC_DN, '-y', pw], {
      input: `dn: ${probe}\nobjectClass: organizationalRole\ncn: ${probe.slice(3, probe.indexOf(','))}\n`,
    });
    execFileSync('ldapdelete', ['-x', '-H', slapd.url, '-D', SYNC_DN, '-y', pw, probe]);
  });

  test('then the data admin alone over TCP (no cn=config rights): verifies, prints no fix, writes nothing', async () => {
    const { r, json } = await run([
      '-h',
      slapd.host,
      '-p',
      String(slapd.port),
      '-D',
      DATA_ADMIN,
      '-j',
      adminPasswordFile,
      '--syncServerBindPasswordFile',
      syncPasswordFile,
      '-b',
      BASE,
      '--isSource',
    ]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(json.ldap.writes, 0, describeRun(r));
    assert.doesNotMatch(r.stderr, /#!\/bin\/sh/);
  });
});

describe('389 DS over ldapi, root autobinds as Directory Manager', { skip: !isRoot }, () => {
  let ds: Ds389;
  before(async () => {
    ds = await startDs389();
  });
  after(async () => {
    await ds?.stop();
  });

  test('--useSASLExternal alone, no admin password anywhere: prepared; a re-run writes nothing', async () => {
    // The harness writes the socket's URL as 389's tools do (lower-case %2f).
    const url = /^LDAPI_URL=(.*)$/m.exec(readFileSync(path.join(ds.dataDir, 'connection.env'), 'utf8'))?.[1] ?? '';
    assert.match(url, /^ldapi:\/\/%2f/);
    const args = [
      '-h',
      url,
      '--useSASLExternal',
      '--syncServerBindPasswordFile',
      syncPasswordFile,
      '-b',
      BASE,
      '--isDestination',
    ];
    const first = await run(args);
    assert.equal(first.r.code, 0, describeRun(first.r));
    assert.match(first.r.stderr, /Bound with SASL EXTERNAL as 'cn=Directory Manager'/i, describeRun(first.r));
    assert.equal(await canBind(ds.url, SYNC_DN, SYNC_PASSWORD), true);
    const again = await run(args);
    assert.equal(again.r.code, 0, describeRun(again.r));
    assert.equal(again.json.ldap.writes, 0, describeRun(again.r));
  });

  test('the Ansible module: use_sasl_external and the ldapi URL, no admin password', (ctx) => {
    if (spawnSync('ansible', ['--version']).status !== 0) {
      ctx.skip('ansible is not installed');
      return;
    }
    const url = /^LDAPI_URL=(.*)$/m.exec(readFileSync(path.join(ds.dataDir, 'connection.env'), 'utf8'))?.[1] ?? '';
    const home = path.join(tmp, 'ansible');
    const played = spawnSync(
      'ansible',
      [
        'localhost',
        '-c',
        'local',
        '-i',
        'localhost,',
        '-m',
        'pes.endpoint.prepare_endpoint_server',
        '-a',
        JSON.stringify({
          hostname: url,
          use_sasl_external: true,
          base_dn: [BASE],
          is_destination: true,
          sync_server_bind_dn: `cn=Ansible User,${BASE}`,
          sync_server_bind_password_file: syncPasswordFile,
          log_file: path.join(tmp, 'ansible-run.log'),
        }),
      ],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          PATH: `${path.join(repoRoot, 'bin')}:${process.env.PATH ?? ''}`,
          ANSIBLE_COLLECTIONS_PATH: path.join(repoRoot, 'ansible'),
          ANSIBLE_HOME: home,
          ANSIBLE_LOCAL_TEMP: path.join(home, 'tmp'),
          ANSIBLE_REMOTE_TEMP: path.join(home, 'tmp'),
          ANSIBLE_CONFIG: path.join(home, 'none.cfg'),
        },
        timeout: 120_000,
      },
    );
    assert.equal(played.status, 0, `${played.stdout}${played.stderr}`);
    assert.match(played.stdout, /"changed": true/, played.stdout);
    assert.match(played.stdout, /"msg": "ldapi:\/\/%2F[^"]* changed/, played.stdout);
  });
});

describe('client certificates: SASL EXTERNAL over StartTLS (slapd olcAuthzRegexp)', { skip: !isRoot }, () => {
  let certs: TestCertificates;
  let slapd: Slapd;
  let mapped: string;
  let unmapped: string;

  before(async () => {
    certs = await makeTestCertificates();
    slapd = await startSlapd({ tls: serverTls(certs) });
    // As the research found it on Debian: ask for a client certificate, map one subject to the admin.
    execFileSync('ldapmodify', ['-Q', '-Y', 'EXTERNAL', '-H', slapd.ldapiUrl], {
      input:
        'dn: cn=config\nchangetype: modify\nreplace: olcTLSVerifyClient\nolcTLSVerifyClient: try\n-\n' +
        `add: olcAuthzRegexp\nolcAuthzRegexp: "^cn=pes admin$" "${DATA_ADMIN}"\n-\n`,
    });
    mapped = clientPem(certs, 'mapped', '/CN=pes admin');
    unmapped = clientPem(certs, 'unmapped', '/CN=pes stranger');
  });
  after(async () => {
    await slapd?.stop();
    certs?.cleanup();
  });

  const args = (keyStore: string): string[] => [
    '-h',
    '127.0.0.1',
    '-p',
    String(slapd.port),
    '--useStartTLS',
    '--trustStorePath',
    certs.caPem,
    '--useSASLExternal',
    '--keyStorePath',
    keyStore,
    '--syncServerBindPasswordFile',
    syncPasswordFile,
    '-b',
    BASE,
    '--isDestination',
  ];

  test('the mapped certificate binds as the admin and prepares the server', async () => {
    const { r } = await run(args(mapped));
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stderr, new RegExp(`Bound with SASL EXTERNAL as '${DATA_ADMIN}'`, 'i'), describeRun(r));
    assert.equal(await canBind(slapd.url, SYNC_DN, SYNC_PASSWORD), true);
  });

  test('the same certificate in a PKCS#12 key store: its password never printed or logged', async () => {
    const sentinel = `KeyStore-Sentinel-${randomUUID()}`;
    const p12 = path.join(tmp, 'mapped.p12');
    execFileSync('openssl', ['pkcs12', '-export', '-in', mapped, '-out', p12, '-passout', 'stdin'], {
      input: `${sentinel}\n`,
    });
    const passwordFile = secretFile(tmp, 'p12.pw', sentinel);
    const keyStoreArgs = args(p12).concat(['--keyStorePasswordFile', passwordFile, '--keyStoreFormat', 'PKCS12']);
    const { r } = await run(keyStoreArgs);
    assert.equal(r.code, 0, describeRun(r));
    const wrong = await run(args(p12).concat(['--keyStorePassword', 'not-it']));
    assert.equal(wrong.r.code, 89, describeRun(wrong.r));
    for (const text of [
      r.stdout,
      r.stderr,
      wrong.r.stdout,
      wrong.r.stderr,
      readFileSync(path.join(tmp, 'run.log'), 'utf8'),
    ])
      assert.ok(!text.includes(sentinel), 'the key store password is nowhere');
  });

  test('an unmapped certificate: 49 naming its subject, nothing written', async () => {
    const before = ldapsearch(['-Q', '-Y', 'EXTERNAL', '-H', slapd.ldapiUrl, '-b', 'cn=config', 'olcAccess']);
    const { r } = await run(args(unmapped));
    assert.equal(r.code, 49, describeRun(r));
    assert.match(r.stderr, /client certificate 'CN=pes stranger'/, describeRun(r));
    assert.equal(ldapsearch(['-Q', '-Y', 'EXTERNAL', '-H', slapd.ldapiUrl, '-b', 'cn=config', 'olcAccess']), before);
  });

  describe('an unknown server certificate at a terminal (no --trustStorePath)', () => {
    const promptUser = `cn=Prompt User,${BASE}`;
    const atTerminal = (): string[] => [
      '-h',
      '127.0.0.1',
      '-p',
      String(slapd.port),
      '--useStartTLS',
      '-D',
      DATA_ADMIN,
      '-j',
      secretFile(tmp, 'tls-admin.pw', slapd.adminPassword),
      '--syncServerBindDN',
      promptUser,
      '--syncServerBindPasswordFile',
      syncPasswordFile,
      '-b',
      BASE,
      '--isDestination',
      '--logFile',
      path.join(tmp, 'prompt.log'),
    ];

    async function answer(text: string): Promise<RunCliResult> {
      const spawned = spawnCli(atTerminal(), { tty: true, stdin: 'open', timeoutMs: 60_000 });
      const asked = await Promise.race([
        spawned.output(/Do you trust this certificate for this run\?/).then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 30_000)),
      ]);
      if (asked) spawned.child.stdin?.write(`${text}\r`);
      else spawned.child.kill('SIGKILL');
      const r = await spawned.result;
      assert.ok(asked, `the question was asked: ${describeRun(r)}`);
      return r;
    }

    test('shown with subject, issuer, validity and SHA-256 fingerprint; "no": 91, nothing written', async () => {
      const r = await answer('no');
      const shown = `${r.stdout}${r.stderr}`;
      assert.match(shown, /Subject: +CN=localhost/, describeRun(r));
      assert.match(shown, /Issuer: +CN=PES Test CA/, describeRun(r));
      assert.match(shown, /Valid until: /, describeRun(r));
      assert.match(shown, /SHA-256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}/, describeRun(r));
      assert.equal(r.code, 91, describeRun(r));
      assert.match(shown, /--trustStorePath/, describeRun(r));
      assert.equal(await readEntry(slapd.url, undefined, promptUser), undefined, 'nothing written');
    });

    test('"yes": the run proceeds with that certificate', async () => {
      const r = await answer('yes');
      assert.equal(r.code, 0, describeRun(r));
      assert.equal(await canBind(slapd.url, promptUser, SYNC_PASSWORD), true);
    });

    test('--no-prompt (or no terminal): 91 naming --trustStorePath, nothing asked', async () => {
      const { r } = await run(atTerminal().slice(0, -2));
      assert.equal(r.code, 91, describeRun(r));
      assert.match(r.stderr, /--trustStorePath/, describeRun(r));
      assert.doesNotMatch(r.stderr, /Do you trust/);
    });
  });

  test('a key store that is not one: 89 before connecting', async () => {
    const { r } = await run(args(certs.caPem));
    assert.equal(r.code, 89, describeRun(r));
    assert.match(r.stderr, /--keyStorePath .* holds no PEM private key/, describeRun(r));
  });
});

describe('client certificates: SASL EXTERNAL over StartTLS (389 DS certificate mapping)', { skip: !isRoot }, () => {
  let certs: TestCertificates;
  let ds: Ds389;
  const ADMIN = `cn=pes admin,${BASE}`;

  before(async () => {
    certs = await makeTestCertificates();
    ds = await startDs389({ tls: serverTls(certs) });
    // certmap.conf as dscreate writes it maps a certificate to the entry named by its subject. That entry gets
    // the rights an administrator of the data and of cn=config has, by ACI (389 DS has no root DN entry).
    const aci = (name: string): string =>
      `aci: (targetattr="*")(version 3.0; acl "${name}"; allow (all) userdn="ldap:///${ADMIN}";)`;
    execFileSync('ldapmodify', ['-x', '-H', ds.url, '-D', ds.adminDn, '-w', ds.adminPassword], {
      input:
        `dn: ${ADMIN}\nchangetype: add\nobjectClass: person\ncn: pes admin\nsn: admin\n\n` +
        `dn: ${BASE}\nchangetype: modify\nadd: aci\n${aci('pes admin: data')}\n-\n\n` +
        `dn: cn=config\nchangetype: modify\nadd: aci\n${aci('pes admin: config')}\n-\n`,
    });
  });
  after(async () => {
    await ds?.stop();
    certs?.cleanup();
  });

  const args = (keyStore: string): string[] => [
    '-h',
    '127.0.0.1',
    '-p',
    String(ds.port),
    '--useStartTLS',
    '--trustStorePath',
    certs.caPem,
    '--saslOption',
    'mech=EXTERNAL',
    '--keyStorePath',
    keyStore,
    '--syncServerBindPasswordFile',
    syncPasswordFile,
    '-b',
    BASE,
    '--isDestination',
  ];

  test('the mapped certificate binds as its entry and prepares the server', async () => {
    const { r } = await run(args(clientPem(certs, 'ds-mapped', '/DC=com/DC=example/CN=pes admin')));
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stderr, new RegExp(`Bound with SASL EXTERNAL as '${ADMIN}'`, 'i'), describeRun(r));
    assert.equal(await canBind(ds.url, SYNC_DN, SYNC_PASSWORD), true);
  });

  test('an unmapped certificate: 49 naming its subject, nothing written', async () => {
    const { r } = await run(args(clientPem(certs, 'ds-unmapped', '/DC=com/DC=example/CN=pes nobody')));
    assert.equal(r.code, 49, describeRun(r));
    assert.match(r.stderr, /client certificate 'CN=pes nobody,DC=example,DC=com'/, describeRun(r));
  });
});
