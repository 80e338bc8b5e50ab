/**
 * Reads the administrator's client certificate and key for a SASL EXTERNAL bind over TLS (--keyStorePath):
 * a PEM file (certificate chain and a private key, which may be encrypted), a PKCS#12 file, or a JKS key
 * store. The same bounds as the trust-store readers apply (the PKCS#12 MAC and key derivation rounds through
 * pkcs12.ts, JKS lengths through jks.ts). The key is decrypted in memory only; passwords never appear in
 * messages. --certNickname picks an entry by alias (JKS) or by friendly name / subject CN.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import * as tls from 'node:tls';
import { JCEKS_MAGIC, JKS_MAGIC, jksPrivateKey, readJks } from './jks.js';
import { readPemCertificates } from './pem.js';
import { pkcs12Certificates, tryParsePfx } from './pkcs12.js';
import { TrustStoreError } from './trust-store-error.js';

export type KeyStoreFormat = 'pem' | 'pkcs12' | 'jks';

export type KeyStoreContent = {
  readonly format: KeyStoreFormat;
  /** The client certificate's subject, RFC 4514 order (most specific first), for messages. */
  readonly subject: string;
} & (
  | { readonly kind: 'pem'; readonly key: string; readonly cert: string }
  | { readonly kind: 'pfx'; readonly pfx: Buffer; readonly passphrase: string }
);

const PRIVATE_KEY_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/g;

/** Reads a key store; throws TrustStoreError (its message completes "--keyStorePath 'FILE' ..."). */
export function readKeyStore(
  content: Buffer,
  password: string | undefined,
  expected: KeyStoreFormat | undefined,
  nickname: string | undefined,
): KeyStoreContent {
  const magic = content.length >= 4 ? content.readUInt32BE(0) : 0;
  const format: KeyStoreFormat =
    magic === JKS_MAGIC || magic === JCEKS_MAGIC ? 'jks' : content.includes('-----BEGIN ') ? 'pem' : 'pkcs12';
  if (expected !== undefined && expected !== format)
    throw new TrustStoreError('unrecognized', `it is not a ${expected.toUpperCase()} file`);
  switch (format) {
    case 'jks':
      return jksKeyStore(content, password, nickname);
    case 'pem':
      return pemKeyStore(content.toString('latin1'), password, nickname);
    case 'pkcs12':
      return pkcs12KeyStore(content, password, nickname);
  }
}

function jksKeyStore(content: Buffer, password: string | undefined, nickname: string | undefined): KeyStoreContent {
  if (password === undefined || password === '')
    throw new TrustStoreError('password-needed', 'it is a JKS key store, whose key needs its password');
  const jks = readJks(content, password);
  const entries =
    nickname === undefined ? jks.keys : jks.keys.filter((entry) => entry.alias === nickname.toLowerCase());
  const entry = pick(
    entries,
    jks.keys.map((k) => k.alias),
    nickname,
    'alias',
  );
  const leaf = entry.chain[0];
  if (leaf === undefined) throw new TrustStoreError('no-certificate', `the entry '${entry.alias}' has no certificate`);
  return {
    format: 'jks',
    kind: 'pem',
    key: jksPrivateKey(entry, password),
    cert: entry.chain.join('\n'),
    subject: subjectOf(leaf),
  };
}

function pemKeyStore(text: string, password: string | undefined, nickname: string | undefined): KeyStoreContent {
  const certificates = readPemCertificates(text) ?? [];
  if (certificates.length === 0) throw new TrustStoreError('no-certificate', 'it holds no PEM certificate');
  const keys = text.match(PRIVATE_KEY_BLOCK) ?? [];
  if (keys.length === 0) throw new TrustStoreError('no-certificate', 'it holds no PEM private key');
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: keys[0] ?? '',
      format: 'pem',
      ...(password === undefined ? {} : { passphrase: password }),
    });
  } catch {
    throw keys[0]?.includes('ENCRYPTED') === true
      ? new TrustStoreError(
          password === undefined ? 'password-needed' : 'password-wrong',
          'its private key is encrypted and the password does not open it',
        )
      : new TrustStoreError('unrecognized', 'its private key cannot be read');
  }
  // The certificate of the key, among others of the chain; --certNickname narrows by subject CN.
  const ofKey = certificates.filter((pem) => new X509Certificate(pem).checkPrivateKey(key));
  const named = nickname === undefined ? ofKey : ofKey.filter((pem) => commonName(pem) === nickname);
  const leaf = pick(named, ofKey.map(commonName), nickname, 'certificate CN');
  const chain = [leaf, ...certificates.filter((pem) => pem !== leaf)];
  return {
    format: 'pem',
    kind: 'pem',
    key: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: chain.join('\n'),
    subject: subjectOf(leaf),
  };
}

function pkcs12KeyStore(content: Buffer, password: string | undefined, nickname: string | undefined): KeyStoreContent {
  const pfx = tryParsePfx(content);
  if (pfx === undefined) throw new TrustStoreError('unrecognized', 'it is neither PEM, PKCS#12 nor JKS');
  // The bounded reader checks the password against the MAC and every key derivation's rounds first.
  const certificates = pkcs12Certificates(pfx, password, { keyBags: 'bounded' });
  const passphrase = password ?? '';
  try {
    tls.createSecureContext({ pfx: content, passphrase });
  } catch {
    throw new TrustStoreError('no-certificate', 'its private key cannot be opened (or it holds none)');
  }
  // OpenSSL presents the certificate of the file's key; with several keys it takes the first.
  const leaves = certificates.filter((pem) => !certificates.some((other) => other !== pem && issuedBy(other, pem)));
  const named = nickname === undefined ? leaves : leaves.filter((pem) => commonName(pem) === nickname);
  const leaf = pick(named, leaves.map(commonName), nickname, 'certificate CN');
  return { format: 'pkcs12', kind: 'pfx', pfx: content, passphrase, subject: subjectOf(leaf) };
}

function pick<T>(found: readonly T[], names: readonly string[], nickname: string | undefined, what: string): T {
  const [first] = found;
  if (first === undefined) {
    throw new TrustStoreError(
      'no-certificate',
      nickname === undefined
        ? 'it holds no private key with its certificate'
        : `it has no key entry whose ${what} is '${nickname}' (it has: ${names.join(', ') || 'none'})`,
    );
  }
  if (found.length > 1)
    throw new TrustStoreError(
      'unsupported',
      `it holds ${found.length} keys (${names.join(', ')}): pick one with --certNickname`,
    );
  return first;
}

function issuedBy(candidateIssued: string, issuer: string): boolean {
  const issued = new X509Certificate(candidateIssued);
  return issued.checkIssued(new X509Certificate(issuer)) && issued.subject !== issued.issuer;
}

function commonName(pem: string): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(new X509Certificate(pem).subject)?.[1] ?? '';
}

/** Node writes a subject one RDN per line, most general first; messages use RFC 4514 order. */
export function subjectOf(pem: string): string {
  return new X509Certificate(pem).subject.split('\n').reverse().join(',');
}
