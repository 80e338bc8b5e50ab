/**
 * The only module that talks to ldapts. It opens one connection, counts what it reads and writes, and turns
 * every ldapts or socket failure into a PrepareError with a result code and a sentence a person can act on.
 */
import { Attribute, Ber, BerReader, BerWriter, Change as LdapChange, Client, Control, ResultCodeError } from 'ldapts';
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { interruption, PrepareError, ResultCode } from '../model/errors.js';
import { RESULT_CODE_MEANINGS } from './result-meanings.js';
import { BINARY_ATTRIBUTES, isBinaryAttribute, isSecretAttribute, type Change, type Entry, type LdapControl } from '../model/entries.js';
import type { ConnectionOptions, Directory, DirectoryStats, DirSyncResult, SearchOptions, TransportSecurity, Trust } from '../model/directory.js';

// The port's shapes, under the names this module has always exported them by.
export type { ConnectionOptions, Directory, DirectoryStats, DirSyncResult, SearchOptions, TransportSecurity, Trust };

/**
 * How long a write in flight may still be answered after a signal. A healthy server answers in
 * milliseconds, so the write the log records as made was made; a server that does not answer is left
 * within the second a person waits for after Ctrl-C. Either way a re-run finishes the job.
 */
export const WRITE_GRACE_MS = 400;

export const DIRSYNC_OID = '1.2.840.113556.1.4.841';

/**
 * Opens a connection (StartTLS is negotiated here too). Reads and writes are counted into `stats`, which
 * several connections of one run may share. The CLI gives it to the core as its DirectoryConnector.
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
  /** Every socket ldapts opened for this connection (TCP, and TLS on top of it), to drop them on a signal. */
  private readonly sockets = new Set<net.Socket>();
  /** Set once the connection was dropped (a signal, or an unbind that could not be sent): close() only cleans up. */
  private dropped = false;

  public constructor(
    private readonly options: ConnectionOptions,
    public readonly stats: DirectoryStats,
  ) {
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    this.address = `${host}:${options.port}`;
    const scheme = options.security === 'ssl' ? 'ldaps' : 'ldap';
    const track = <S extends net.Socket>(socket: S): S => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      return socket;
    };
    this.client = new Client({
      url: `${scheme}://${host}:${options.port}`,
      connectTimeout: options.connectTimeoutMs,
      timeout: options.operationTimeoutMs,
      // Our own RFC 4514 parser validates DNs before they get here; ldapts' strict parser rejects some valid ones.
      strictDN: false,
      // Any tlsOptions make ldapts speak TLS from the first byte, so they are given only for LDAPS;
      // StartTLS gets them in open().
      ...(options.security === 'ssl' ? { tlsOptions: tlsOptionsFor(options) } : {}),
      // The same connections ldapts would open, kept in sight so that a signal can drop them.
      createConnection: ((...args: Parameters<typeof net.connect>) => track(net.connect(...args))) as typeof net.connect,
      createSecureConnection: ((...args: Parameters<typeof tls.connect>) => track(tls.connect(...args))) as typeof tls.connect,
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
    const { searchEntries } = await this.guard('DirSync search', base, () => this.client.search(base, {
      scope: 'sub',
      filter,
      attributes: [...attributes],
      explicitBufferAttributes: bufferAttributes(attributes),
      timeLimit: Math.ceil(this.options.operationTimeoutMs / 1000),
    }, control));
    return { entries: searchEntries.map(toEntry), cookie: control.responseCookie.toString('base64'), more: control.more };
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
        { write: true, attributes: Object.keys(change.attributes) });
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
        { write: true, attributes: change.modifications.map((m) => m.attribute) });
        return;
      case 'delete':
        await this.guard('delete', change.dn, () => this.client.del(change.dn), { write: true });
        return;
    }
  }

  /** Drops the connection without waiting long for the server (after a failed StartTLS). */
  public async abandon(): Promise<void> {
    await withDeadline(this.close(), 1000, 'unbind timed out').catch(() => undefined);
  }

  public async close(): Promise<void> {
    if (this.dropped) {
      this.drop();
      return;
    }
    try {
      // An unbind is not answered; the deadline only covers a socket that will not take the request.
      await withDeadline(this.client.unbind(), 1000, 'unbind timed out');
    } catch {
      // The connection is going away either way; a failed unbind changes nothing for the run.
      this.drop();
    }
  }

  /** Destroys every socket of the connection with an error, which fails whatever ldapts still waits for. */
  private drop(): void {
    this.dropped = true;
    for (const socket of this.sockets) socket.destroy(new Error('connection dropped: the run was interrupted'));
    this.sockets.clear();
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
      const { searchEntries } = await this.guard('search', base, () => this.client.search(base, {
        scope,
        filter,
        attributes: [...attributes],
        explicitBufferAttributes: bufferAttributes(attributes),
        timeLimit: Math.ceil(this.options.operationTimeoutMs / 1000),
        ...(options?.sizeLimit === undefined ? {} : { sizeLimit: options.sizeLimit }),
      }, ldaptsControls(options?.controls)));
      return searchEntries.map(toEntry);
    } catch (error) {
      if (error instanceof PrepareError && error.resultCode === ResultCode.NO_SUCH_OBJECT && error.cause instanceof ResultCodeError) {
        return [];
      }
      throw error;
    }
  }

  /**
   * Runs one ldapts operation: its failure becomes a PrepareError, and a signal stops it. A read (or a
   * connect, which ldapts makes inside the first operation) is dropped at once; a write gets WRITE_GRACE_MS
   * to be answered, so that a write the server made is reported as made.
   */
  private async guard<T>(operation: string, dn: string, action: () => Promise<T>,
    kind: { write?: boolean; attributes?: readonly string[] } = {}): Promise<T> {
    const context = (): ErrorContext => ({
      operation, dn, boundDn: this.boundDn, address: this.address, ...this.tlsContext(),
      ...(kind.attributes === undefined ? {} : { attributes: kind.attributes }),
    });
    const signal = this.options.signal;
    const where = dn === '' ? 'the root DSE' : `'${dn}'`;
    if (signal?.aborted === true) throw interruption(signal.reason, `before the ${operation} of ${where} on ${this.address}`);
    const pending = action();
    if (signal === undefined) {
      try {
        return await pending;
      } catch (error) {
        throw translateError(error, context());
      }
    }
    return new Promise<T>((resolve, reject) => {
      let grace: NodeJS.Timeout | undefined;
      const stop = (): void => {
        // ldapts connects inside the first operation: say which of the two was cut short.
        const connecting = [...this.sockets].some((socket) => socket.connecting);
        this.drop();
        reject(interruption(signal.reason, connecting
          ? `while connecting to ${this.address}`
          : kind.write === true
            ? `during the ${operation} of ${where}: ${this.address} did not answer it in time, so it may or may not have been made`
            : `during the ${operation} of ${where} on ${this.address}`));
      };
      const onAbort = (): void => {
        if (kind.write === true) grace = setTimeout(stop, WRITE_GRACE_MS);
        else stop();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = (): void => {
        signal.removeEventListener('abort', onAbort);
        clearTimeout(grace);
      };
      pending.then(
        (value) => {
          settle();
          resolve(value);
        },
        (error: unknown) => {
          settle();
          reject(translateError(error, context()));
        },
      );
    });
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
      const text = readBundle(file);
      if (text === undefined) continue;
      for (const cert of text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) found.add(`${cert}\n`);
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
  /** For a write: the attributes it sets (to tell a refused password from other constraint violations). */
  readonly attributes?: readonly string[];
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

/** Active Directory's bind failure sub-codes (the "data" value of its message): what it means, what to do. */
const AD_BIND_REASONS: Readonly<Record<string, readonly [string, string]>> = {
  '525': ['the account does not exist', 'check the DN'],
  '52e': ['the password is wrong', 'check the bind DN and its password'],
  '530': ['the account may not log on at this time', 'check the account\'s logon hours'],
  '531': ['the account may not log on from this workstation', 'check the account\'s allowed workstations'],
  '532': ['the password has expired', 'set a new password for the account (or --resetSyncServerBindPassword for the sync user)'],
  '533': ['the account is disabled', 'enable the account'],
  '701': ['the account has expired', 'extend the account\'s expiry date'],
  '773': ['the password must be changed before the account can be used', 'set a new password for the account (or --resetSyncServerBindPassword for the sync user)'],
  '775': ['the account is locked out', 'unlock the account, or wait for the lockout to end'],
};

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
      case ResultCode.INVALID_CREDENTIALS: {
        // Active Directory says why in a "data <hex>" sub-code: a right password can still be refused.
        const reason = AD_BIND_REASONS[/\bdata ([0-9a-f]{3,4})\b/i.exec(serverText)?.[1]?.toLowerCase() ?? ''];
        if (reason !== undefined) {
          return new PrepareError(error.code, `The server refused the bind of '${context.dn}': ${reason[0]}`, reason[1], { cause: error, serverMessage: serverText });
        }
        return new PrepareError(
          error.code,
          `The server rejected the password for '${context.dn}'`,
          'check the bind DN and its password',
          { cause: error, serverMessage: serverText },
        );
      }
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
      case ResultCode.CONSTRAINT_VIOLATION:
        if (context.attributes?.some(isSecretAttribute) === true) {
          return new PrepareError(error.code,
            `The server refused the password of ${where}: it breaks the server's password policy${said}`,
            'choose a sync user password the password policy accepts (length, character classes, history)', { cause: error });
        }
        break;
      default:
        break;
    }
    const meaning = RESULT_CODE_MEANINGS[error.code];
    const name = meaning === undefined ? `LDAP result ${error.code}` : `${meaning.name}, LDAP result ${error.code}`;
    return new PrepareError(
      error.code,
      `The server refused the ${context.operation} of ${where}: ${meaning?.why ?? 'it answered with an error'} (${name}${serverText === '' ? '' : `; server said: ${serverText}`})`,
      meaning?.hint ?? 'look the result code up in the directory server\'s documentation and check its error log',
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
    'check that the server runs and the network between, then run the same command again', { cause: error });
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
