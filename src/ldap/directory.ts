/**
 * The only module that talks to ldapts. It opens one connection, counts what it reads and writes, and turns
 * every ldapts or socket failure into a PrepareError with a result code and a sentence a person can act on.
 */
import { Attribute, Change as LdapChange, Client, ResultCodeError } from 'ldapts';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { PrepareError, ResultCode } from './errors.js';
import { isSecretAttribute, type Change, type Entry } from './types.js';

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

export interface Directory {
  /** `host:port`, as the console shows it. */
  readonly address: string;
  readonly stats: DirectoryStats;
  bind(dn: string, password: string): Promise<void>;
  /** Reads one entry; undefined when it does not exist (or this connection may not see it). */
  read(dn: string, attributes: readonly string[]): Promise<Entry | undefined>;
  search(base: string, scope: 'base' | 'one' | 'sub', filter: string, attributes: readonly string[]): Promise<Entry[]>;
  apply(change: Change): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens a connection (StartTLS is negotiated here too). Reads and writes are counted into `stats`, which
 * several connections of one run may share.
 */
export async function connect(options: ConnectionOptions, stats: DirectoryStats = { reads: 0, writes: 0 }): Promise<Directory> {
  const directory = new LdaptsDirectory(options, stats);
  await directory.open();
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
      await this.guard('StartTLS', '', () => this.client.startTLS(tlsOptionsFor(this.options)));
    }
  }

  public async bind(dn: string, password: string): Promise<void> {
    await this.guard('bind', dn, () => this.client.bind(dn, password));
    this.boundDn = dn;
  }

  public async read(dn: string, attributes: readonly string[]): Promise<Entry | undefined> {
    const entries = await this.searchOrMissing(dn, 'base', '(objectClass=*)', attributes);
    return entries[0];
  }

  public async search(
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: string,
    attributes: readonly string[],
  ): Promise<Entry[]> {
    return this.searchOrMissing(base, scope, filter, attributes);
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
          ),
        );
        return;
      case 'delete':
        await this.guard('delete', change.dn, () => this.client.del(change.dn));
        return;
    }
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
  ): Promise<Entry[]> {
    this.stats.reads += 1;
    try {
      const { searchEntries } = await this.client.search(base, {
        scope,
        filter,
        attributes: [...attributes],
        timeLimit: Math.ceil(this.options.operationTimeoutMs / 1000),
      });
      return searchEntries.map(toEntry);
    } catch (error) {
      if (error instanceof ResultCodeError && error.code === ResultCode.NO_SUCH_OBJECT) {
        return [];
      }
      throw translateError(error, { operation: 'search', dn: base, boundDn: this.boundDn, address: this.address });
    }
  }

  private async guard<T>(operation: string, dn: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw translateError(error, { operation, dn, boundDn: this.boundDn, address: this.address });
    }
  }
}

/**
 * With NODE_DEBUG=ldapts, ldapts prints every request with JSON.stringify and masks only bind passwords.
 * Secret values therefore travel as Buffers whose toJSON says `__redacted__`: the wire bytes are the same.
 */
function wireValues(attribute: string, values: readonly string[]): string[] | Buffer[] {
  if (!isSecretAttribute(attribute)) return [...values];
  return values.map((value) => {
    const bytes = Buffer.from(value, 'utf8');
    Object.defineProperty(bytes, 'toJSON', { value: () => '__redacted__' });
    return bytes;
  });
}

function tlsOptionsFor(options: ConnectionOptions): TlsConnectionOptions {
  const serverName = isIpAddress(options.host) ? {} : { servername: options.host };
  switch (options.trust.kind) {
    case 'all':
      return { rejectUnauthorized: false, ...serverName };
    case 'certificates':
      return { ca: [...options.trust.ca], rejectUnauthorized: true, ...serverName };
    case 'system':
      return { rejectUnauthorized: true, ...serverName };
  }
}

function isIpAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

function toEntry(raw: Record<string, unknown> & { dn: string }): Entry {
  const attributes = new Map<string, string[]>();
  for (const [name, value] of Object.entries(raw)) {
    if (name === 'dn') continue;
    const values = (Array.isArray(value) ? value : [value]).map((v) =>
      Buffer.isBuffer(v) ? v.toString('utf8') : String(v),
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
}

const TLS_PROBLEMS: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server certificate chain ends in an untrusted self-signed CA',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server certificate is signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the server certificate is signed by an unknown CA',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  CERT_NOT_YET_VALID: 'the server certificate is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server certificate does not name this host',
};

/** The one place where ldapts and socket errors become what the user reads and what the process exits with. */
export function translateError(error: unknown, context: ErrorContext): PrepareError {
  if (error instanceof PrepareError) return error;
  const where = context.dn === '' ? 'the root DSE' : `'${context.dn}'`;
  const who = context.boundDn === undefined ? 'an anonymous connection' : `'${context.boundDn}'`;
  if (error instanceof ResultCodeError) {
    const serverText = error.message.replace(/\s*Code: 0x[0-9a-f]+\s*$/i, '').trim();
    const said = serverText === '' ? '' : ` (server said: ${serverText})`;
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
      case 2: // protocolError: what a server without StartTLS answers to the StartTLS request
        if (context.operation === 'StartTLS') {
          return new PrepareError(
            ResultCode.CONNECT_ERROR,
            `${context.address} refused StartTLS${said}`,
            'use --useSSL with the LDAPS port, or fix the server TLS configuration',
            { cause: error },
          );
        }
        break;
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
  const tlsProblem = TLS_PROBLEMS[code];
  if (tlsProblem !== undefined) {
    return new PrepareError(ResultCode.CONNECT_ERROR, `TLS failed with ${context.address}: ${tlsProblem}`,
      'pass the issuing CA with --trustStorePath (or --trustAll to skip verification, not for production)', { cause: error });
  }
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
