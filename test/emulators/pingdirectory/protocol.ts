/**
 * LDAPv3 on the wire (RFC 4511), the few operations the emulator serves. The BER codec is ldapts's
 * BerReader/BerWriter (the project's maintained LDAP dependency); the request and filter decoding is our own,
 * since ldapts decodes only responses reliably (it is a client).
 */
import { BerReader, BerWriter } from 'ldapts';

export type Filter =
  | { readonly kind: 'and' | 'or'; readonly filters: readonly Filter[] }
  | { readonly kind: 'not'; readonly filter: Filter }
  | {
      readonly kind: 'equal' | 'greaterOrEqual' | 'lessOrEqual' | 'approx';
      readonly attribute: string;
      readonly value: string;
    }
  | { readonly kind: 'present'; readonly attribute: string }
  | {
      readonly kind: 'substrings';
      readonly attribute: string;
      readonly initial?: string;
      readonly any: readonly string[];
      readonly final?: string;
    }
  | { readonly kind: 'unsupported' };

export interface Attribute {
  readonly name: string;
  readonly values: readonly string[];
}

export interface Modification {
  readonly operation: 'add' | 'delete' | 'replace';
  readonly attribute: Attribute;
}

export interface Control {
  readonly oid: string;
  readonly critical: boolean;
}

export type Request =
  | { readonly op: 'bind'; readonly dn: string; readonly password: string | undefined }
  | { readonly op: 'unbind' }
  | {
      readonly op: 'search';
      readonly base: string;
      readonly scope: 'base' | 'one' | 'sub';
      readonly filter: Filter;
      readonly attributes: readonly string[];
      readonly typesOnly: boolean;
    }
  | { readonly op: 'add'; readonly dn: string; readonly attributes: readonly Attribute[] }
  | { readonly op: 'modify'; readonly dn: string; readonly modifications: readonly Modification[] }
  | { readonly op: 'delete'; readonly dn: string }
  | { readonly op: 'modifyDn'; readonly dn: string }
  | { readonly op: 'compare'; readonly dn: string; readonly attribute: string; readonly value: string }
  | { readonly op: 'extended'; readonly oid: string }
  | { readonly op: 'abandon' }
  | { readonly op: 'unknown'; readonly tag: number };

export interface Envelope {
  readonly messageId: number;
  readonly request: Request;
  readonly controls: readonly Control[];
}

/** Response protocol-op tags (APPLICATION n), by the request they answer. */
export const RESPONSE_TAG = {
  bind: 0x61,
  search: 0x65,
  searchEntry: 0x64,
  modify: 0x67,
  add: 0x69,
  delete: 0x6b,
  modifyDn: 0x6d,
  compare: 0x6f,
  extended: 0x78,
} as const;

export class ProtocolFailure extends Error {}

/**
 * Splits complete LDAPMessages off the front of `buffer`. Returns the messages and what is left over (a
 * partial message waiting for more bytes).
 */
export function splitMessages(buffer: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let rest = buffer;
  while (rest.length > 0) {
    const reader = new BerReader(rest);
    if (reader.peek() !== 0x30) throw new ProtocolFailure('an LDAPMessage must be a SEQUENCE');
    if (reader.readSequence(0x30) === null) break;
    const end = reader.offset + reader.length;
    if (end > rest.length) break;
    messages.push(rest.subarray(0, end));
    rest = rest.subarray(end);
  }
  return { messages, rest };
}

function need<T>(value: T | null, what: string): T {
  if (value === null) throw new ProtocolFailure(`truncated ${what}`);
  return value;
}

function readText(reader: BerReader, what: string, tag?: number): string {
  return need(reader.readString(tag), what);
}

/** The raw contents of a primitive element whose tag and length `readSequence` just read. */
function readPrimitiveContents(reader: BerReader): string {
  const start = reader.offset;
  const value = reader.buffer.subarray(start, start + reader.length).toString('utf8');
  reader.offset = start + reader.length;
  return value;
}

function readFilter(reader: BerReader): Filter {
  const tag = need(reader.readSequence(), 'filter');
  const end = reader.offset + reader.length;
  switch (tag) {
    case 0xa0:
    case 0xa1: {
      const filters: Filter[] = [];
      while (reader.offset < end) filters.push(readFilter(reader));
      return { kind: tag === 0xa0 ? 'and' : 'or', filters };
    }
    case 0xa2:
      return { kind: 'not', filter: readFilter(reader) };
    case 0xa3:
    case 0xa5:
    case 0xa6:
    case 0xa8: {
      const attribute = readText(reader, 'filter attribute');
      const value = readText(reader, 'filter value');
      const kind = tag === 0xa3 ? 'equal' : tag === 0xa5 ? 'greaterOrEqual' : tag === 0xa6 ? 'lessOrEqual' : 'approx';
      return { kind, attribute, value };
    }
    case 0xa4: {
      const attribute = readText(reader, 'substring attribute');
      need(reader.readSequence(0x30), 'substrings');
      const partsEnd = reader.offset + reader.length;
      let initial: string | undefined;
      let final: string | undefined;
      const any: string[] = [];
      while (reader.offset < partsEnd) {
        const partTag = reader.peek();
        const value = readText(reader, 'substring', partTag ?? 0x80);
        if (partTag === 0x80) initial = value;
        else if (partTag === 0x81) any.push(value);
        else final = value;
      }
      return {
        kind: 'substrings',
        attribute,
        any,
        ...(initial === undefined ? {} : { initial }),
        ...(final === undefined ? {} : { final }),
      };
    }
    case 0x87:
      return { kind: 'present', attribute: readPrimitiveContents(reader) };
    default:
      reader.offset = end;
      return { kind: 'unsupported' };
  }
}

function readAttribute(reader: BerReader): Attribute {
  need(reader.readSequence(0x30), 'attribute');
  const name = readText(reader, 'attribute type');
  need(reader.readSequence(0x31), 'attribute values');
  const end = reader.offset + reader.length;
  const values: string[] = [];
  while (reader.offset < end) values.push(readText(reader, 'attribute value'));
  return { name, values };
}

const SCOPES = ['base', 'one', 'sub'] as const;
const OPERATIONS = ['add', 'delete', 'replace'] as const;

function readRequest(reader: BerReader): Request {
  const tag = need(reader.readSequence(), 'protocol operation');
  const end = reader.offset + reader.length;
  switch (tag) {
    case 0x60: {
      need(reader.readInt(), 'bind version');
      const dn = readText(reader, 'bind DN');
      // Simple authentication is [0]; anything else (SASL is [3]) has no password the emulator understands.
      const password = reader.peek() === 0x80 ? readText(reader, 'password', 0x80) : undefined;
      reader.offset = end;
      return { op: 'bind', dn, password };
    }
    case 0x42:
      reader.offset = end;
      return { op: 'unbind' };
    case 0x63: {
      const base = readText(reader, 'search base');
      const scope = SCOPES[need(reader.readEnumeration(), 'scope')];
      if (scope === undefined) throw new ProtocolFailure('search scope out of range');
      need(reader.readEnumeration(), 'derefAliases');
      need(reader.readInt(), 'sizeLimit');
      need(reader.readInt(), 'timeLimit');
      const typesOnly = need(reader.readBoolean(), 'typesOnly');
      const filter = readFilter(reader);
      const attributes: string[] = [];
      need(reader.readSequence(0x30), 'attribute list');
      const listEnd = reader.offset + reader.length;
      while (reader.offset < listEnd) attributes.push(readText(reader, 'attribute name'));
      return { op: 'search', base, scope, filter, attributes, typesOnly };
    }
    case 0x68: {
      const dn = readText(reader, 'entry DN');
      need(reader.readSequence(0x30), 'attribute list');
      const listEnd = reader.offset + reader.length;
      const attributes: Attribute[] = [];
      while (reader.offset < listEnd) attributes.push(readAttribute(reader));
      return { op: 'add', dn, attributes };
    }
    case 0x66: {
      const dn = readText(reader, 'entry DN');
      need(reader.readSequence(0x30), 'changes');
      const listEnd = reader.offset + reader.length;
      const modifications: Modification[] = [];
      while (reader.offset < listEnd) {
        need(reader.readSequence(0x30), 'change');
        const operation = OPERATIONS[need(reader.readEnumeration(), 'operation')];
        if (operation === undefined) throw new ProtocolFailure('unknown modify operation');
        modifications.push({ operation, attribute: readAttribute(reader) });
      }
      return { op: 'modify', dn, modifications };
    }
    case 0x4a:
      return { op: 'delete', dn: readPrimitiveContents(reader) };
    case 0x6c: {
      const dn = readText(reader, 'entry DN');
      reader.offset = end;
      return { op: 'modifyDn', dn };
    }
    case 0x6e: {
      const dn = readText(reader, 'entry DN');
      need(reader.readSequence(0x30), 'assertion');
      const attribute = readText(reader, 'attribute');
      const value = readText(reader, 'value');
      return { op: 'compare', dn, attribute, value };
    }
    case 0x77: {
      const oid = readText(reader, 'extended request name', 0x80);
      reader.offset = end;
      return { op: 'extended', oid };
    }
    case 0x50:
      reader.offset = end;
      return { op: 'abandon' };
    default:
      reader.offset = end;
      return { op: 'unknown', tag };
  }
}

function readControls(reader: BerReader): Control[] {
  if (reader.peek() !== 0xa0) return [];
  need(reader.readSequence(0xa0), 'controls');
  const end = reader.offset + reader.length;
  const controls: Control[] = [];
  while (reader.offset < end) {
    need(reader.readSequence(0x30), 'control');
    const controlEnd = reader.offset + reader.length;
    const oid = readText(reader, 'control type');
    const critical =
      reader.offset < controlEnd && reader.peek() === 0x01 ? need(reader.readBoolean(), 'criticality') : false;
    reader.offset = controlEnd;
    controls.push({ oid, critical });
  }
  return controls;
}

/** Decodes one complete LDAPMessage (as split off by splitMessages). */
export function decodeMessage(message: Buffer): Envelope {
  const reader = new BerReader(message);
  need(reader.readSequence(0x30), 'LDAPMessage');
  const messageId = need(reader.readInt(), 'messageID');
  const request = readRequest(reader);
  return { messageId, request, controls: readControls(reader) };
}

/** The password policy response control (draft-behera 6.2). */
export const PASSWORD_POLICY_OID = '1.3.6.1.4.1.42.2.27.8.5.1';

export interface ResponseControl {
  readonly oid: string;
  readonly value: Buffer;
}

/** A PasswordPolicyResponseValue carrying only an error: SEQUENCE { error [1] ENUMERATED }. */
export function passwordPolicyErrorControl(error: number): ResponseControl {
  return { oid: PASSWORD_POLICY_OID, value: Buffer.from([0x30, 0x03, 0x81, 0x01, error]) };
}

export function encodeResult(
  messageId: number,
  tag: number,
  code: number,
  diagnostic = '',
  matchedDn = '',
  controls: readonly ResponseControl[] = [],
): Buffer {
  const writer = new BerWriter();
  writer.startSequence();
  writer.writeInt(messageId);
  writer.startSequence(tag);
  writer.writeEnumeration(code);
  writer.writeString(matchedDn);
  writer.writeString(diagnostic);
  writer.endSequence();
  if (controls.length > 0) {
    writer.startSequence(0xa0);
    for (const control of controls) {
      writer.startSequence();
      writer.writeString(control.oid);
      writer.writeBuffer(control.value, 0x04);
      writer.endSequence();
    }
    writer.endSequence();
  }
  writer.endSequence();
  return writer.buffer;
}

export function encodeSearchEntry(
  messageId: number,
  dn: string,
  attributes: readonly Attribute[],
  typesOnly: boolean,
): Buffer {
  const writer = new BerWriter();
  writer.startSequence();
  writer.writeInt(messageId);
  writer.startSequence(RESPONSE_TAG.searchEntry);
  writer.writeString(dn);
  writer.startSequence();
  for (const attribute of attributes) {
    writer.startSequence();
    writer.writeString(attribute.name);
    writer.startSequence(0x31);
    if (!typesOnly) for (const value of attribute.values) writer.writeString(value);
    writer.endSequence();
    writer.endSequence();
  }
  writer.endSequence();
  writer.endSequence();
  writer.endSequence();
  return writer.buffer;
}
