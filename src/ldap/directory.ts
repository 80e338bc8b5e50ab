/**
 * The only module that talks to ldapts. It opens one connection, counts what it reads and writes, and turns
 * every ldapts or socket failure into a PrepareError with a result code and a sentence a person can act on.
 */
import { Attribute, Ber, BerReader, BerWriter, Change as LdapChange, Client, Control, ResultCodeError } from 'ldapts';
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { PrepareError, ResultCode } from './errors.js';
import { BINARY_ATTRIBUTES, isBinaryAttribute, isSecretAttribute, type Change, type Entry, type LdapControl } from './types.js';

export type TransportSecurity = 'none' | 'ssl' | 'starttls';

export type Trust =
  | { readonly kind: 'system' }
  | { readonly kind: 'all' }
  /** PEM certificates to trust instead of the system's. */
  | { readonly kind: 'certificates'; readonly ca: readonly Buffer[]; readonly source: string };

export interface ConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly security: TransportSecurity;
  readonly trust: Trust;
  readonly connectTimeoutMs: number;
  readonly operationTimeoutMs: number;
}

export interface DirectoryStats {
  reads: number;
  writes: number;
}

/** Options of a read or search (all optional; callers without them are unaffected). */
export interface SearchOptions {
  /** Request controls, such as Active Directory's SD flags or show-deleted controls. */
  readonly controls?: readonly LdapControl[];
  /** At most this many entries; the server stopping at the limit is not an error (the entries come back). */
  readonly sizeLimit?: number;
}

/** One round of an Active Directory DirSync search (LDAP_SERVER_DIRSYNC_OID). */
export interface DirSyncResult {
  readonly entries: Entry[];
  /** Base64 of the cookie to send next time to get only what changed since. */
  readonly cookie: string;
  /** The server has more changes than it returned in this round. */
  readonly more: boolean;
}

export const DIRSYNC_OID = '1.2.840.113556.1.4.841';

export interface Directory {
  /** `host:port`, as the console shows it. */
  readonly address: string;
  readonly stats: DirectoryStats;
  bind(dn: string, password: string): Promise<void>;
  /** Reads one entry; undefined when it does not exist (or this connection may not see it). */
  read(dn: string, attributes: readonly string[], options?: SearchOptions): Promise<Entry | undefined>;
  search(base: string, scope: 'base' | 'one' | 'sub', filter: string, attributes: readonly string[], options?: SearchOptions): Promise<Entry[]>;
  /**
   * Active Directory DirSync (MS-ADTS 3.1.1.3.4.1.3): the entries changed since `cookie` (everything when
   * absent) under a naming context root. Needs the "Replicating Directory Changes" right unless `flags` asks
   * for object security (0x1).
   */
  dirSync(base: string, filter: string, attributes: readonly string[], options?: { cookie?: string; flags?: number; maxBytes?: number }): Promise<DirSyncResult>;
  apply(change: Change): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens a connection (StartTLS is negotiated here too). Reads and writes are counted into `stats`, which
 * several connections of one run may share.
 */
export async function connect(options: ConnectionOptions, stats: DirectoryStats = { reads: 0, writes: 0 }): Promise<Directory> {
  const directory = new LdaptsDirectory(options, stats);
  try {
    await directory.open();
  } catch (error) {
    // A refused or failed StartTLS leaves the plain connection open: drop it, or the process would not end.
    await directory.abandon();
    throw error;
  }
  return directory;
}

class LdaptsDirectory implements Directory {
  public readonly address: string;
  private readonly client: Client;
  private boundDn: string | undefined;

  public constructor(
    private readonly options: ConnectionOptions,
    public readonly stats: DirectoryStats,
  ) {
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    this.address = `${host}:${options.port}`;
    const scheme = options.security === 'ssl' ? 'ldaps' : 'ldap';
    this.client = new Client({
      url: `${scheme}://${host}:${options.port}`,
      connectTimeout: options.connectTimeoutMs,
      timeout: options.operationTimeoutMs,
      // Our own RFC 4514 parser validates DNs before they get here; ldapts' strict parser rejects some valid ones.
      strictDN: false,
      // Any tlsOptions make ldapts speak TLS from the first byte, so they are given only for LDAPS;
      // StartTLS gets them in open().
      ...(options.security === 'ssl' ? { tlsOptions: tlsOptionsFor(options) } : {}),
    });
  }

  public async open(): Promise<void> {
    if (this.options.security === 'starttls') {
      // ldapts puts no deadline on the TLS handshake that follows the StartTLS response.
      await this.guard('StartTLS', '', () =>
        withDeadline(this.client.startTLS(tlsOptionsFor(this.options)), this.options.connectTimeoutMs, 'StartTLS handshake timed out'),
      );
    }
  }

  public async bind(dn: string, password: string): Promise<void> {
    await this.guard('bind', dn, () => this.client.bind(dn, password));
    this.boundDn = dn;
  }

  public async read(dn: string, attributes: readonly string[], options?: SearchOptions): Promise<Entry | undefined> {
    const entries = await this.searchOrMissing(dn, 'base', '(objectClass=*)', attributes, options);
    return entries[0];
  }

  public async search(
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: string,
    attributes: readonly string[],
    options?: SearchOptions,
  ): Promise<Entry[]> {
    return this.searchOrMissing(base, scope, filter, attributes, options);
  }

  public async dirSync(
    base: string,
    filter: string,
    attributes: readonly string[],
    options: { cookie?: string; flags?: number; maxBytes?: number } = {},
  ): Promise<DirSyncResult> {
    this.stats.reads += 1;
    const control = new DirSyncControl(options.flags ?? 0, options.maxBytes ?? 1_048_576, Buffer.from(options.cookie ?? '', 'base64'));
    try {
      const { searchEntries } = await this.client.search(base, {
        scope: 'sub',
        filter,
        attributes: [...attributes],
        explicitBufferAttributes: bufferAttributes(attributes),
        timeLimit: Math.ceil(this.options.operationTimeoutMs / 1000),
      }, control);
      return { entries: searchEntries.map(toEntry), cookie: control.responseCookie.toString('base64'), more: control.more };
    } catch (error) {
      throw translateError(error, { operation: 'DirSync search', dn: base, boundDn: this.boundDn, address: this.address });
    }
  }

  public async apply(change: Change): Promise<void> {
    this.stats.writes += 1;
    switch (change.kind) {
      case 'add':
        await this.guard('add', change.dn, () =>
          this.client.add(
            change.dn,
            Object.entries(change.attributes).map(([type, values]) => new Attribute({ type, values: wireValues(type, values) })),
          ),
        );
        return;
      case 'modify':
        await this.guard('modify', change.dn, () =>
          this.client.modify(
            change.dn,
            change.modifications.map(
              (m) =>
                new LdapChange({
                  operation: m.operation,
                  modification: new Attribute({ type: m.attribute, values: wireValues(m.attribute, m.values) }),
                }),
            ),
            ldaptsControls(change.controls),
          ),
        );
        return;
      case 'delete':
        await this.guard('delete', change.dn, () => this.client.del(change.dn));
        return;
    }
  }

  /** Drops the connection without waiting long for the server (after a failed StartTLS). */
  public async abandon(): Promise<void> {
    await withDeadline(this.close(), 1000, 'unbind timed out').catch(() => undefined);
  }

  public async close(): Promise<void> {
    try {
      await this.client.unbind();
    } catch {
      // The connection is going away either way; a failed unbind changes nothing for the run.
    }
  }

  private async searchOrMissing(
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: string,
    attributes: readonly string[],
    options?: SearchOptions,
  ): Promise<Entry[]> {
    this.stats.reads += 1;
    try {
      const { searchEntries } = await this.client.search(base, {
        scope,
        filter,
        attributes: [...attributes],
        explicitBufferAttributes: bufferAttributes(attributes),
        timeLimit: Math.ceil(this.options.operationTimeoutMs / 1000),
        ...(options?.sizeLimit === undefined ? {} : { sizeLimit: options.sizeLimit }),
      }, ldaptsControls(options?.controls));
      return searchEntries.map(toEntry);
    } catch (error) {
      if (error instanceof ResultCodeError && error.code === ResultCode.NO_SUCH_OBJECT) {
        return [];
      }
      throw translateError(error, { operation: 'search', dn: base, boundDn: this.boundDn, address: this.address, ...this.tlsContext() });
    }
  }

  private async guard<T>(operation: string, dn: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw translateError(error, { operation, dn, boundDn: this.boundDn, address: this.address, ...this.tlsContext() });
    }
  }

  private tlsContext(): Pick<ErrorContext, 'security' | 'trust'> {
    return { security: this.options.security, trust: this.options.trust };
  }
}

/**
 * With NODE_DEBUG=ldapts, ldapts prints every request with JSON.stringify and masks only bind passwords.
 * Secret values therefore travel as Buffers whose toJSON says `__redacted__`: the wire bytes are the same.
 * Active Directory's unicodePwd is the UTF-16LE encoding of the password in double quotes (MS-ADTS
 * 3.1.1.3.1.5.1): the plan keeps the password as text, and this is where it takes that form.
 * Binary attributes (BINARY_ATTRIBUTES) are base64 in a plan and go out as their bytes.
 */
function wireValues(attribute: string, values: readonly string[]): string[] | Buffer[] {
  if (isBinaryAttribute(attribute)) return values.map((value) => Buffer.from(value, 'base64'));
  if (!isSecretAttribute(attribute)) return [...values];
  const unicodePwd = attribute.toLowerCase() === 'unicodepwd';
  return values.map((value) => {
    const bytes = unicodePwd ? Buffer.from(`"${value}"`, 'utf16le') : Buffer.from(value, 'utf8');
    Object.defineProperty(bytes, 'toJSON', { value: () => '__redacted__' });
    return bytes;
  });
}

/** ldapts matches explicitBufferAttributes by the exact spelling the server returns: offer the usual ones. */
function bufferAttributes(requested: readonly string[]): string[] {
  const canonical = ['nTSecurityDescriptor', 'objectSid', 'objectGUID'];
  const asked = requested.filter(isBinaryAttribute);
  return [...new Set([...canonical, ...asked, ...[...BINARY_ATTRIBUTES]])];
}

/** A request control with an opaque value (the LdapControl of a plan). */
class OpaqueControl extends Control {
  public constructor(oid: string, critical: boolean, private readonly value: Buffer | undefined) {
    super(oid, { critical });
  }

  protected override writeControl(writer: BerWriter): void {
    if (this.value !== undefined) writer.writeBuffer(this.value, Ber.OctetString);
  }
}

function ldaptsControls(controls: readonly LdapControl[] | undefined): Control[] | undefined {
  if (controls === undefined || controls.length === 0) return undefined;
  return controls.map((c) => new OpaqueControl(c.oid, c.critical, c.value === undefined ? undefined : Buffer.from(c.value, 'base64')));
}

/**
 * DirSync request `SEQUENCE { flags INTEGER, maxBytes INTEGER, cookie OCTET STRING }`; ldapts hands the response
 * control of the same OID back to this object, whose value is `SEQUENCE { moreResults INTEGER, unused INTEGER,
 * cookie OCTET STRING }`.
 */
class DirSyncControl extends Control {
  public responseCookie: Buffer = Buffer.alloc(0);
  public more = false;

  public constructor(private readonly flags: number, private readonly maxBytes: number, private readonly cookie: Buffer) {
    super(DIRSYNC_OID, { critical: true });
  }

  protected override writeControl(writer: BerWriter): void {
    const value = new BerWriter();
    value.startSequence();
    value.writeInt(this.flags);
    value.writeInt(this.maxBytes);
    if (this.cookie.length > 0) value.writeBuffer(this.cookie, Ber.OctetString);
    else value.writeString('');
    value.endSequence();
    writer.writeBuffer(value.buffer, Ber.OctetString);
  }

  protected override parseControl(reader: BerReader): void {
    if (reader.readSequence() === null) return;
    this.more = (reader.readInt() ?? 0) !== 0;
    reader.readInt();
    this.responseCookie = reader.readString(Ber.OctetString, true) ?? Buffer.alloc(0);
  }
}

/**
 * What node:tls checks. `host` is always given: it is the name (or IP address) the certificate must match,
 * and for StartTLS it is the only way Node learns it (given only the socket of an IP connection, Node would
 * check the certificate against "localhost"). `servername` (SNI) only for DNS names.
 */
export function tlsOptionsFor(options: Pick<ConnectionOptions, 'host' | 'trust'>): TlsConnectionOptions {
  const base: TlsConnectionOptions = {
    host: options.host,
    ...(isIpAddress(options.host) ? {} : { servername: options.host }),
    minVersion: 'TLSv1.2',
  };
  switch (options.trust.kind) {
    case 'all':
      return { ...base, rejectUnauthorized: false };
    case 'certificates':
      return { ...base, ca: [...options.trust.ca], rejectUnauthorized: true };
    case 'system':
      return { ...base, ca: systemCertificates(), rejectUnauthorized: true };
  }
}

/** Where Linux distributions keep the system CA bundle (SSL_CERT_FILE first, as OpenSSL does). */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem', '/etc/ssl/cert.pem'];
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
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const cert of text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) found.add(`${cert}\n`);
      break;
    }
  }
  systemCache = [...found];
  return systemCache;
}

function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function isIpAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

function toEntry(raw: Record<string, unknown> & { dn: string }): Entry {
  const attributes = new Map<string, string[]>();
  for (const [name, value] of Object.entries(raw)) {
    if (name === 'dn') continue;
    const binary = isBinaryAttribute(name);
    const values = (Array.isArray(value) ? value : [value]).map((v) =>
      Buffer.isBuffer(v) ? v.toString(binary ? 'base64' : 'utf8') : String(v),
    );
    // ldapts returns requested-but-absent attributes as []: treat them as absent.
    if (values.length > 0) attributes.set(name.toLowerCase(), values);
  }
  return { dn: raw.dn, attributes };
}

interface ErrorContext {
  readonly operation: string;
  readonly dn: string;
  readonly boundDn: string | undefined;
  readonly address: string;
  /** For TLS failures: how the connection was secured and what was trusted. */
  readonly security?: TransportSecurity;
  readonly trust?: Trust;
}

/** OpenSSL verification codes (as Node reports them) that mean "no trusted CA vouches for this certificate". */
const UNTRUSTED_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
  'INVALID_CA',
]);

const NOT_FOR_PRODUCTION = '--trustAll skips the check (tests only, never in production)';

/** Certificate and handshake failures; undefined when the error is not about TLS. */
function tlsFailure(error: unknown, code: string, message: string, context: ErrorContext): PrepareError | undefined {
  const failed = `TLS to ${context.address} failed`;
  const cause = { cause: error };
  if (UNTRUSTED_CODES.has(code)) {
    const what = code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ? 'the server certificate is self-signed' : 'the server certificate is issued by an unknown CA';
    const trust = context.trust;
    if (trust?.kind === 'certificates') {
      return new PrepareError(ResultCode.CONNECT_ERROR, `${failed}: ${what}, not by one in --trustStorePath '${trust.source}'`,
        `add the CA certificate that issued the server certificate to ${trust.source}, or point --trustStorePath at the right file`, cause);
    }
    return new PrepareError(ResultCode.CONNECT_ERROR, `${failed}: ${what}, which the system CAs do not vouch for`,
      `pass that CA certificate with --trustStorePath (a PEM or PKCS#12 file); ${NOT_FOR_PRODUCTION}`, cause);
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    const when = code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet';
    return new PrepareError(ResultCode.CONNECT_ERROR, `${failed}: the server certificate (or a CA certificate in its chain) ${when}`,
      `renew the server certificate, and check this machine's clock (now ${new Date().toISOString()})`, cause);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const details = error as { host?: unknown; cert?: { subjectaltname?: unknown; subject?: { CN?: unknown } } };
    const host = typeof details.host === 'string' ? details.host : context.address;
    const altNames = details.cert?.subjectaltname;
    const names = typeof altNames === 'string' && altNames !== ''
      ? altNames.replace(/IP Address:/g, 'IP:')
      : typeof details.cert?.subject?.CN === 'string' ? `CN=${details.cert.subject.CN}` : undefined;
    return new PrepareError(ResultCode.CONNECT_ERROR,
      `${failed}: the server certificate is not for '${host}'${names === undefined ? '' : ` (it names ${names})`}`,
      `connect with a --hostname the certificate names, or reissue the certificate with '${host}' in its subjectAltName`, cause);
  }
  const handshakeCut = code === 'ECONNRESET' || /before secure TLS connection was established/i.test(message)
    || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || /wrong version number/i.test(message);
  if (handshakeCut && context.security === 'ssl') {
    return new PrepareError(ResultCode.CONNECT_ERROR, `${failed}: the server did not answer the TLS handshake; ${context.address} looks like a plain LDAP port`,
      'give the LDAPS port (usually 636) with --useSSL, or use --useStartTLS on this port', cause);
  }
  if (handshakeCut && context.security === 'starttls' && context.operation === 'StartTLS') {
    return new PrepareError(ResultCode.CONNECT_ERROR, `${failed}: the server accepted StartTLS but broke off the handshake`,
      'check the server TLS configuration (its certificate and key)', cause);
  }
  if (context.operation === 'StartTLS' && /closed/i.test(message)) {
    return new PrepareError(ResultCode.CONNECT_ERROR, `${context.address} did not answer the StartTLS request (${message})`,
      'if this is an LDAPS port, use --useSSL instead of --useStartTLS', cause);
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || /^CERT_|_CERT(_|$)/.test(code)) {
    return new PrepareError(ResultCode.CONNECT_ERROR, `${failed}: ${message}`,
      'check the server certificate and its TLS settings', cause);
  }
  return undefined;
}

/** A StartTLS request answered with an error result: the server has no TLS to offer on this port. */
function startTlsRefused(error: ResultCodeError, said: string, context: ErrorContext): PrepareError {
  return new PrepareError(ResultCode.CONNECT_ERROR, `${context.address} refused StartTLS${said}: it has no TLS configured on this port`,
    'configure a certificate on the server, or use --useSSL with its LDAPS port', { cause: error });
}

/** The one place where ldapts and socket errors become what the user reads and what the process exits with. */
export function translateError(error: unknown, context: ErrorContext): PrepareError {
  if (error instanceof PrepareError) return error;
  const where = context.dn === '' ? 'the root DSE' : `'${context.dn}'`;
  const who = context.boundDn === undefined ? 'an anonymous connection' : `'${context.boundDn}'`;
  if (error instanceof ResultCodeError) {
    const serverText = error.message.replace(/\s*Code: 0x[0-9a-f]+\s*$/i, '').trim();
    const said = serverText === '' ? '' : ` (server said: ${serverText})`;
    if (context.operation === 'StartTLS') return startTlsRefused(error, said, context);
    switch (error.code) {
      case ResultCode.INVALID_CREDENTIALS:
        return new PrepareError(
          error.code,
          `The server rejected the password for '${context.dn}'`,
          'check the bind DN and its password',
          { cause: error },
        );
      case ResultCode.INSUFFICIENT_ACCESS:
        return new PrepareError(
          error.code,
          `${capitalize(who)} may not ${context.operation} ${where}${said}`,
          'bind as an administrator allowed to change this entry (for example cn=Directory Manager)',
          { cause: error },
        );
      case ResultCode.NO_SUCH_OBJECT:
        return new PrepareError(error.code, `${capitalize(where)} does not exist${said}`, undefined, { cause: error });
      case 8: // strongerAuthRequired
      case 13: // confidentialityRequired
        return new PrepareError(
          error.code,
          `The server requires an encrypted connection for ${context.operation} ${where}${said}`,
          'add --useSSL or --useStartTLS',
          { cause: error },
        );
      default:
        break;
    }
    return new PrepareError(
      error.code,
      `LDAP error ${error.code} during ${context.operation} of ${where}${said}`,
      undefined,
      { cause: error },
    );
  }
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNREFUSED') {
    return new PrepareError(ResultCode.CONNECT_ERROR, `Nothing is listening on ${context.address}`,
      'check --hostname and --port, and that the directory server is running', { cause: error });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new PrepareError(ResultCode.CONNECT_ERROR, `The host name in ${context.address} does not resolve`,
      'check --hostname', { cause: error });
  }
  const tls = tlsFailure(error, code, message, context);
  if (tls !== undefined) return tls;
  if (code === 'ECONNRESET' || /secure TLS connection/i.test(message)) {
    return new PrepareError(ResultCode.CONNECT_ERROR, `The connection to ${context.address} was reset`,
      'if the port is a plain LDAP port, drop --useSSL (or use --useStartTLS)', { cause: error });
  }
  if (/timed? ?out|timeout/i.test(message) || code === 'ETIMEDOUT') {
    return new PrepareError(ResultCode.TIMEOUT, `${context.address} did not answer the ${context.operation} in time`,
      'check that the server is healthy, or raise --connectTimeout / --operationTimeout', { cause: error });
  }
  if (/closed|ECONNABORTED|EPIPE/i.test(message) || code === 'EPIPE') {
    return new PrepareError(ResultCode.CONNECT_ERROR, `The connection to ${context.address} was lost during the ${context.operation}`,
      'run the same command again once the server is back: it finishes what is left', { cause: error });
  }
  return new PrepareError(ResultCode.CONNECT_ERROR, `The ${context.operation} of ${where} on ${context.address} failed: ${message}`,
    undefined, { cause: error });
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
