/**
 * The TLS side of a connection: what is trusted (the system CAs, a trust store's certificates, or anything with
 * --trustAll) and the node:tls options that say so, the same for LDAPS and StartTLS.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { ClientCertificate, Trust } from '../model/directory.js';
import { pemCertificateBlocks } from './pem.js';

/**
 * What node:tls checks. `host` is always given: it is the name (or IP address) the certificate must match,
 * and for StartTLS it is the only way Node learns it (given only the socket of an IP connection, Node would
 * check the certificate against "localhost"). `servername` (SNI) only for DNS names.
 */
export function tlsOptionsFor(options: {
  readonly host: string;
  readonly trust: Trust;
  readonly clientCertificate?: ClientCertificate;
}): TlsConnectionOptions {
  const base: TlsConnectionOptions = {
    host: options.host,
    ...(isIpAddress(options.host) ? {} : { servername: options.host }),
    minVersion: 'TLSv1.2',
    ...clientCertificateOptions(options.clientCertificate),
  };
  switch (options.trust.kind) {
    case 'all':
      return { ...base, rejectUnauthorized: false };
    case 'pinned':
      // The fingerprint is checked by the connection itself once the handshake is done (checkPinned).
      return { ...base, rejectUnauthorized: false };
    case 'certificates':
      return { ...base, ca: [...options.trust.ca], rejectUnauthorized: true };
    case 'system':
      return { ...base, ca: systemCertificates(), rejectUnauthorized: true };
  }
}

/** The administrator's certificate and key, presented when the server asks (SASL EXTERNAL over TLS). */
function clientCertificateOptions(certificate: ClientCertificate | undefined): TlsConnectionOptions {
  if (certificate === undefined) return {};
  return certificate.kind === 'pem'
    ? { key: certificate.key, cert: certificate.cert }
    : { pfx: certificate.pfx, passphrase: certificate.passphrase };
}

/** Where Linux distributions keep the system CA bundle (SSL_CERT_FILE first, as OpenSSL does). */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/ssl/cert.pem',
];
let systemCache: string[] | undefined;

/**
 * "System CAs": Node's own Mozilla list plus the operating system's store, so that a CA installed with
 * update-ca-certificates (or named by SSL_CERT_FILE) is trusted as it is by ldapsearch.
 */
function systemCertificates(): string[] {
  if (systemCache !== undefined) return systemCache;
  const found = new Set<string>(tls.rootCertificates);
  const getCACertificates = (tls as { getCACertificates?: (type: string) => string[] }).getCACertificates;
  if (typeof getCACertificates === 'function') {
    for (const cert of getCACertificates('system')) found.add(cert);
  } else {
    const fromEnv = process.env['SSL_CERT_FILE'];
    for (const file of [...(fromEnv ? [fromEnv] : []), ...SYSTEM_BUNDLES]) {
      const text = readBundle(file);
      if (text === undefined) continue;
      for (const cert of pemCertificateBlocks(text)) found.add(`${cert}\n`);
      break;
    }
  }
  systemCache = [...found];
  return systemCache;
}

/**
 * A CA bundle's text, or undefined when it is absent, unreadable, not a regular file or larger than 16 MiB:
 * SSL_CERT_FILE=/dev/zero or a FIFO must not hang the run or fill its memory.
 */
function readBundle(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    const stats = fstatSync(fd);
    if (!stats.isFile() || stats.size > 16 * 1024 * 1024) return undefined;
    return readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * For a certificate accepted at the prompt: the error that ends a connection whose server presents another one
 * (undefined when it is the one), so a certificate swapped between the question and the run is refused.
 */
export function pinnedMismatch(trust: Trust, socket: tls.TLSSocket): Error | undefined {
  if (trust.kind !== 'pinned') return undefined;
  const presented = socket.getPeerCertificate().fingerprint256;
  if (presented === trust.fingerprint256) return undefined;
  return Object.assign(
    new Error(`the server presented another certificate than '${trust.subject}', which was accepted for this run`),
    { code: 'ERR_PINNED_CERTIFICATE_CHANGED' },
  );
}

function isIpAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
