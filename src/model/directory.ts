/**
 * The directory port: what the core asks of a connection to a directory server, and where to connect. The
 * core receives a DirectoryConnector through its dependencies (the CLI passes src/ldap's adapter, tests an
 * in-memory fake), so it never opens a connection itself. Shapes only; the one implementation that talks LDAP
 * is src/ldap/directory.ts.
 */
import type { Change, Entry, LdapControl } from './entries.js';

export type TransportSecurity = 'none' | 'ssl' | 'starttls';

export type Trust =
  | { readonly kind: 'system' }
  | { readonly kind: 'all' }
  /** PEM certificates to trust instead of the system's. */
  | { readonly kind: 'certificates'; readonly ca: readonly Buffer[]; readonly source: string }
  /**
   * The one server certificate a person accepted at the prompt for this run (its SHA-256 fingerprint, as
   * node:tls writes it): any other certificate ends the connection.
   */
  | { readonly kind: 'pinned'; readonly fingerprint256: string; readonly subject: string };

/** A server certificate as the question "do you trust it?" shows it (see inspectServerCertificate). */
export interface ServerCertificateFacts {
  readonly subject: string;
  readonly issuer: string;
  readonly validFrom: string;
  readonly validTo: string;
  /** SHA-256 fingerprint, colon-separated hex, as node:tls and keytool write it. */
  readonly fingerprint256: string;
  /** Verified against the run's trust (chain and host name). */
  readonly trusted: boolean;
  /** Why it is not trusted, in OpenSSL's or node:tls's words (such as SELF_SIGNED_CERT_IN_CHAIN). */
  readonly reason?: string;
  /** The host name mismatch, when the certificate does not name the host. */
  readonly hostMismatch?: string;
}

/**
 * The administrator's own certificate, for a SASL EXTERNAL bind over TLS: PEM texts (the key decrypted in
 * memory only), or a PKCS#12 file with its password, which node:tls opens itself.
 */
export type ClientCertificate = {
  /** The certificate's subject, as messages name it (RFC 4514 order). */
  readonly subject: string;
  /** Where it came from (the --keyStorePath file). */
  readonly source: string;
} & (
  | { readonly kind: 'pem'; readonly key: string; readonly cert: string }
  | { readonly kind: 'pfx'; readonly pfx: Buffer; readonly passphrase: string }
);

export interface ConnectionOptions {
  readonly host: string;
  readonly port: number;
  /**
   * An ldapi:// connection: the path of the server's Unix domain socket (host and port are then unused, and
   * `security` is 'none': the socket never leaves the machine).
   */
  readonly socketPath?: string;
  /** Presented in the TLS handshake (LDAPS or StartTLS) for a SASL EXTERNAL bind. */
  readonly clientCertificate?: ClientCertificate;
  readonly security: TransportSecurity;
  readonly trust: Trust;
  readonly connectTimeoutMs: number;
  readonly operationTimeoutMs: number;
  /**
   * Aborted on Ctrl-C or SIGTERM (its reason is the signal's name): a connect or read in flight is dropped at
   * once, a write in flight gets a short grace to be answered, then the connection is dropped too.
   */
  readonly signal?: AbortSignal;
}

/**
 * What a server's password policy said about an account at its bind: the password policy response control
 * (draft-behera-ldap-password-policy, 1.3.6.1.4.1.42.2.27.8.5.1: OpenLDAP's ppolicy overlay, 389 DS), 389 DS's
 * own expired (2.16.840.1.113730.3.4.4) and expiring (2.16.840.1.113730.3.4.5) controls, 389 DS's result 19 for a
 * locked account and Active Directory's bind sub-codes. Empty when the policy had nothing to say.
 */
export interface AccountPolicyState {
  /** The password must be changed before anything else works (reset by an admin, or a new account). */
  readonly mustChange?: boolean;
  readonly expired?: boolean;
  /** Too many failed binds: the right password is refused until the lock ends or an admin clears it. */
  readonly locked?: boolean;
  /** The password expires in this many seconds. */
  readonly expiresInSeconds?: number;
  /** The password has expired and this many grace binds are left. */
  readonly graceLoginsLeft?: number;
}

/** Options of a bind. */
export interface BindOptions {
  /**
   * Ask the server what its password policy says about the account (the request control, non-critical): the
   * answer comes back from a successful bind, and with a refused one on the PrepareError's `accountState`.
   */
  readonly passwordPolicy?: boolean;
}

export interface DirectoryStats {
  reads: number;
  writes: number;
  /**
   * Round trips on the run's critical path, across its connections: an operation sent while others are in
   * flight shares their round trip; one sent after an answer came back starts the next. Counted by the adapter
   * (absent where nothing counts them).
   */
  roundTrips?: number;
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

/**
 * One connection. Every failure is a PrepareError carrying the server's result code (a read of an entry that
 * does not exist is not a failure: it is undefined); an aborted `signal` stops an operation with 130/143.
 */
export interface Directory {
  /** `host:port`, as the console shows it. */
  readonly address: string;
  readonly stats: DirectoryStats;
  /** Resolves to what the password policy said when `options.passwordPolicy` asked (else nothing). */
  bind(dn: string, password: string, options?: BindOptions): Promise<AccountPolicyState | void>;
  /**
   * A SASL EXTERNAL bind: the identity is the one the transport proves (the calling process over ldapi, the
   * client certificate over TLS). Resolves to the identity the server mapped it to ("Who am I?", RFC 4532),
   * as a DN, or undefined when the server does not say.
   */
  bindExternal(): Promise<string | undefined>;
  /** Reads one entry; undefined when it does not exist (or this connection may not see it). */
  read(dn: string, attributes: readonly string[], options?: SearchOptions): Promise<Entry | undefined>;
  search(
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: string,
    attributes: readonly string[],
    options?: SearchOptions,
  ): Promise<Entry[]>;
  /**
   * Active Directory DirSync (MS-ADTS 3.1.1.3.4.1.3): the entries changed since `cookie` (everything when
   * absent) under a naming context root. Needs the "Replicating Directory Changes" right unless `flags` asks
   * for object security (0x1).
   */
  dirSync(
    base: string,
    filter: string,
    attributes: readonly string[],
    options?: { cookie?: string; flags?: number; maxBytes?: number },
  ): Promise<DirSyncResult>;
  apply(change: Change): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens a connection (negotiating StartTLS where asked); its reads and writes are counted into `stats`, which
 * the connections of one run share.
 */
export type DirectoryConnector = (options: ConnectionOptions, stats: DirectoryStats) => Promise<Directory>;
