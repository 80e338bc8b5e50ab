/**
 * The emulator's LDAP listener: one EmulatedServer shared by every connection, each connection with its own bind
 * state. The wire format is the PingDirectory emulator's (../pingdirectory/protocol.ts).
 */
import * as net from 'node:net';
import { decodeMessage, encodeResult, encodeSearchEntry, RESPONSE_TAG, splitMessages, type Envelope } from '../pingdirectory/protocol.js';
import { EmulatedServer, LdapFailure, RESULT, type EmulatorOptions, type Session } from './state.js';

export interface RunningEmulator {
  readonly host: '127.0.0.1';
  readonly port: number;
  close(): Promise<void>;
}

/** Request controls the emulator understands (the external changelog control); any other critical one is refused. */
const KNOWN_CONTROLS = new Set(['1.3.6.1.4.1.26027.1.5.4']);

export async function listen(port: number, options: EmulatorOptions): Promise<RunningEmulator> {
  const server = new EmulatedServer(options);
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(socket, server);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, '127.0.0.1', () => resolve());
  });
  const address = listener.address();
  if (address === null || typeof address === 'string') throw new Error('the emulator did not get a TCP port');
  return {
    host: '127.0.0.1',
    port: address.port,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      listener.close(() => resolve());
    }),
  };
}

function serveConnection(socket: net.Socket, server: EmulatedServer): void {
  const session: Session = { boundDn: undefined };
  let pending: Buffer = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  socket.on('data', (data: Buffer) => {
    pending = Buffer.concat([pending, data]);
    try {
      const { messages, rest } = splitMessages(pending);
      pending = rest;
      for (const message of messages) {
        const envelope = decodeMessage(message);
        if (envelope.request.op === 'unbind') {
          socket.end();
          return;
        }
        for (const response of answer(server, session, envelope)) socket.write(response);
      }
    } catch {
      socket.destroy();
    }
  });
}

function answer(server: EmulatedServer, session: Session, envelope: Envelope): Buffer[] {
  const { messageId, request } = envelope;
  const tagFor: Record<string, number> = {
    bind: RESPONSE_TAG.bind, search: RESPONSE_TAG.search, add: RESPONSE_TAG.add, modify: RESPONSE_TAG.modify,
    delete: RESPONSE_TAG.delete, modifyDn: RESPONSE_TAG.modifyDn, compare: RESPONSE_TAG.compare, extended: RESPONSE_TAG.extended,
  };
  const tag = tagFor[request.op] ?? RESPONSE_TAG.extended;
  try {
    const critical = envelope.controls.find((control) => control.critical && !KNOWN_CONTROLS.has(control.oid));
    if (critical !== undefined) throw new LdapFailure(RESULT.unavailableCriticalExtension, `The emulator does not support the critical control ${critical.oid}`);
    switch (request.op) {
      case 'bind':
        server.bind(session, request.dn, request.password);
        return [encodeResult(messageId, tag, RESULT.success)];
      case 'search': {
        const entries = server.search(session, request.base, request.scope, request.filter, request.attributes, envelope.controls.map((c) => c.oid));
        return [...entries.map((entry) => encodeSearchEntry(messageId, entry.dn, entry.attributes, request.typesOnly)), encodeResult(messageId, tag, RESULT.success)];
      }
      case 'add':
        server.add(session, request.dn, request.attributes);
        return [encodeResult(messageId, tag, RESULT.success)];
      case 'modify':
        server.modify(session, request.dn, request.modifications);
        return [encodeResult(messageId, tag, RESULT.success)];
      case 'delete':
        server.delete(session, request.dn);
        return [encodeResult(messageId, tag, RESULT.success)];
      case 'modifyDn':
        throw new LdapFailure(RESULT.unwillingToPerform, 'The emulator does not rename entries');
      case 'compare':
        throw new LdapFailure(RESULT.unwillingToPerform, 'The emulator does not implement compare');
      case 'extended':
        throw new LdapFailure(RESULT.protocolError, `Unsupported extended operation ${request.oid}`);
      case 'abandon':
      case 'unbind':
        return [];
      case 'unknown':
        throw new LdapFailure(RESULT.protocolError, `Unsupported protocol operation 0x${request.tag.toString(16)}`);
    }
  } catch (error) {
    if (error instanceof LdapFailure) return [encodeResult(messageId, tag, error.code, error.message, error.matchedDn)];
    return [encodeResult(messageId, tag, RESULT.operationsError, error instanceof Error ? error.message : 'internal error')];
  }
}
