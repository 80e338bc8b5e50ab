// Test certificates made with the openssl CLI at test time, in a private temp directory:
//
//   ca.pem / ca.key           "PES Test CA" (self-signed, CA:TRUE)
//   server.pem / server.key   DNS:localhost + IP:127.0.0.1, issued by the test CA, valid 2 days
//   expired.pem               same names and key, valid 2020-01-01..2020-01-02 (`openssl ca -startdate/-enddate`:
//                             OpenSSL 3.0 has no -not_before for `req`/`x509`)
//   wrong-host.pem            DNS:wrong.example only, same key, issued by the test CA
//   other-ca.pem              an unrelated CA (for "the trust store lacks the issuer")
//   bundle.pem                other-ca.pem followed by ca.pem (a PEM bundle)
//   truststore.p12            the test CA alone in a PKCS#12 file (openssl pkcs12 -export -nokeys: PBES2/AES-256,
//                             MAC SHA-256), password in truststore.pw (mode 600)
//   truststore-legacy.p12     the same with OpenSSL's legacy algorithms (RC2-40, MAC SHA-1), when this openssl has
//                             the legacy provider; undefined otherwise
//
// The server certificates share server.key. Nothing is written outside `dir`; cleanup() removes it.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface TestCertificates {
  readonly dir: string;
  readonly caPem: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly expiredCert: string;
  readonly wrongHostCert: string;
  readonly otherCaPem: string;
  readonly bundlePem: string;
  readonly pkcs12: string;
  readonly pkcs12Password: string;
  readonly pkcs12PasswordFile: string;
  readonly pkcs12Legacy: string | undefined;
  cleanup(): void;
}

/** What the server harnesses need to switch TLS on. */
export interface ServerTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export function serverTls(certs: TestCertificates, which: 'valid' | 'expired' | 'wrong-host' = 'valid'): ServerTls {
  const cert = which === 'valid' ? certs.serverCert : which === 'expired' ? certs.expiredCert : certs.wrongHostCert;
  return { cert, key: certs.serverKey, ca: certs.caPem };
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await execFileP('openssl', args, { cwd: dir, timeout: 60_000 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`openssl ${args[0]} failed: ${err.stderr ?? err.message}`, { cause: e });
  }
}

const CA_EXT = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];

export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pes-tls-'));
  chmodSync(dir, 0o700);
  const p = (name: string): string => path.join(dir, name);
  /** A self-signed CA valid for 2 days: its key in `name`.key, its certificate in `name`.pem. */
  const selfSignedCa = (name: string, subject: string): Promise<void> =>
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      subject,
      ...CA_EXT,
    ]);
  /** server.csr signed by the test CA for 2 days, with the extensions of `extfile`, into `out`. */
  const signServerCsr = (serial: string, extfile: string, out: string): Promise<void> =>
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      serial,
      '-days',
      '2',
      '-extfile',
      extfile,
      '-out',
      out,
    ]);
  try {
    await selfSignedCa('ca', '/CN=PES Test CA');
    await selfSignedCa('other-ca', '/CN=PES Other CA');
    await openssl(dir, [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    ]);
    writeFileSync(
      p('server.ext'),
      [
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        '',
      ].join('\n'),
    );
    writeFileSync(
      p('wrong.ext'),
      'subjectAltName=DNS:wrong.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
    );
    await signServerCsr('0x1001', 'server.ext', 'server.pem');
    await signServerCsr('0x1002', 'wrong.ext', 'wrong-host.pem');

    // An expired certificate needs explicit dates in the past: `openssl ca` takes them.
    writeFileSync(p('index.txt'), '');
    writeFileSync(p('serial'), '1003\n');
    writeFileSync(
      p('ca.cnf'),
      [
        '[ca]',
        'default_ca = test',
        '[test]',
        `dir = ${dir}`,
        'database = $dir/index.txt',
        'new_certs_dir = $dir',
        'serial = $dir/serial',
        'default_md = sha256',
        'policy = anything',
        'unique_subject = no',
        'copy_extensions = none',
        '[anything]',
        'commonName = supplied',
        '[server]',
        'subjectAltName = DNS:localhost,IP:127.0.0.1',
        'basicConstraints = CA:FALSE',
        'extendedKeyUsage = serverAuth',
        '',
      ].join('\n'),
    );
    await openssl(dir, [
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-cert',
      'ca.pem',
      '-keyfile',
      'ca.key',
      '-in',
      'server.csr',
      '-out',
      'expired.pem',
      '-startdate',
      '20200101000000Z',
      '-enddate',
      '20200102000000Z',
      '-extensions',
      'server',
      '-notext',
    ]);

    writeFileSync(p('bundle.pem'), `${readFileSync(p('other-ca.pem'), 'utf8')}${readFileSync(p('ca.pem'), 'utf8')}`);
    const password = `p12-${Math.random().toString(36).slice(2)}`;
    writeFileSync(p('truststore.pw'), `${password}\n`, { mode: 0o600 });
    /** A PKCS#12 trust store holding the test CA, under the password of truststore.pw. */
    const trustStore = (out: string, options: string[] = []): Promise<void> =>
      openssl(dir, [
        'pkcs12',
        '-export',
        ...options,
        '-nokeys',
        '-in',
        'ca.pem',
        '-out',
        out,
        '-passout',
        'file:truststore.pw',
      ]);
    await trustStore('truststore.p12');
    let legacy: string | undefined = p('truststore-legacy.p12');
    try {
      await trustStore('truststore-legacy.p12', ['-legacy']);
    } catch {
      legacy = undefined; // no legacy provider in this openssl
    }
    return {
      dir,
      caPem: p('ca.pem'),
      caKey: p('ca.key'),
      serverCert: p('server.pem'),
      serverKey: p('server.key'),
      expiredCert: p('expired.pem'),
      wrongHostCert: p('wrong-host.pem'),
      otherCaPem: p('other-ca.pem'),
      bundlePem: p('bundle.pem'),
      pkcs12: p('truststore.p12'),
      pkcs12Password: password,
      pkcs12PasswordFile: p('truststore.pw'),
      pkcs12Legacy: legacy,
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
