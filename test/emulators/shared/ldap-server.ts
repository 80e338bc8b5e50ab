/**
 * The LDAP listener both emulators (../pingdirectory, ../opendj) serve with: one emulated server shared by every
 * connection, each connection with its own bind state, requests answered in the order they arrive. What differs
 * between the emulators (the server's rules, which controls it understands) comes in as arguments.
 */
import * as net from 'node:net';
import {
  decodeMessage,
  encodeResult,
  encodeSearchEntry,
  PASSWORD_POLICY_OID,
  passwordPolicyErrorControl,
  RESPONSE_TAG,
  splitMessages,
  type Envelope,
} from '../pingdirectory/protocol.js';
import type { Attribute, Filter, Modification } from '../pingdirectory/protocol.js';
import { LdapFailure, RESULT } from './entries.js';

export interface RunningEmulator {
  readonly host: '127.0.0.1';
  readonly port: number;
  close(): Promise<void>;
}

export interface Session {
  /** Normalized DN of the bound entry; undefined when anonymous. */
  boundDn: string | undefined;
}

/** The operations an emulated server answers; each throws LdapFailure to answer with a result code. */
export interface EmulatedDirectory {
  bind(session: Session, dn: string, password: string | undefined): void;
  search(
    session: Session,
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: Filter,
    requested: readonly string[],
    controls: readonly string[],
  ): readonly { readonly dn: string; readonly attributes: Attribute[] }[];
  add(session: Session, dn: string, attributes: readonly Attribute[]): void;
  modify(session: Session, dn: string, modifications: readonly Modification[]): void;
  delete(session: Session, dn: string): void;
}

export interface AnswerRules {
  /** Request controls the emulator understands; any other critical one is refused (12). */
  readonly knownControls: ReadonlySet<string>;
  /** The diagnostic message of the protocol error answering an extended operation. */
  readonly refuseExtended: (oid: string) => string;
}

export async function listenLdap(
  port: number,
  server: EmulatedDirectory,
  rules: AnswerRules,
): Promise<RunningEmulator> {
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(socket, server, rules);
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        listener.close(() => resolve());
      }),
  };
}

function serveConnection(socket: net.Socket, server: EmulatedDirectory, rules: AnswerRules): void {
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
        for (const response of answer(server, rules, session, envelope)) socket.write(response);
      }
    } catch {
      // A message the emulator cannot decode: a real server ends such a connection too.
      socket.destroy();
    }
  });
}

function answer(server: EmulatedDirectory, rules: AnswerRules, session: Session, envelope: Envelope): Buffer[] {
  const { messageId, request } = envelope;
  const tagFor: Record<string, number> = {
    bind: RESPONSE_TAG.bind,
    search: RESPONSE_TAG.search,
    add: RESPONSE_TAG.add,
    modify: RESPONSE_TAG.modify,
    delete: RESPONSE_TAG.delete,
    modifyDn: RESPONSE_TAG.modifyDn,
    compare: RESPONSE_TAG.compare,
    extended: RESPONSE_TAG.extended,
  };
  const tag = tagFor[request.op] ?? RESPONSE_TAG.extended;
  try {
    const critical = envelope.controls.find((control) => control.critical && !rules.knownControls.has(control.oid));
    if (critical !== undefined) {
      throw new LdapFailure(
        RESULT.unavailableCriticalExtension,
        `The emulator does not support the critical control ${critical.oid}`,
      );
    }
    switch (request.op) {
      case 'bind':
        server.bind(session, request.dn, request.password);
        return [encodeResult(messageId, tag, RESULT.success)];
      case 'search': {
        const controls = envelope.controls.map((control) => control.oid);
        const entries = server.search(
          session,
          request.base,
          request.scope,
          request.filter,
          request.attributes,
          controls,
        );
        return [
          ...entries.map((entry) => encodeSearchEntry(messageId, entry.dn, entry.attributes, request.typesOnly)),
          encodeResult(messageId, tag, RESULT.success),
        ];
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
        throw new LdapFailure(RESULT.protocolError, rules.refuseExtended(request.oid));
      case 'abandon':
      case 'unbind':
        return [];
      case 'unknown':
        throw new LdapFailure(RESULT.protocolError, `Unsupported protocol operation 0x${request.tag.toString(16)}`);
    }
  } catch (error) {
    if (error instanceof LdapFailure) {
      const asked = envelope.controls.some((control) => control.oid === PASSWORD_POLICY_OID);
      const controls =
        asked && error.passwordPolicyError !== undefined ? [passwordPolicyErrorControl(error.passwordPolicyError)] : [];
      return [encodeResult(messageId, tag, error.code, error.message, error.matchedDn, controls)];
    }
    return [
      encodeResult(messageId, tag, RESULT.operationsError, error instanceof Error ? error.message : 'internal error'),
    ];
  }
}
