/**
 * The only module that talks to ldapts. It opens one connection, counts what it reads and writes, and turns
 * every ldapts or socket failure into a PrepareError (translate-error.ts) with a result code and a sentence a
 * person can act on. What TLS trusts and how it is set up is in ../tls/trust.ts.
 */
import { Attribute, Ber, BerReader, BerWriter, Change as LdapChange, Client, Control, ResultCodeError } from 'ldapts';
import * as net from 'node:net';
import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import { interruption, PrepareError, ResultCode } from '../model/errors.js';
import { pinnedMismatch, tlsOptionsFor } from '../tls/trust.js';
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
import type {
  AccountPolicyState,
  BindOptions,
  ConnectionOptions,
  Directory,
  DirectoryStats,
  DirSyncResult,
  SearchOptions,
  ServerCertificateFacts,
} from '../model/directory.js';

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
  /** True while requests written in this turn of the event loop are held to leave together (see coalesce()). */
  private corked = false;
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
    private readonly tlsConnect: typeof tls.connect = tls.connect,
  ) {
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    const socketPath = options.socketPath;
    this.address = socketPath === undefined ? `${host}:${options.port}` : ldapiAddress(socketPath);
    const scheme = options.security === 'ssl' ? 'ldaps' : 'ldap';
    this.client = new Client({
      // ldapts knows no ldapi://: the URL only names the scheme, createConnection opens the socket.
      url: socketPath === undefined ? `${scheme}://${host}:${options.port}` : 'ldap://localhost',
      // Both deadlines are kept here (connect, handshake, operation), so that each says what it was.
      connectTimeout: 0,
      timeout: 0,
      // Our own RFC 4514 parser validates DNs before they get here; ldapts' strict parser rejects some valid ones.
      strictDN: false,
      // Any tlsOptions make ldapts speak TLS from the first byte, so they are given only for LDAPS;
      // StartTLS gets them in open().
      ...(options.security === 'ssl' ? { tlsOptions: tlsOptionsFor(options) } : {}),
      // The same connections ldapts would open, kept in sight; a second connection is refused.
      createConnection: ((port: number, hostname: string) => {
        const first = this.firstSocket(port, hostname);
        return this.watch(socketPath === undefined ? net.connect(first) : net.connect({ path: socketPath }), false);
      }) as unknown as typeof net.connect,
      createSecureConnection: (...args: unknown[]) => {
        const [first, hostname, tlsOptions] = args;
        const socket =
          typeof first === 'object' && first !== null
            ? // StartTLS: TLS over the socket already open.
              this.watch(this.tlsConnect(first as tls.ConnectionOptions), true, true)
            : this.watch(
                this.tlsConnect({
                  ...(tlsOptions as tls.ConnectionOptions),
                  ...this.firstSocket(first as number, hostname as string),
                }),
                true,
              );
        // Registered before ldapts' own listener: a certificate other than the one accepted ends the connection.
        socket.once('secureConnect', () => {
          const mismatch = pinnedMismatch(options.trust, socket);
          if (mismatch !== undefined) socket.destroy(mismatch);
        });
        return socket;
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
    // Each request goes out when it is written (see coalesce() for those written together): Nagle's wait for
    // the previous answer's acknowledgement only delays the next request of a run.
    socket.setNoDelay(true);
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

  public async bind(dn: string, password: string, options?: BindOptions): Promise<AccountPolicyState | void> {
    this.secrets.add(password);
    if (options?.passwordPolicy !== true) {
      await this.guard('bind', dn, () => this.client.bind(dn, password));
      this.boundDn = dn;
      return;
    }
    const policy = new PasswordPolicyControl();
    const expired = new ResponseOnlyControl(NETSCAPE_PASSWORD_EXPIRED_OID);
    const expiring = new ResponseOnlyControl(NETSCAPE_PASSWORD_EXPIRING_OID);
    const state = (): AccountPolicyState => accountStateOf(policy, expired, expiring);
    await this.guard('bind', dn, () => this.client.bind(dn, password, [policy, expired, expiring]), {
      accountState: state,
    });
    this.boundDn = dn;
    return state();
  }

  public async bindExternal(): Promise<string | undefined> {
    await this.guard('SASL EXTERNAL bind', '', () => this.client.bind('EXTERNAL'));
    let identity: string | undefined;
    try {
      // "Who am I?" (RFC 4532): the server's answer is `dn:<DN>`, `u:<user>` or empty for anonymous.
      const { value } = await this.guard('Who am I? request', '', () => this.client.exop(WHO_AM_I_OID));
      identity =
        value?.startsWith('dn:') === true
          ? value.slice(3).trim()
          : value === undefined || value === ''
            ? undefined
            : value;
    } catch (error) {
      // A server without the extended operation still bound the identity: only the name is unknown.
      if (!(error instanceof PrepareError) || error.resultCode === ResultCode.CONNECT_ERROR) throw error;
    }
    this.boundDn = identity ?? 'the SASL EXTERNAL identity';
    return identity;
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
    kind: { write?: boolean; attributes?: readonly string[]; accountState?: () => AccountPolicyState } = {},
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
      ...(kind.accountState === undefined ? {} : { accountState: kind.accountState() }),
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
        this.coalesce();
        pending = this.countRoundTrip(action());
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

  /**
   * Requests made in one turn of the event loop leave in one TCP segment. 389 DS reads a segment's requests
   * together, but a request that arrives while it works on another is seen only at its next poll, 100 ms
   * or more later (measured: 6 base reads in flight stalled so in 7 % to 28 % of the tries when written one by
   * one, never when written in one segment; bench/README in BENCHMARKS.md).
   */
  private coalesce(): void {
    if (this.corked) return;
    const sockets = [...this.sockets].filter((socket) => !socket.connecting && !socket.destroyed);
    if (sockets.length === 0) return;
    this.corked = true;
    for (const socket of sockets) socket.cork();
    setImmediate(() => {
      this.corked = false;
      // TLS over TCP: the TLS socket's records first, into the TCP socket that is still held.
      for (const socket of sockets.reverse()) socket.uncork();
    });
  }

  /**
   * The operation's round trip: one more than the longest chain of answers that came back before it was sent
   * (an operation sent beside others in flight adds none). The run's count is the longest chain it ended with.
   */
  private countRoundTrip<T>(pending: Promise<T>): Promise<T> {
    const depth = (this.stats.roundTrips ?? 0) + 1;
    const done = (): void => {
      this.stats.roundTrips = Math.max(this.stats.roundTrips ?? 0, depth);
    };
    pending.then(done, done);
    return pending;
  }

  private tlsContext(): Pick<ErrorContext, 'security' | 'trust' | 'socketPath' | 'clientCertificate'> {
    return {
      security: this.options.security,
      trust: this.options.trust,
      ...(this.options.socketPath === undefined ? {} : { socketPath: this.options.socketPath }),
      ...(this.options.clientCertificate === undefined
        ? {}
        : { clientCertificate: this.options.clientCertificate.subject }),
    };
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

const WHO_AM_I_OID = '1.3.6.1.4.1.4203.1.11.3';

/**
 * The server's certificate as the run's trust sees it, for the question asked at a terminal: one TLS handshake
 * (after StartTLS where asked) that verifies nothing itself, then node:tls's verdict on the chain and the host
 * name. Nothing is sent but StartTLS; the connection is closed at once. Failures are PrepareErrors (91).
 */
export async function inspectServerCertificate(options: ConnectionOptions): Promise<ServerCertificateFacts> {
  const strict = tlsOptionsFor(options);
  let socket: tls.TLSSocket | undefined;
  // A holder, not a variable: it is filled in by the handshake's callback.
  const seen: { certificate?: tls.DetailedPeerCertificate } = {};
  const capture = (...args: Parameters<typeof tls.connect>): tls.TLSSocket => {
    const opened = tls.connect(...args);
    // Read while the connection is up: a closed socket has no peer certificate any more.
    opened.once('secureConnect', () => {
      seen.certificate = opened.getPeerCertificate(true);
    });
    socket = opened;
    return opened;
  };
  const probe = new LdaptsDirectory(
    {
      ...options,
      trust: { kind: 'all' },
      security: options.security,
    },
    { reads: 0, writes: 0 },
    capture as typeof tls.connect,
  );
  try {
    await probe.open();
    // LDAPS shakes hands inside the first operation; its answer does not matter (anonymous reads may be refused).
    if (options.security === 'ssl')
      await probe.read('', ['1.1']).catch((error: unknown) => {
        if (socket === undefined || (error instanceof PrepareError && error.resultCode === ResultCode.CONNECT_ERROR))
          throw error;
      });
  } finally {
    await probe.abandon();
  }
  const presented = seen.certificate;
  if (presented?.raw === undefined)
    throw new PrepareError(ResultCode.CONNECT_ERROR, `${probe.address} presented no certificate`);
  const certificate = new X509Certificate(presented.raw);
  const chain = [certificate];
  // node:tls ends the chain with null, or with a self-signed certificate that is its own issuer.
  let next = presented.issuerCertificate as tls.DetailedPeerCertificate | null;
  while (next !== null && chain.length < 10 && next.fingerprint256 !== chain.at(-1)?.fingerprint256) {
    chain.push(new X509Certificate(next.raw));
    next = next.issuerCertificate;
  }
  const hostMismatch = tls.checkServerIdentity(options.host, presented)?.message;
  const reason = chainProblem(chain, strict.ca);
  return {
    subject: certificate.subject.split('\n').reverse().join(','),
    issuer: certificate.issuer.split('\n').reverse().join(','),
    validFrom: certificate.validFrom,
    validTo: certificate.validTo,
    fingerprint256: certificate.fingerprint256,
    trusted: reason === undefined && hostMismatch === undefined,
    ...(reason === undefined ? {} : { reason }),
    ...(hostMismatch === undefined ? {} : { hostMismatch }),
  };
}

/** Why no trusted CA vouches for the chain (undefined when one does, and every certificate is in its validity). */
function chainProblem(chain: readonly X509Certificate[], ca: TlsCa): string | undefined {
  const now = Date.now();
  for (const certificate of chain) {
    if (Date.parse(certificate.validTo) < now)
      return `the certificate '${certificate.subject.replace(/\n/g, ',')}' has expired`;
    if (Date.parse(certificate.validFrom) > now)
      return `the certificate '${certificate.subject.replace(/\n/g, ',')}' is not valid yet`;
  }
  const anchors = (Array.isArray(ca) ? ca : ca === undefined ? [] : [ca]).flatMap((pem) => {
    try {
      return [new X509Certificate(pem)];
    } catch {
      return [];
    }
  });
  const vouched = chain.some((certificate) =>
    anchors.some(
      (anchor) =>
        anchor.fingerprint256 === certificate.fingerprint256 ||
        (certificate.checkIssued(anchor) && certificate.verify(anchor.publicKey)),
    ),
  );
  return vouched ? undefined : 'no trusted CA issued it (self-signed, or its CA is not in the trust store)';
}

type TlsCa = tls.ConnectionOptions['ca'];

/** `ldapi://` and the socket path percent-encoded, as OpenLDAP's and 389's tools write it. */
export function ldapiAddress(socketPath: string): string {
  return `ldapi://${encodeURIComponent(socketPath)}`;
}

/** The password policy request control (draft-behera-ldap-password-policy section 6.1), no value. */
export const PASSWORD_POLICY_OID = '1.3.6.1.4.1.42.2.27.8.5.1';
/** 389 DS (Netscape): the password has expired or must be changed first; value "0". */
export const NETSCAPE_PASSWORD_EXPIRED_OID = '2.16.840.1.113730.3.4.4';
/** 389 DS (Netscape): the password expires in the value's number of seconds. */
export const NETSCAPE_PASSWORD_EXPIRING_OID = '2.16.840.1.113730.3.4.5';

/**
 * The request control, which ldapts hands the response control of the same OID back to (it matches response
 * controls to request controls by OID). The response value (draft-behera section 6.2):
 * `SEQUENCE { warning [0] CHOICE { timeBeforeExpiration [0] INTEGER, graceAuthNsRemaining [1] INTEGER } OPTIONAL,
 * error [1] ENUMERATED { passwordExpired(0), accountLocked(1), changeAfterReset(2), ... } OPTIONAL }`.
 */
class PasswordPolicyControl extends Control {
  public answered = false;
  public timeBeforeExpiration: number | undefined;
  public graceAuthNsRemaining: number | undefined;
  public error: number | undefined;

  public constructor() {
    super(PASSWORD_POLICY_OID, { critical: false });
  }

  protected override parseControl(reader: BerReader): void {
    this.answered = true;
    const value = reader.buffer;
    const parsed = parsePasswordPolicyResponse(value);
    this.timeBeforeExpiration = parsed.timeBeforeExpiration;
    this.graceAuthNsRemaining = parsed.graceAuthNsRemaining;
    this.error = parsed.error;
  }
}

/**
 * A control the server sends without being asked (389 DS's expired and expiring controls): ldapts keeps a
 * response control only when a request control of its OID was sent, so this one sits in the request's list
 * but writes nothing on the wire.
 */
class ResponseOnlyControl extends Control {
  public value: string | undefined;

  public constructor(oid: string) {
    super(oid, { critical: false });
  }

  public override write(): void {
    // Not sent: see the class comment.
  }

  protected override parseControl(reader: BerReader): void {
    this.value = reader.buffer.toString('utf8');
  }
}

/** The fields of a password policy response value; undefined fields were absent (or not understood). */
export function parsePasswordPolicyResponse(value: Buffer): {
  timeBeforeExpiration?: number;
  graceAuthNsRemaining?: number;
  error?: number;
} {
  const result: { timeBeforeExpiration?: number; graceAuthNsRemaining?: number; error?: number } = {};
  // SEQUENCE header
  if (value.length < 2 || value[0] !== 0x30) return result;
  let offset = 2;
  const end = Math.min(value.length, 2 + (value[1] ?? 0));
  const integer = (start: number, length: number): number => {
    let n = 0;
    for (let i = 0; i < length && i < 6; i++) n = n * 256 + (value[start + i] ?? 0);
    return n;
  };
  while (offset + 2 <= end) {
    const tag = value[offset] ?? 0;
    const length = value[offset + 1] ?? 0;
    const body = offset + 2;
    if (tag === 0xa0 && length >= 2) {
      // warning: one context-tagged INTEGER inside
      const inner = value[body] ?? 0;
      const innerLength = value[body + 1] ?? 0;
      if (inner === 0x80) result.timeBeforeExpiration = integer(body + 2, innerLength);
      if (inner === 0x81) result.graceAuthNsRemaining = integer(body + 2, innerLength);
    } else if (tag === 0x81 && length >= 1) {
      result.error = integer(body, length);
    }
    offset = body + length;
  }
  return result;
}

function accountStateOf(
  policy: PasswordPolicyControl,
  expired: ResponseOnlyControl,
  expiring: ResponseOnlyControl,
): AccountPolicyState {
  const seconds = expiring.value === undefined ? undefined : Number.parseInt(expiring.value.trim(), 10);
  return {
    ...(policy.error === 0 ? { expired: true } : {}),
    ...(policy.error === 1 ? { locked: true } : {}),
    // 389 DS sends the expired control with a successful bind when the password must be changed first.
    ...(policy.error === 2 || expired.value !== undefined ? { mustChange: true } : {}),
    ...(policy.timeBeforeExpiration === undefined ? {} : { expiresInSeconds: policy.timeBeforeExpiration }),
    ...(seconds === undefined || Number.isNaN(seconds) || policy.timeBeforeExpiration !== undefined
      ? {}
      : { expiresInSeconds: seconds }),
    ...(policy.graceAuthNsRemaining === undefined ? {} : { graceLoginsLeft: policy.graceAuthNsRemaining }),
  };
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
