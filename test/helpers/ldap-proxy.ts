// A TCP proxy for fault tests that reads the LDAP messages the client sends (BER framing only) so a test can
// act at an exact point of a run: before a write request reaches the server, hold it, drop it, kill the CLI,
// cut every connection, or stop the server. Also a listener that accepts and never answers.
import * as net from 'node:net';

/** LDAP protocolOp tags of the requests that change a server (RFC 4511 section 4.2). */
const WRITE_OPS: Readonly<Record<number, string>> = { 0x66: 'modify', 0x68: 'add', 0x4a: 'delete', 0x6c: 'modifyDN' };
/** The other requests a client sends. */
const OTHER_OPS: Readonly<Record<number, string>> = {
  0x60: 'bind',
  0x63: 'search',
  0x42: 'unbind',
  0x77: 'extended',
  0x6e: 'compare',
  0x50: 'abandon',
};

export interface WriteRequest {
  /** 1 for the first write request seen by this proxy (over every connection), 2 for the next... */
  readonly index: number;
  readonly op: string;
  /** The raw bytes, to look for a DN in (values of a write are not parsed further). */
  readonly bytes: Buffer;
}

/** 'forward' sends the request on; 'drop' swallows it (the client waits for an answer that never comes). */
export type WriteDecision = 'forward' | 'drop';

export interface LdapProxyOptions {
  /** Called before each write request goes to the server; the request waits for the promise. */
  onWrite?: (request: WriteRequest) => WriteDecision | Promise<WriteDecision>;
  /**
   * Called before each other request (bind, search...) goes to the server; the request waits for the promise.
   * `index` counts these requests (1 for the first, over every connection).
   */
  onRequest?: (request: WriteRequest) => WriteDecision | Promise<WriteDecision>;
}

export interface LdapProxy {
  readonly port: number;
  /** Write requests seen so far. */
  readonly writes: WriteRequest[];
  /** Destroys every open connection (both sides), as a server crash would. */
  cut(): void;
  close(): Promise<void>;
}

/** Splits complete BER LDAPMessages off the front of `buffer`; returns them and the rest. */
function splitMessages(buffer: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let offset = 0;
  for (;;) {
    if (buffer.length - offset < 2) break;
    const first = buffer[offset + 1]!;
    let length: number;
    let header: number;
    if (first < 0x80) {
      length = first;
      header = 2;
    } else {
      const n = first & 0x7f;
      if (buffer.length - offset < 2 + n) break;
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + buffer[offset + 2 + i]!;
      header = 2 + n;
    }
    if (buffer.length - offset < header + length) break;
    messages.push(buffer.subarray(offset, offset + header + length));
    offset += header + length;
  }
  return { messages, rest: buffer.subarray(offset) };
}

/** The protocolOp tag of one LDAPMessage: SEQUENCE header, messageID INTEGER, then the op. */
function opTag(message: Buffer): number | undefined {
  const first = message[1]!;
  const header = first < 0x80 ? 2 : 2 + (first & 0x7f);
  if (message[header] !== 0x02) return undefined;
  const idLength = message[header + 1]!;
  return message[header + 2 + idLength];
}

export async function startLdapProxy(
  target: { host: string; port: number },
  options: LdapProxyOptions = {},
): Promise<LdapProxy> {
  const sockets = new Set<net.Socket>();
  const writes: WriteRequest[] = [];
  let others = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    let pending: Buffer = Buffer.alloc(0);
    // Requests are handled one after the other, so a held write also holds whatever the client sends next.
    let queue: Promise<void> = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      const { messages, rest } = splitMessages(Buffer.concat([pending, chunk]));
      pending = rest;
      for (const message of messages) {
        queue = queue.then(async () => {
          const op = WRITE_OPS[opTag(message) ?? -1];
          if (op !== undefined) {
            const request: WriteRequest = { index: writes.length + 1, op, bytes: message };
            writes.push(request);
            const decision = options.onWrite === undefined ? 'forward' : await options.onWrite(request);
            if (decision === 'drop') return;
          } else if (options.onRequest !== undefined) {
            others += 1;
            const decision = await options.onRequest({
              index: others,
              op: OTHER_OPS[opTag(message) ?? -1] ?? 'other',
              bytes: message,
            });
            if (decision === 'drop') return;
          }
          if (!upstream.destroyed) upstream.write(message);
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    writes,
    cut() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Accepts connections and never says a word: what a hung server or a wrong firewall rule looks like. */
export async function startSilentListener(): Promise<{
  port: number;
  connections: () => number;
  /** Bytes received on every connection: a request was sent once this is above 0. */
  received: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  let received = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => accepted,
    received: () => received,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A port whose accept queue is full: the kernel no longer completes handshakes, so a client's connect stays
 * in progress (SYN sent) until it gives up. Node always accepts, so a small python3 process listens with a
 * backlog of 0, never accepts, and fills the queue itself.
 */
export async function startFullBacklogListener(): Promise<{ port: number; close: () => Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const script = [
    'import socket, sys, time',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
    'port = s.getsockname()[1]',
    'fill = []',
    'for _ in range(4):',
    '    c = socket.socket(); c.setblocking(False)',
    '    try: c.connect(("127.0.0.1", port))',
    '    except BlockingIOError: pass',
    '    fill.append(c)',
    'time.sleep(0.2)',
    'print(port, flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString('utf8').trim())));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('close', () => resolve());
        child.stdin.end();
      }),
  };
}

/** What a key-less man in the middle saw on one connection: every byte the client sent, chunk by chunk. */
export interface RelayedConnection {
  readonly clientChunks: Buffer[];
}

export interface RecordingRelay {
  readonly port: number;
  readonly connections: RelayedConnection[];
  /** Client chunks seen so far, over every connection. */
  clientChunkCount(): number;
  close(): Promise<void>;
}

/**
 * A TCP relay without any key (it cannot read TLS): it records what the client sends, and from the client's
 * `withholdAfter`-th chunk on (counted over every connection; after StartTLS a chunk is a TLS record or a few)
 * it stops passing the server's answers on that connection, as an attacker who wants the client to time out
 * and fall back would. The client side stays open: the client has to give up by itself.
 */
export async function startRecordingRelay(
  target: { host: string; port: number },
  options: { withholdAfter?: number } = {},
): Promise<RecordingRelay> {
  const sockets = new Set<net.Socket>();
  const connections: RelayedConnection[] = [];
  let chunks = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const record: RelayedConnection = { clientChunks: [] };
    connections.push(record);
    sockets.add(client);
    sockets.add(upstream);
    let withholding = false;
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', () => {
      if (!withholding) end();
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!withholding) client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      chunks += 1;
      record.clientChunks.push(Buffer.from(chunk));
      if (chunks === options.withholdAfter) withholding = true;
      if (!upstream.destroyed) upstream.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    clientChunkCount: () => chunks,
    async close() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
