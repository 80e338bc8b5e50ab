// Trust store reading (src/tls/truststore.ts and its readers) and its use by resolveSettings: PEM, DER, PKCS#12 as OpenSSL
// (current and legacy algorithms) and keytool write it, wrong and missing passwords, JKS. Files are made with
// the openssl CLI at test time.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { readTrustStore, TrustStoreError } from '../../src/tls/truststore.js';
import { thrownBy } from '../helpers/fixture.js';
import { pkcs12Kdf } from '../../src/tls/pkcs12.js';
import { resolveSettings } from '../../src/cli/settings.js';
import { PrepareError } from '../../src/model/errors.js';
import { makeTestCertificates, type TestCertificates } from '../servers/tls.js';

let certs: TestCertificates;
let caPem = '';
let password = '';

function p12(name: string, extra: string[], pass = password, input = certs.caPem): string {
  const file = path.join(certs.dir, name);
  execFileSync(
    'openssl',
    ['pkcs12', '-export', '-nokeys', '-in', input, '-out', file, '-passout', `pass:${pass}`, ...extra],
    { stdio: 'pipe' },
  );
  return file;
}

function problem(fn: () => unknown): TrustStoreError {
  return thrownBy(TrustStoreError, fn);
}

function sameCertificate(pem: string, expected: string): boolean {
  return new X509Certificate(pem).fingerprint256 === new X509Certificate(expected).fingerprint256;
}

before(async () => {
  certs = await makeTestCertificates();
  caPem = readFileSync(certs.caPem, 'utf8');
  password = certs.pkcs12Password;
});

after(() => certs?.cleanup());

describe('readTrustStore', () => {
  test('PEM bundle: every certificate, in order', () => {
    const store = readTrustStore(readFileSync(certs.bundlePem), undefined);
    assert.equal(store.format, 'pem');
    assert.equal(store.certificates.length, 2);
    assert.ok(sameCertificate(store.certificates[1]!, caPem));
  });

  test('a single DER certificate', () => {
    const der = new X509Certificate(caPem).raw;
    const store = readTrustStore(der, undefined);
    assert.equal(store.format, 'der');
    assert.ok(sameCertificate(store.certificates[0]!, caPem));
  });

  test('PKCS#12 from OpenSSL 3 (PBES2 AES-256, MAC SHA-256) with the right password', () => {
    const store = readTrustStore(readFileSync(certs.pkcs12), password);
    assert.equal(store.format, 'pkcs12');
    assert.equal(store.certificates.length, 1);
    assert.ok(sameCertificate(store.certificates[0]!, caPem));
  });

  test('PKCS#12 with the legacy algorithms (RC2-40 and RC2-128, SHA-1 3DES, MAC SHA-1)', (t) => {
    const files: string[] = [p12('3des.p12', ['-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1'])];
    if (certs.pkcs12Legacy === undefined) {
      t.diagnostic('this openssl has no legacy provider: RC2 files cannot be made here');
    } else {
      files.push(certs.pkcs12Legacy, p12('rc2-128.p12', ['-legacy', '-certpbe', 'PBE-SHA1-RC2-128']));
    }
    for (const file of files) {
      const store = readTrustStore(readFileSync(file), password);
      assert.ok(sameCertificate(store.certificates[0]!, caPem), file);
      assert.equal(problem(() => readTrustStore(readFileSync(file), 'wrong')).problem, 'password-wrong', file);
    }
  });

  test('PKCS#12 without encryption, with an empty password, and with a key (certificates only are taken)', () => {
    const plain = readTrustStore(readFileSync(p12('plain.p12', ['-certpbe', 'NONE'])), password);
    assert.ok(sameCertificate(plain.certificates[0]!, caPem));
    const empty = p12('empty.p12', [], '');
    assert.ok(sameCertificate(readTrustStore(readFileSync(empty), undefined).certificates[0]!, caPem));
    assert.ok(sameCertificate(readTrustStore(readFileSync(empty), '').certificates[0]!, caPem));
    const withKey = path.join(certs.dir, 'with-key.p12');
    execFileSync(
      'openssl',
      [
        'pkcs12',
        '-export',
        '-in',
        certs.serverCert,
        '-inkey',
        certs.serverKey,
        '-certfile',
        certs.caPem,
        '-out',
        withKey,
        '-passout',
        `pass:${password}`,
      ],
      { stdio: 'pipe' },
    );
    const store = readTrustStore(readFileSync(withKey), password);
    assert.equal(store.certificates.length, 2);
    assert.ok(store.certificates.some((c) => sameCertificate(c, caPem)));
  });

  test('PKCS#12 written by keytool (trustedCertEntry)', (t) => {
    const file = path.join(certs.dir, 'java.p12');
    try {
      execFileSync(
        'keytool',
        [
          '-importcert',
          '-noprompt',
          '-alias',
          'pes',
          '-file',
          certs.caPem,
          '-keystore',
          file,
          '-storetype',
          'PKCS12',
          '-storepass',
          password,
        ],
        { stdio: 'pipe' },
      );
    } catch {
      t.skip('keytool is not installed');
      return;
    }
    assert.ok(sameCertificate(readTrustStore(readFileSync(file), password).certificates[0]!, caPem));
  });

  test('wrong and missing passwords are told apart', () => {
    const content = readFileSync(certs.pkcs12);
    assert.equal(problem(() => readTrustStore(content, 'not-it')).problem, 'password-wrong');
    assert.equal(problem(() => readTrustStore(content, undefined)).problem, 'password-needed');
    assert.equal(problem(() => readTrustStore(content, '')).problem, 'password-needed');
  });

  test('JKS, garbage and a damaged PKCS#12', () => {
    assert.equal(
      problem(() => readTrustStore(Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]), undefined)).problem,
      'jks',
    );
    assert.equal(problem(() => readTrustStore(Buffer.from('hello'), undefined)).problem, 'unrecognized');
    assert.equal(
      problem(() => readTrustStore(Buffer.from([0x30, 0x82, 0x01, 0x0a, 0x02, 0x82]), undefined)).problem,
      'unrecognized',
    );
    const damaged = Buffer.from(readFileSync(certs.pkcs12));
    damaged[damaged.length - 40]! ^= 0xff; // inside the MAC
    assert.equal(problem(() => readTrustStore(damaged, password)).problem, 'password-wrong');
  });

  test('PKCS#12 key derivation matches a known answer (RFC 7292 appendix B, as OpenSSL computes it)', () => {
    // password "smeg" (BMPString with terminator), salt 0a58cf64530d823f, 1 iteration, ID 1, 24 bytes:
    // the vector from OpenSSL's own PKCS#12 KDF tests.
    const bmp = Buffer.from('0073006d006500670000', 'hex');
    const key = pkcs12Kdf('sha1', bmp, Buffer.from('0a58cf64530d823f', 'hex'), 1, 1, 24);
    assert.equal(key.toString('hex'), '8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3');
  });
});

describe('resolveSettings with a trust store', () => {
  const base = (extra: string[]): Record<string, unknown> => ({
    baseDN: ['dc=example,dc=com'],
    isDestination: true,
    bindDN: 'cn=admin',
    prompt: false,
    useSSL: true,
    ...Object.fromEntries(extra.map((e) => e.split('=', 2) as [string, string])),
  });
  const environment = {
    env: { PES_BIND_PASSWORD: 'x', PES_SYNC_PASSWORD: 'y' },
    stdinIsTTY: false,
    readStdin: () => '',
  };

  test('PKCS#12 with --trustStorePasswordFile gives the CA as certificates trust', () => {
    const { settings } = resolveSettings(
      base([`trustStorePath=${certs.pkcs12}`, `trustStorePasswordFile=${certs.pkcs12PasswordFile}`]),
      new Set(),
      environment,
    );
    assert.equal(settings.trust.kind, 'certificates');
    if (settings.trust.kind !== 'certificates') return;
    assert.ok(sameCertificate(settings.trust.ca[0]!.toString('utf8'), caPem));
  });

  test('--trustStorePassword works and warns; a wrong one is exit 89 without the password in the message', () => {
    const ok = resolveSettings(
      base([`trustStorePath=${certs.pkcs12}`, `trustStorePassword=${password}`]),
      new Set(),
      environment,
    );
    assert.ok(ok.warnings.some((w) => /--trustStorePassword on the command line/.test(w)));
    const wrongFile = path.join(certs.dir, 'wrong.pw');
    writeFileSync(wrongFile, 'Secret-Wrong-P12\n', { mode: 0o600 });
    try {
      resolveSettings(
        base([`trustStorePath=${certs.pkcs12}`, `trustStorePasswordFile=${wrongFile}`]),
        new Set(),
        environment,
      );
      assert.fail('expected a usage error');
    } catch (error) {
      assert.ok(error instanceof PrepareError);
      assert.equal(error.resultCode, 89);
      assert.match(error.message, /password for --trustStorePath .* is wrong/);
      assert.ok(!`${error.message} ${error.hint}`.includes('Secret-Wrong-P12'));
    }
  });
});
