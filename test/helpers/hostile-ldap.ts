// A small LDAP server that misbehaves on purpose, for the hostile-server suite: an in-process net server on
// 127.0.0.1 that reads the client's requests (BER framing, messageID, the operation, a bind's DN and password,
// a search's base) and answers each through a behaviour the test gives, with BER built here. By default it
// answers like a minimal OpenLDAP: any bind succeeds, the root DSE names dc=example,dc=com, every other
// search finds nothing (noSuchObject).
import * as net from 'node:net';
import * as tls from 'node:tls';

/** BER: one element with a definite length. */
export function ber(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  const length =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x84, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

function integer(tag: number, value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return ber(tag, Buffer.from(bytes));
}

export function octets(value: string | Buffer): Buffer {
  return ber(0x04, typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
}

/** An LDAPMessage: messageID and protocolOp. */
export function message(id: number, op: Buffer): Buffer {
  return ber(0x30, integer(0x02, id), op);
}

/** An LDAPResult-shaped operation (bind 0x61, search done 0x65, modify 0x67, add 0x69, extended 0x78...). */
export function result(tag: number, code: number, diagnostic = ''): Buffer {
  return ber(tag, integer(0x0a, code), octets(''), octets(diagnostic));
}

export function searchEntry(dn: string, attributes: Record<string, readonly (string | Buffer)[]>): Buffer {
  return ber(
    0x64,
    octets(dn),
    ber(
      0x30,
      ...Object.entries(attributes).map(([type, values]) =>
        ber(0x30, octets(type), ber(0x31, ...values.map((v) => octets(v)))),
      ),
    ),
  );
}

export const ROOT_DSE: Record<string, string[]> = {
  objectClass: ['top', 'OpenLDAProotDSE'],
  namingContexts: ['dc=example,dc=com'],
  supportedLDAPVersion: ['3'],
};

export interface LdapRequest {
  readonly id: number;
  /** The protocolOp tag: 0x60 bind, 0x63 search, 0x42 unbind, 0x77 extended, 0x66 modify, 0x68 add... */
  readonly op: number;
  readonly bindDn?: string;
  readonly password?: string;
  readonly base?: string;
  /** Requests seen on this connection before this one. */
  readonly index: number;
  /** Connections accepted before this one. */
  readonly connection: number;
}

/** How the server answers a request: write to `socket` (or not). Return 'default' for the ordinary answer. */
export type Behaviour = (request: LdapRequest, socket: net.Socket) => void | 'default';

/** The ordinary answer of a minimal, well-behaved server. */
export function answerNormally(request: LdapRequest, socket: net.Socket): void {
  switch (request.op) {
    case 0x60:
      socket.write(message(request.id, result(0x61, 0)));
      return;
    case 0x63:
      if (request.base === '') socket.write(message(request.id, searchEntry('', ROOT_DSE)));
      socket.write(message(request.id, result(0x65, request.base === '' ? 0 : 32)));
      return;
    case 0x66:
      socket.write(message(request.id, result(0x67, 0)));
      return;
    case 0x68:
      socket.write(message(request.id, result(0x69, 0)));
      return;
    case 0x4a:
      socket.write(message(request.id, result(0x6b, 0)));
      return;
    case 0x77:
      socket.write(message(request.id, result(0x78, 2, 'no extended operations here')));
      return;
    default:
      return;
  }
}

function readLength(bytes: Buffer, offset: number): { length: number; start: number } | undefined {
  if (offset + 1 >= bytes.length) return undefined;
  const first = bytes.readUInt8(offset + 1);
  if (first < 0x80) return { length: first, start: offset + 2 };
  const n = first & 0x7f;
  if (offset + 2 + n > bytes.length) return undefined;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + bytes.readUInt8(offset + 2 + i);
  return { length, start: offset + 2 + n };
}

/** The fields of one whole request message this server cares about. */
function parseRequest(bytes: Buffer): Omit<LdapRequest, 'index' | 'connection'> | undefined {
  const outer = readLength(bytes, 0);
  if (outer === undefined) return undefined;
  const idField = readLength(bytes, outer.start);
  if (idField === undefined) return undefined;
  let id = 0;
  for (let i = 0; i < idField.length; i++) id = id * 256 + bytes.readUInt8(idField.start + i);
  const opOffset = idField.start + idField.length;
  const op = bytes.readUInt8(opOffset);
  const opField = readLength(bytes, opOffset);
  if (opField === undefined) return { id, op };
  if (op === 0x60) {
    const version = readLength(bytes, opField.start);
    if (version === undefined) return { id, op };
    const name = readLength(bytes, version.start + version.length);
    if (name === undefined) return { id, op };
    const bindDn = bytes.subarray(name.start, name.start + name.length).toString('utf8');
    const auth = readLength(bytes, name.start + name.length);
    const password =
      auth === undefined ? undefined : bytes.subarray(auth.start, auth.start + auth.length).toString('utf8');
    return { id, op, bindDn, ...(password === undefined ? {} : { password }) };
  }
  if (op === 0x63) {
    const base = readLength(bytes, opField.start);
    return base === undefined
      ? { id, op }
      : { id, op, base: bytes.subarray(base.start, base.start + base.length).toString('utf8') };
  }
  return { id, op };
}

export interface HostileServer {
  readonly port: number;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** With `tls`, the server speaks LDAPS (TLS from the first byte) with that certificate and key (PEM). */
export async function startHostileLdap(
  behave: Behaviour = () => 'default',
  options: { tls?: { cert: Buffer; key: Buffer } } = {},
): Promise<HostileServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const onConnection = (socket: net.Socket): void => {
    const connection = accepted;
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    let pending = Buffer.alloc(0);
    let index = 0;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const outer = readLength(pending, 0);
        if (outer === undefined || pending.length < outer.start + outer.length) return;
        const bytes = pending.subarray(0, outer.start + outer.length);
        pending = pending.subarray(outer.start + outer.length);
        const parsed = parseRequest(bytes);
        if (parsed === undefined || socket.destroyed) return;
        const request: LdapRequest = { ...parsed, index, connection };
        index += 1;
        if (behave(request, socket) === 'default') answerNormally(request, socket);
      }
    });
  };
  const server =
    options.tls === undefined
      ? net.createServer(onConnection)
      : tls.createServer({ cert: options.tls.cert, key: options.tls.key }, onConnection);
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => accepted,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
