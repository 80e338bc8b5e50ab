// JKS trust and key stores (fixtures made once by keytool: test/fixtures/jks/make-fixtures.sh), client key
// stores in PEM and PKCS#12, and the options that take them, as resolveSettings reads them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { readJks, jksPrivateKey } from '../../src/tls/jks.js';
import { readKeyStore } from '../../src/tls/keystore.js';
import { readTrustStore, TrustStoreError } from '../../src/tls/truststore.js';
import { resolveSettings } from '../../src/cli/settings.js';
import { PrepareError } from '../../src/model/errors.js';

const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'jks');
const fixture = (name: string): Buffer => readFileSync(path.join(FIXTURES, name));
const PASSWORD = 'changeit';

function problem(fn: () => unknown): TrustStoreError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TrustStoreError) return error;
    throw error;
  }
  assert.fail('no TrustStoreError');
}

const same = (a: string, b: string): boolean =>
  new X509Certificate(a).fingerprint256 === new X509Certificate(b).fingerprint256;

describe('JKS', () => {
  test('a keytool trust store: its trusted certificate, integrity checked with the password', () => {
    const store = readTrustStore(fixture('truststore.jks'), PASSWORD);
    assert.equal(store.format, 'jks');
    assert.equal(store.certificates.length, 1);
    assert.ok(same(store.certificates[0]!, fixture('ca.pem').toString()));
    assert.equal(store.unverified, undefined);
  });

  test('without the password it is read but said unverified; a wrong password or a changed byte is refused', () => {
    assert.equal(readTrustStore(fixture('truststore.jks'), undefined).unverified, true);
    assert.equal(problem(() => readTrustStore(fixture('truststore.jks'), 'wrong')).problem, 'password-wrong');
    const changed = Buffer.from(fixture('truststore.jks'));
    changed[40]! ^= 0x01;
    assert.equal(problem(() => readTrustStore(changed, PASSWORD)).problem, 'password-wrong');
  });

  test('bounded: a truncated file, a huge entry count, a length past the end are refused, not followed', () => {
    const jks = fixture('truststore.jks');
    assert.equal(problem(() => readTrustStore(jks.subarray(0, 30), undefined)).problem, 'jks');
    const count = Buffer.from(jks);
    count.writeUInt32BE(0x7fffffff, 8);
    assert.equal(problem(() => readJks(count, undefined)).problem, 'jks');
    const length = Buffer.from(jks);
    // The first entry: tag (4), alias (2 + n), timestamp (8), type "X.509" (2 + 5), then the certificate length.
    const aliasLength = length.readUInt16BE(16);
    length.writeUInt32BE(0xffffff, 16 + 2 + aliasLength + 8 + 7);
    assert.equal(problem(() => readJks(length, undefined)).problem, 'jks');
    assert.equal(problem(() => readTrustStore(fixture('truststore.jks'), undefined, 'pkcs12')).problem, 'unrecognized');
  });

  test('a keytool key store: the key of an alias decrypts (Sun key protector) and matches its certificate', () => {
    const jks = readJks(fixture('keystore.jks'), PASSWORD);
    assert.deepEqual(jks.keys.map((k) => k.alias).sort(), ['other', 'pes-admin']);
    const admin = jks.keys.find((k) => k.alias === 'pes-admin')!;
    const key = jksPrivateKey(admin, PASSWORD);
    const certificate = new X509Certificate(admin.chain[0]!);
    assert.ok(certificate.checkPrivateKey(createPrivateKeyOf(key)));
    assert.equal(problem(() => jksPrivateKey(admin, 'wrong')).problem, 'password-wrong');
  });

  test('--certNickname picks the entry; without it, two keys are refused with their aliases', () => {
    const store = readKeyStore(fixture('keystore.jks'), PASSWORD, 'jks', 'pes-admin');
    assert.equal(store.subject, 'CN=pes admin');
    assert.match(
      problem(() => readKeyStore(fixture('keystore.jks'), PASSWORD, undefined, undefined)).message,
      /--certNickname/,
    );
    assert.match(
      problem(() => readKeyStore(fixture('keystore.jks'), PASSWORD, undefined, 'nobody')).message,
      /no key entry whose alias is 'nobody' \(it has: .*pes-admin/,
    );
  });
});

function createPrivateKeyOf(pem: string): KeyObject {
  return createPrivateKey(pem);
}

describe('PEM and PKCS#12 key stores', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pes-keystore-'));
  const file = (name: string): string => path.join(tmp, name);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      file('k.pem'),
      '-out',
      file('c.pem'),
      '-subj',
      '/CN=pes admin/O=Example',
      '-days',
      '2',
    ],
    { stdio: 'ignore' },
  );
  execFileSync('openssl', [
    'pkey',
    '-in',
    file('k.pem'),
    '-aes256',
    '-passout',
    'pass:secret',
    '-out',
    file('enc.pem'),
  ]);
  execFileSync('openssl', [
    'pkcs12',
    '-export',
    '-in',
    file('c.pem'),
    '-inkey',
    file('k.pem'),
    '-passout',
    'pass:secret',
    '-out',
    file('c.p12'),
  ]);
  const both = Buffer.concat([readFileSync(file('c.pem')), readFileSync(file('k.pem'))]);
  const encrypted = Buffer.concat([readFileSync(file('c.pem')), readFileSync(file('enc.pem'))]);

  test('PEM: certificate and key; the subject in RFC 4514 order', () => {
    const store = readKeyStore(both, undefined, undefined, undefined);
    assert.equal(store.kind, 'pem');
    // encoded CN first, O second: RFC 4514 writes the last one first
    assert.equal(store.subject, 'O=Example,CN=pes admin');
  });

  test('PEM with an encrypted key: the password opens it; none or a wrong one is said so', () => {
    assert.equal(readKeyStore(encrypted, 'secret', 'pem', undefined).kind, 'pem');
    assert.equal(problem(() => readKeyStore(encrypted, undefined, 'pem', undefined)).problem, 'password-needed');
    assert.equal(problem(() => readKeyStore(encrypted, 'wrong', 'pem', undefined)).problem, 'password-wrong');
    assert.equal(
      problem(() => readKeyStore(readFileSync(file('c.pem')), undefined, 'pem', undefined)).problem,
      'no-certificate',
    );
  });

  test('PKCS#12: the MAC checks the password first (bounded reader), node:tls opens the key', () => {
    const store = readKeyStore(readFileSync(file('c.p12')), 'secret', 'pkcs12', undefined);
    assert.equal(store.kind, 'pfx');
    assert.equal(
      problem(() => readKeyStore(readFileSync(file('c.p12')), 'wrong', undefined, undefined)).problem,
      'password-wrong',
    );
  });

  test('PKCS#12: a key protected by more key derivation rounds than allowed is refused before OpenSSL runs them', () => {
    execFileSync('openssl', [
      'pkcs12',
      '-export',
      '-in',
      file('c.pem'),
      '-inkey',
      file('k.pem'),
      '-certpbe',
      'NONE',
      '-iter',
      '2000000',
      '-passout',
      'pass:secret',
      '-out',
      file('slow.p12'),
    ]);
    const refused = problem(() => readKeyStore(readFileSync(file('slow.p12')), 'secret', undefined, undefined));
    assert.equal(refused.problem, 'unsupported');
    assert.match(refused.message, /2000000 key derivation rounds/);
  });

  test('options: --keyStorePath with its password file, --trustStoreFormat JKS, --saslOption mech=EXTERNAL', () => {
    const pw = file('pw');
    writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
    const parsed = {
      hostname: 'ds.example.com',
      useStartTLS: true,
      saslOption: ['mech=EXTERNAL'],
      keyStorePath: path.join(FIXTURES, 'keystore.jks'),
      keyStorePasswordFile: pw,
      certNickname: 'pes-admin',
      trustStorePath: path.join(FIXTURES, 'truststore.jks'),
      trustStoreFormat: 'JKS',
      trustStorePasswordFile: pw,
      baseDN: ['dc=example,dc=com'],
      isDestination: true,
      syncServerBindPassword: 'x',
      prompt: false,
    };
    const environment = { env: {}, stdinIsTTY: false, readStdin: () => '' };
    const { settings } = resolveSettings(parsed, new Set(Object.keys(parsed)), environment);
    assert.equal(settings.useSaslExternal, true);
    assert.equal(settings.clientCertificate?.subject, 'CN=pes admin');
    assert.equal(settings.trust.kind, 'certificates');
    assert.equal(settings.bindDn, undefined, 'EXTERNAL alone needs no bind DN or password');
    for (const [extra, pattern] of [
      [{ saslOption: ['mech=PLAIN'] }, /only mech=EXTERNAL/],
      [{ keyStoreFormat: 'PKCS11' }, /not supported/],
      [{ useStartTLS: false }, /--keyStorePath is presented only in a TLS handshake/],
    ] as const) {
      const bad = { ...parsed, ...extra };
      assert.throws(
        () => resolveSettings(bad, new Set(Object.keys(bad)), environment),
        (e: unknown) =>
          e instanceof PrepareError && e.resultCode === 89 && pattern.test(`${e.message} ${e.hint ?? ''}`),
      );
    }
  });

  test("a Ping properties file: this tool's prefixed lines are taken, other tools' lines ignored", () => {
    const props = file('tools.properties');
    writeFileSync(
      props,
      'ldapsearch.hostname=elsewhere.example.com\nprepare-endpoint-server.hostname=ds1.example.com\nprepare-endpoint-server.isDestination=true\nbaseDN=dc=example,dc=com\n',
      { mode: 0o600 },
    );
    const parsed = {
      propertiesFilePath: props,
      syncServerBindPassword: 'x',
      bindDN: 'cn=Directory Manager',
      bindPassword: 'y',
      prompt: false,
    };
    const { settings } = resolveSettings(parsed, new Set(Object.keys(parsed)), {
      env: {},
      stdinIsTTY: false,
      readStdin: () => '',
    });
    assert.equal(settings.host, 'ds1.example.com');
    assert.equal(settings.roles.destination, true);
    rmSync(tmp, { recursive: true, force: true });
  });
});
