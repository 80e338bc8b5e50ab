/**
 * The only module that talks to ldapts. It opens one connection, counts what it reads and writes, and turns
 * every ldapts or socket failure into a PrepareError (translate-error.ts) with a result code and a sentence a
 * person can act on. What TLS trusts and how it is set up is in ../tls/trust.ts.
 */
import { Attribute, Ber, BerReader, BerWriter, Change as LdapChange, Client, Control, ResultCodeError } from 'ldapts';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { interruption, PrepareError, ResultCode } from '../model/errors.js';
import { tlsOptionsFor } from '../tls/trust.js';
import { ConnectionFailure, translateError, type ErrorContext } from './translate-error.js';
import { BoundedFraming } from './framing.js';
import { SecretMask } from '../formats/server-text.js';
import {
  BINARY_ATTRIBUTES,
  DIRSYNC_OID,
  isBinaryAttribute,
  isSecretAttribute,
  type Change,
  type Entry,
  type LdapControl,
} from '../model/entries.js';
import type { ConnectionOptions, Directory, DirectoryStats, DirSyncResult, SearchOptions } from '../model/directory.js';

/**
 * How long a write in flight may still be answered after a signal. A healthy server answers in
 * milliseconds, so the write the log records as made was made; a server that does not answer is left
 * within the second a person waits for after Ctrl-C. Either way a re-run finishes the job.
 */
export const WRITE_GRACE_MS = 400;

/** Largest LDAP message read (header included): a root DSE, an entry with its security descriptor. */
export const MAX_MESSAGE_BYTES = 2 * 1024 * 1024;
/** Most bytes read for one request (a search's entries and result together): bounds the memory of a flood. */
export const MAX_OPERATION_BYTES = 8 * 1024 * 1024;
/**
 * The entries a one-level or subtree search may return when its caller sets no limit: far above what any
 * lookup of this tool finds, far below a flood. A search that reaches it fails (sizeLimitExceeded) rather
 * than plan from a cut list.
 */
export const DEFAULT_SEARCH_SIZE_LIMIT = 1000;
/** Root DSE values are read for detection and messages: longer ones are cut, as are very long value lists. */
export const ROOT_DSE_VALUE_MAX_CHARS = 1000;
export const ROOT_DSE_VALUES_MAX = 500;
/** The longest delay a Node timer holds (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Opens a connection (StartTLS is negotiated here too). Reads and writes are counted into `stats`, which
 * several connections of one run may share. The CLI gives it to the core as its DirectoryConnector.
 */
export async function connect(
  options: ConnectionOptions,
  stats: DirectoryStats = { reads: 0, writes: 0 },
): Promise<Directory> {
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

/** Where the connection is: no socket yet, TCP connecting, TLS handshaking, open. */
type Phase = 'idle' | 'connecting' | 'handshaking' | 'open';

/** The fields of ldapts' Client this adapter reaches into (see BoundedFraming for why). */
interface ClientInternals {
  socketDataHandler: (data: Buffer) => void;
  readonly messageParser: {
    read(data: Buffer, details: unknown): void;
    on(event: 'error', listener: (error: unknown) => void): void;
  };
  readonly messageDetailsByMessageId: Map<string, { message: { protocolOperation: number; sizeLimit?: number } }>;
}

/**
 * One connection, which never changes its security by itself: ldapts opens a new socket on the next
 * operation after a drop (plain TCP, without StartTLS and without a bind); here a second socket is refused,
 * and once the connection is lost (closed, reset, timed out, a protocol violation) every later operation
 * fails at once with what happened (91, or 85 after a timeout). A run that needs a connection again opens a
 * new one through connect(): TCP, StartTLS, the certificate check and a bind.
 */
class LdaptsDirectory implements Directory {
  public readonly address: string;
  private readonly client: Client;
  private boundDn: string | undefined;
  /** Every socket ldapts opened for this connection (TCP, and TLS on top of it), to drop them on a signal. */
  private readonly sockets = new Set<net.Socket>();
  /** Set once the connection was dropped (a signal, or an unbind that could not be sent): close() only cleans up. */
  private dropped = false;
  /** Sockets opened to the server (a TLS socket over an existing one does not count): at most one. */
  private opened = 0;
  private phase: Phase = 'idle';
  /** The first reason the connection ended; set for good. */
  private lost: unknown;
  /** Operations in flight, told when the connection is lost. */
  private readonly onLost = new Set<(reason: unknown) => void>();
  /** Set by close(): the sockets closing after it are no failure. */
  private closing = false;
  private readonly framing: BoundedFraming;
  /** The passwords sent on this connection, masked in whatever the server says back. */
  private readonly secrets = new SecretMask();

  public constructor(
    private readonly options: ConnectionOptions,
    public readonly stats: DirectoryStats,
  ) {
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    this.address = `${host}:${options.port}`;
    const scheme = options.security === 'ssl' ? 'ldaps' : 'ldap';
    this.client = new Client({
      url: `${scheme}://${host}:${options.port}`,
      // Both deadlines are kept here (connect, handshake, operation), so that each says what it was.
      connectTimeout: 0,
      timeout: 0,
      // Our own RFC 4514 parser validates DNs before they get here; ldapts' strict parser rejects some valid ones.
      strictDN: false,
      // Any tlsOptions make ldapts speak TLS from the first byte, so they are given only for LDAPS;
      // StartTLS gets them in open().
      ...(options.security === 'ssl' ? { tlsOptions: tlsOptionsFor(options) } : {}),
      // The same connections ldapts would open, kept in sight; a second connection is refused.
      createConnection: ((port: number, hostname: string) =>
        this.watch(net.connect(this.firstSocket(port, hostname)), false)) as unknown as typeof net.connect,
      createSecureConnection: (...args: unknown[]) => {
        const [first, hostname, tlsOptions] = args;
        if (typeof first === 'object' && first !== null) {
          // StartTLS: TLS over the socket already open.
          return this.watch(tls.connect(first as tls.ConnectionOptions), true, true);
        }
        return this.watch(
          tls.connect({
            ...(tlsOptions as tls.ConnectionOptions),
            ...this.firstSocket(first as number, hostname as string),
          }),
          true,
        );
      },
    });
    const internals = this.client as unknown as ClientInternals;
    this.framing = new BoundedFraming(
      {
        lookup: (messageId) => {
          const message = internals.messageDetailsByMessageId.get(String(messageId))?.message;
          return message === undefined
            ? undefined
            : {
                requestTag: message.protocolOperation,
                ...(typeof message.sizeLimit === 'number' ? { sizeLimit: message.sizeLimit } : {}),
              };
        },
      },
      { maxMessageBytes: MAX_MESSAGE_BYTES, maxOperationBytes: MAX_OPERATION_BYTES },
      (message) => internals.messageParser.read(message, internals.messageDetailsByMessageId),
      (violation) => this.lose(new ConnectionFailure('protocol', violation.detail, violation.serverText)),
    );
    // ldapts reads whatever its data handler is when it attaches it (at connect, and after StartTLS).
    internals.socketDataHandler = (data: Buffer) => this.framing.push(data);
    // A message ldapts cannot parse: its own listener fails the request; this one ends the connection.
    internals.messageParser.on('error', () =>
      this.lose(new ConnectionFailure('protocol', 'sent a message that could not be read')),
    );
  }

  /** The host and port of the one socket to the server; a second is refused (see the class comment). */
  private firstSocket(port: number, host: string): { port: number; host: string } {
    if (this.lost !== undefined || this.opened > 0 || this.closing) {
      throw new ConnectionFailure('gone', 'the connection ended earlier and is never reopened by itself', undefined, {
        cause: this.lost,
      });
    }
    this.opened += 1;
    return { port, host };
  }

  /** Keeps a socket in sight: its connect and handshake deadline, its errors, its end. */
  private watch<S extends net.Socket>(socket: S, secure: boolean, overExisting = false): S {
    this.sockets.add(socket);
    this.phase = overExisting ? 'handshaking' : 'connecting';
    const deadline = setTimeout(() => {
      const failure = new ConnectionFailure(
        this.phase === 'handshaking' ? 'handshake-stalled' : 'connect-timeout',
        this.phase === 'handshaking' ? 'the TLS handshake stalled' : 'the connection could not be made in time',
      );
      this.lose(failure);
      socket.destroy(failure);
    }, this.options.connectTimeoutMs);
    deadline.unref();
    const onError = (error: unknown): void => this.lose(error);
    // ldapts removes every 'error' listener once a socket is connected (or secured) and adds its own, which
    // words a reset as its internals: this one comes back right after, so the loss is known in our terms.
    const listenAgain = (): void =>
      process.nextTick(() => {
        if (!socket.listeners('error').includes(onError)) socket.on('error', onError);
      });
    socket.once('connect', () => {
      listenAgain();
      if (secure && !overExisting) this.phase = 'handshaking';
      else {
        this.phase = 'open';
        clearTimeout(deadline);
      }
    });
    if (secure) {
      socket.once('secureConnect', () => {
        listenAgain();
        this.phase = 'open';
        this.framing.expectStartTls(false);
        clearTimeout(deadline);
      });
    }
    socket.on('error', onError);
    socket.once('close', () => {
      clearTimeout(deadline);
      this.sockets.delete(socket);
      this.lose(new ConnectionFailure('closed', 'the connection was closed'));
    });
    return socket;
  }

  /** The connection ended: remember the first reason, fail what is in flight, read and send nothing more. */
  private lose(reason: unknown): void {
    if (this.lost !== undefined) return;
    this.lost = this.closing && reason instanceof ConnectionFailure ? new ConnectionFailure('gone', 'closed') : reason;
    for (const socket of this.sockets) socket.destroy();
    for (const listener of [...this.onLost]) listener(this.lost);
  }

  public async open(): Promise<void> {
    if (this.options.security === 'starttls') {
      this.framing.expectStartTls(true);
      await this.guard('StartTLS', '', () => this.client.startTLS(tlsOptionsFor(this.options)));
    }
  }

  public async bind(dn: string, password: string): Promise<void> {
    this.secrets.add(password);
    await this.guard('bind', dn, () => this.client.bind(dn, password));
    this.boundDn = dn;
  }

  public async read(dn: string, attributes: readonly string[], options?: SearchOptions): Promise<Entry | undefined> {
    const entries = await this.searchOrMissing(dn, 'base', '(objectClass=*)', attributes, options);
    const entry = entries[0];
    return entry === undefined || dn !== '' ? entry : capRootDse(entry);
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
    const control = new DirSyncControl(
      options.flags ?? 0,
      options.maxBytes ?? 1_048_576,
      Buffer.from(options.cookie ?? '', 'base64'),
    );
    const { searchEntries } = await this.guard('DirSync search', base, () =>
      this.client.search(
        base,
        {
          scope: 'sub',
          filter,
          attributes: [...attributes],
          explicitBufferAttributes: bufferAttributes(attributes),
          timeLimit: Math.ceil(this.options.operationTimeoutMs / 1000),
        },
        control,
      ),
    );
    return {
      entries: searchEntries.map(toEntry),
      cookie: control.responseCookie.toString('base64'),
      more: control.more,
    };
  }

  public async apply(change: Change): Promise<void> {
    this.stats.writes += 1;
    switch (change.kind) {
      case 'add':
        for (const [type, values] of Object.entries(change.attributes))
          if (isSecretAttribute(type)) for (const value of values) this.secrets.add(value);
        await this.guard(
          'add',
          change.dn,
          () =>
            this.client.add(
              change.dn,
              Object.entries(change.attributes).map(
                ([type, values]) => new Attribute({ type, values: wireValues(type, values) }),
              ),
            ),
          { write: true, attributes: Object.keys(change.attributes) },
        );
        return;
      case 'modify':
        for (const m of change.modifications)
          if (isSecretAttribute(m.attribute)) for (const value of m.values) this.secrets.add(value);
        await this.guard(
          'modify',
          change.dn,
          () =>
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
          { write: true, attributes: change.modifications.map((m) => m.attribute) },
        );
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
    if (this.dropped || this.lost !== undefined) {
      this.closing = true;
      this.drop();
      return;
    }
    this.closing = true;
    try {
      // An unbind is not answered; the deadline only covers a socket that will not take the request.
      await withDeadline(this.client.unbind(), 1000, 'unbind timed out');
    } catch {
      // The connection is going away either way; a failed unbind changes nothing for the run.
    } finally {
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
    // Every search carries the bound it needs, and the framing stops reading past it.
    const sizeLimit = scope === 'base' ? 1 : (options?.sizeLimit ?? DEFAULT_SEARCH_SIZE_LIMIT);
    try {
      const { searchEntries } = await this.guard('search', base, () =>
        this.client.search(
          base,
          {
            scope,
            filter,
            attributes: [...attributes],
            explicitBufferAttributes: bufferAttributes(attributes),
            timeLimit: Math.ceil(this.options.operationTimeoutMs / 1000),
            sizeLimit,
          },
          ldaptsControls(options?.controls),
        ),
      );
      if (scope !== 'base' && options?.sizeLimit === undefined && searchEntries.length >= sizeLimit) {
        throw new PrepareError(
          ResultCode.SIZE_LIMIT_EXCEEDED,
          `The search under '${base}' on ${this.address} found ${sizeLimit} entries or more, more than this tool reads`,
          'check --baseDN: it should name the subtree to synchronize, not a whole directory of configuration entries',
        );
      }
      return searchEntries.map(toEntry);
    } catch (error) {
      if (
        error instanceof PrepareError &&
        error.resultCode === ResultCode.NO_SUCH_OBJECT &&
        error.cause instanceof ResultCodeError
      ) {
        return [];
      }
      throw error;
    }
  }

  /**
   * Runs one ldapts operation: its failure becomes a PrepareError, and a signal stops it. A read (or a
   * connect, which ldapts makes inside the first operation) is dropped at once; a write gets WRITE_GRACE_MS
   * to be answered, so that a write the server made is reported as made. The operation has
   * --operationTimeout (and --connectTimeout when it opens the connection); a connection that ends fails it
   * at once, and every operation after that too.
   */
  private async guard<T>(
    operation: string,
    dn: string,
    action: () => Promise<T>,
    kind: { write?: boolean; attributes?: readonly string[] } = {},
  ): Promise<T> {
    const context = (): ErrorContext => ({
      operation,
      dn,
      boundDn: this.boundDn,
      address: this.address,
      mask: this.secrets,
      ...this.tlsContext(),
      ...(kind.write === true ? { write: true } : {}),
      ...(kind.attributes === undefined ? {} : { attributes: kind.attributes }),
    });
    const signal = this.options.signal;
    const where = dn === '' ? 'the root DSE' : `'${dn}'`;
    if (signal?.aborted === true)
      throw interruption(signal.reason, `before the ${operation} of ${where} on ${this.address}`);
    if (this.lost !== undefined) {
      throw translateError(new ConnectionFailure('gone', 'not sent', undefined, { cause: this.lost }), context());
    }
    // Node's timers fire at once past 2^31-1 ms: the sum of two long timeouts is clamped to what they hold.
    const deadlineMs = Math.min(
      MAX_TIMER_MS,
      this.phase === 'open'
        ? this.options.operationTimeoutMs
        : this.options.operationTimeoutMs + this.options.connectTimeoutMs,
    );
    return new Promise<T>((resolve, reject) => {
      let grace: NodeJS.Timeout | undefined;
      let finished = false;
      const deadline = setTimeout(() => {
        this.lose(
          this.phase === 'open'
            ? new ConnectionFailure('operation-timeout', 'no answer in time')
            : new ConnectionFailure(
                this.phase === 'handshaking' ? 'handshake-stalled' : 'connect-timeout',
                'no connection in time',
              ),
        );
      }, deadlineMs);
      const finish = (settle: () => void): void => {
        if (finished) return;
        finished = true;
        clearTimeout(deadline);
        clearTimeout(grace);
        this.onLost.delete(onLost);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const onLost = (reason: unknown): void => finish(() => reject(translateError(reason, context())));
      const stop = (): void => {
        // ldapts connects inside the first operation: say which of the two was cut short.
        const connecting = this.phase === 'connecting' || this.phase === 'handshaking';
        finish(() => {
          this.drop();
          reject(
            interruption(
              signal?.reason,
              connecting
                ? `while connecting to ${this.address}`
                : kind.write === true
                  ? `during the ${operation} of ${where}: ${this.address} did not answer it in time, so it may or may not have been made`
                  : `during the ${operation} of ${where} on ${this.address}`,
            ),
          );
        });
      };
      const onAbort = (): void => {
        if (kind.write === true) grace = setTimeout(stop, WRITE_GRACE_MS);
        else stop();
      };
      this.onLost.add(onLost);
      signal?.addEventListener('abort', onAbort, { once: true });
      let pending: Promise<T>;
      try {
        pending = action();
      } catch (error) {
        finish(() => reject(translateError(this.lost ?? error, context())));
        return;
      }
      pending.then(
        (value) => finish(() => resolve(value)),
        // When the connection was lost, that is what happened (ldapts' own words are about its internals).
        (error: unknown) => finish(() => reject(translateError(this.lost ?? error, context()))),
      );
    });
  }

  private tlsContext(): Pick<ErrorContext, 'security' | 'trust'> {
    return { security: this.options.security, trust: this.options.trust };
  }
}

/** The root DSE is read for detection and shown in messages: values and lists cut to a sane size. */
function capRootDse(entry: Entry): Entry {
  const attributes = new Map<string, string[]>();
  for (const [name, values] of entry.attributes) {
    attributes.set(
      name,
      values.slice(0, ROOT_DSE_VALUES_MAX).map((value) => value.slice(0, ROOT_DSE_VALUE_MAX_CHARS)),
    );
  }
  return { dn: entry.dn, attributes };
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
  public constructor(
    oid: string,
    critical: boolean,
    private readonly value: Buffer | undefined,
  ) {
    super(oid, { critical });
  }

  protected override writeControl(writer: BerWriter): void {
    if (this.value !== undefined) writer.writeBuffer(this.value, Ber.OctetString);
  }
}

function ldaptsControls(controls: readonly LdapControl[] | undefined): Control[] | undefined {
  if (controls === undefined || controls.length === 0) return undefined;
  return controls.map(
    (c) => new OpaqueControl(c.oid, c.critical, c.value === undefined ? undefined : Buffer.from(c.value, 'base64')),
  );
}

/**
 * DirSync request `SEQUENCE { flags INTEGER, maxBytes INTEGER, cookie OCTET STRING }`; ldapts hands the response
 * control of the same OID back to this object, whose value is `SEQUENCE { moreResults INTEGER, unused INTEGER,
 * cookie OCTET STRING }`.
 */
class DirSyncControl extends Control {
  public responseCookie: Buffer = Buffer.alloc(0);
  public more = false;

  public constructor(
    private readonly flags: number,
    private readonly maxBytes: number,
    private readonly cookie: Buffer,
  ) {
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

function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
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
