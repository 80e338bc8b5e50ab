/**
 * Windows security descriptors and SIDs in their binary, self-relative form (MS-DTYP 2.4.2 SID, 2.4.4 ACEs,
 * 2.4.5 ACL, 2.4.6 SECURITY_DESCRIPTOR), as Active Directory stores them in `nTSecurityDescriptor` and
 * `objectSid`. Pure: bytes in, plain objects out, and back. ACE kinds this module does not model (callback and
 * resource ACEs) are kept as their raw bytes, so a descriptor always re-encodes to what it said.
 */

/** SECURITY_DESCRIPTOR control bits this tool uses (MS-DTYP 2.4.6). */
export const SeControl = {
  OWNER_DEFAULTED: 0x0001,
  GROUP_DEFAULTED: 0x0002,
  DACL_PRESENT: 0x0004,
  DACL_DEFAULTED: 0x0008,
  SACL_PRESENT: 0x0010,
  SACL_DEFAULTED: 0x0020,
  DACL_AUTO_INHERITED: 0x0400,
  SACL_AUTO_INHERITED: 0x0800,
  DACL_PROTECTED: 0x1000,
  SACL_PROTECTED: 0x2000,
  SELF_RELATIVE: 0x8000,
} as const;

export const AceType = {
  ACCESS_ALLOWED: 0x00,
  ACCESS_DENIED: 0x01,
  SYSTEM_AUDIT: 0x02,
  ACCESS_ALLOWED_OBJECT: 0x05,
  ACCESS_DENIED_OBJECT: 0x06,
  SYSTEM_AUDIT_OBJECT: 0x07,
} as const;

export const AceFlags = {
  OBJECT_INHERIT: 0x01,
  CONTAINER_INHERIT: 0x02,
  NO_PROPAGATE_INHERIT: 0x04,
  INHERIT_ONLY: 0x08,
  INHERITED: 0x10,
  SUCCESSFUL_ACCESS: 0x40,
  FAILED_ACCESS: 0x80,
} as const;

/** Directory service access rights (MS-ADTS 5.1.3.2) and the standard rights. */
export const AccessMask = {
  CREATE_CHILD: 0x00000001,
  DELETE_CHILD: 0x00000002,
  LIST_CHILDREN: 0x00000004,
  SELF_WRITE: 0x00000008,
  READ_PROPERTY: 0x00000010,
  WRITE_PROPERTY: 0x00000020,
  DELETE_TREE: 0x00000040,
  LIST_OBJECT: 0x00000080,
  CONTROL_ACCESS: 0x00000100,
  DELETE: 0x00010000,
  READ_CONTROL: 0x00020000,
  WRITE_DAC: 0x00040000,
  WRITE_OWNER: 0x00080000,
} as const;

/** Object ACE flags: which GUIDs follow the mask. */
const ACE_OBJECT_TYPE_PRESENT = 0x1;
const ACE_INHERITED_OBJECT_TYPE_PRESENT = 0x2;

/** SD flags control values (LDAP_SERVER_SD_FLAGS_OID): which parts of a descriptor are read or written. */
export const SecurityInformation = {
  OWNER: 0x1,
  GROUP: 0x2,
  DACL: 0x4,
  SACL: 0x8,
} as const;

export interface Ace {
  readonly type: number;
  readonly flags: number;
  readonly mask: number;
  /** `S-1-5-21-...` */
  readonly sid: string;
  /** Object ACEs: the property, property set, extended right or child class, lower-case GUID string. */
  readonly objectType?: string;
  /** Object ACEs: the class of object that inherits the ACE. */
  readonly inheritedObjectType?: string;
  /** Bytes after the SID inside the ACE (application data, padding), kept as they were. */
  readonly trailer?: Uint8Array;
  /** An ACE kind this module does not model: its whole encoding, unchanged. */
  readonly raw?: Uint8Array;
}

export interface Acl {
  readonly revision: number;
  readonly aces: readonly Ace[];
}

export interface SecurityDescriptor {
  readonly revision: number;
  readonly control: number;
  readonly owner?: string;
  readonly group?: string;
  readonly sacl?: Acl;
  readonly dacl?: Acl;
}

export class DescriptorFormatError extends Error {
  public override readonly name = 'DescriptorFormatError';
}

function fail(message: string): never {
  throw new DescriptorFormatError(message);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---- SIDs -----------------------------------------------------------------------------------------------

const SID_PATTERN = /^S-1-(\d+)((?:-\d+)*)$/i;

/** The binary SID at `offset`, and its length in bytes. */
function readSid(bytes: Uint8Array, offset: number): { sid: string; length: number } {
  if (offset + 8 > bytes.length) fail(`SID at ${offset} runs past the end (${bytes.length} bytes)`);
  const dv = view(bytes);
  const revision = dv.getUint8(offset);
  const count = dv.getUint8(offset + 1);
  if (revision !== 1) fail(`SID at ${offset} has revision ${revision}, not 1`);
  if (count > 15) fail(`SID at ${offset} claims ${count} sub-authorities (at most 15)`);
  const length = 8 + 4 * count;
  if (offset + length > bytes.length) fail(`SID at ${offset} runs past the end`);
  let authority = 0;
  for (let i = 0; i < 6; i++) authority = authority * 256 + dv.getUint8(offset + 2 + i);
  const parts = [`S-1-${authority}`];
  for (let i = 0; i < count; i++) parts.push(String(dv.getUint32(offset + 8 + 4 * i, true)));
  return { sid: parts.join('-'), length };
}

export function decodeSid(bytes: Uint8Array): string {
  const { sid, length } = readSid(bytes, 0);
  if (length !== bytes.length) fail(`SID is ${length} bytes but the value has ${bytes.length}`);
  return sid;
}

export function encodeSid(sid: string): Uint8Array {
  const match = SID_PATTERN.exec(sid.trim());
  if (match === null) fail(`'${sid}' is not a SID (S-1-<authority>-<sub>...)`);
  const authority = Number(match[1]);
  const subs = (match[2] ?? '')
    .split('-')
    .filter((s) => s !== '')
    .map(Number);
  if (!Number.isSafeInteger(authority) || authority >= 2 ** 48) fail(`SID authority ${match[1]} is out of range`);
  if (subs.length > 15) fail(`SID '${sid}' has more than 15 sub-authorities`);
  const bytes = new Uint8Array(8 + 4 * subs.length);
  bytes[0] = 1;
  bytes[1] = subs.length;
  let rest = authority;
  for (let i = 5; i >= 0; i--) {
    bytes[2 + i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  const dv = view(bytes);
  subs.forEach((sub, i) => {
    if (!Number.isInteger(sub) || sub < 0 || sub > 0xffffffff) fail(`SID sub-authority ${sub} is out of range`);
    dv.setUint32(8 + 4 * i, sub, true);
  });
  return bytes;
}

/** SIDs compare by value; `S-1-5-32-544` and `s-1-5-32-544` are the same. */
export function sameSid(a: string, b: string): boolean {
  return a.toUpperCase() === b.toUpperCase();
}

// ---- GUIDs (mixed-endian: the first three fields little-endian) -------------------------------------------

const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function hex(bytes: Uint8Array, from: number, to: number, reverse: boolean): string {
  const slice = Array.from(bytes.subarray(from, to));
  if (reverse) slice.reverse();
  return slice.map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function decodeGuid(bytes: Uint8Array, offset = 0): string {
  if (offset + 16 > bytes.length) fail(`GUID at ${offset} runs past the end`);
  const b = bytes.subarray(offset, offset + 16);
  return `${hex(b, 0, 4, true)}-${hex(b, 4, 6, true)}-${hex(b, 6, 8, true)}-${hex(b, 8, 10, false)}-${hex(b, 10, 16, false)}`;
}

export function encodeGuid(guid: string): Uint8Array {
  if (!GUID_PATTERN.test(guid)) fail(`'${guid}' is not a GUID`);
  const digits = guid.replace(/-/g, '');
  const raw = Array.from({ length: 16 }, (_, i) => parseInt(digits.slice(2 * i, 2 * i + 2), 16));
  return Uint8Array.from([
    ...raw.slice(0, 4).reverse(),
    ...raw.slice(4, 6).reverse(),
    ...raw.slice(6, 8).reverse(),
    ...raw.slice(8),
  ]);
}

// ---- ACEs and ACLs ---------------------------------------------------------------------------------------

function isObjectAce(type: number): boolean {
  return (
    type === AceType.ACCESS_ALLOWED_OBJECT ||
    type === AceType.ACCESS_DENIED_OBJECT ||
    type === AceType.SYSTEM_AUDIT_OBJECT ||
    type === 0x08
  );
}

function isBasicAce(type: number): boolean {
  return (
    type === AceType.ACCESS_ALLOWED || type === AceType.ACCESS_DENIED || type === AceType.SYSTEM_AUDIT || type === 0x03
  );
}

function readAce(bytes: Uint8Array, offset: number): { ace: Ace; size: number } {
  if (offset + 4 > bytes.length) fail(`ACE at ${offset} runs past the end`);
  const dv = view(bytes);
  const type = dv.getUint8(offset);
  const flags = dv.getUint8(offset + 1);
  const size = dv.getUint16(offset + 2, true);
  if (size < 4 || offset + size > bytes.length) fail(`ACE at ${offset} has an impossible size ${size}`);
  const end = offset + size;
  if (!isBasicAce(type) && !isObjectAce(type)) {
    return {
      ace: {
        type,
        flags,
        mask: size >= 8 ? dv.getUint32(offset + 4, true) : 0,
        sid: '',
        raw: bytes.slice(offset, end),
      },
      size,
    };
  }
  if (size < 8) fail(`ACE at ${offset} is too short for an access mask`);
  const mask = dv.getUint32(offset + 4, true);
  let at = offset + 8;
  let objectType: string | undefined;
  let inheritedObjectType: string | undefined;
  if (isObjectAce(type)) {
    if (at + 4 > end) fail(`object ACE at ${offset} has no flags`);
    const objectFlags = dv.getUint32(at, true);
    at += 4;
    if ((objectFlags & ACE_OBJECT_TYPE_PRESENT) !== 0) {
      if (at + 16 > end) fail(`object ACE at ${offset} is too short for its object type`);
      objectType = decodeGuid(bytes, at);
      at += 16;
    }
    if ((objectFlags & ACE_INHERITED_OBJECT_TYPE_PRESENT) !== 0) {
      if (at + 16 > end) fail(`object ACE at ${offset} is too short for its inherited object type`);
      inheritedObjectType = decodeGuid(bytes, at);
      at += 16;
    }
  }
  const { sid, length } = readSid(bytes.subarray(0, end), at);
  at += length;
  const ace: Ace = {
    type,
    flags,
    mask,
    sid,
    ...(objectType === undefined ? {} : { objectType }),
    ...(inheritedObjectType === undefined ? {} : { inheritedObjectType }),
    ...(at < end ? { trailer: bytes.slice(at, end) } : {}),
  };
  return { ace, size };
}

export function encodeAce(ace: Ace): Uint8Array {
  if (ace.raw !== undefined) return Uint8Array.from(ace.raw);
  const sid = encodeSid(ace.sid);
  const object = isObjectAce(ace.type);
  if (!object && (ace.objectType !== undefined || ace.inheritedObjectType !== undefined)) {
    fail(`ACE type ${ace.type} cannot carry object types`);
  }
  const guids = [ace.objectType, ace.inheritedObjectType].filter((g): g is string => g !== undefined).map(encodeGuid);
  const trailer = ace.trailer ?? new Uint8Array(0);
  const size = 8 + (object ? 4 : 0) + 16 * guids.length + sid.length + trailer.length;
  if (size > 0xffff) fail('ACE too large');
  const bytes = new Uint8Array(size);
  const dv = view(bytes);
  bytes[0] = ace.type;
  bytes[1] = ace.flags;
  dv.setUint16(2, size, true);
  dv.setUint32(4, ace.mask >>> 0, true);
  let at = 8;
  if (object) {
    dv.setUint32(
      at,
      (ace.objectType === undefined ? 0 : ACE_OBJECT_TYPE_PRESENT) |
        (ace.inheritedObjectType === undefined ? 0 : ACE_INHERITED_OBJECT_TYPE_PRESENT),
      true,
    );
    at += 4;
    for (const guid of guids) {
      bytes.set(guid, at);
      at += 16;
    }
  }
  bytes.set(sid, at);
  bytes.set(trailer, at + sid.length);
  return bytes;
}

function readAcl(bytes: Uint8Array, offset: number): Acl {
  if (offset + 8 > bytes.length) fail(`ACL at ${offset} runs past the end`);
  const dv = view(bytes);
  const revision = dv.getUint8(offset);
  const size = dv.getUint16(offset + 2, true);
  const count = dv.getUint16(offset + 4, true);
  if (size < 8 || offset + size > bytes.length) fail(`ACL at ${offset} has an impossible size ${size}`);
  const end = offset + size;
  const aces: Ace[] = [];
  let at = offset + 8;
  for (let i = 0; i < count; i++) {
    const { ace, size: aceSize } = readAce(bytes.subarray(0, end), at);
    aces.push(ace);
    at += aceSize;
  }
  return { revision, aces };
}

export function encodeAcl(acl: Acl): Uint8Array {
  const aces = acl.aces.map(encodeAce);
  const size = 8 + aces.reduce((sum, ace) => sum + ace.length, 0);
  if (size > 0xffff) fail(`ACL too large (${size} bytes)`);
  const bytes = new Uint8Array(size);
  const dv = view(bytes);
  bytes[0] = acl.revision;
  dv.setUint16(2, size, true);
  dv.setUint16(4, aces.length, true);
  let at = 8;
  for (const ace of aces) {
    bytes.set(ace, at);
    at += ace.length;
  }
  return bytes;
}

// ---- Security descriptors ---------------------------------------------------------------------------------

export function decodeSecurityDescriptor(bytes: Uint8Array): SecurityDescriptor {
  if (bytes.length < 20) fail(`a security descriptor has at least 20 bytes, this one ${bytes.length}`);
  const dv = view(bytes);
  const revision = dv.getUint8(0);
  if (revision !== 1) fail(`security descriptor revision ${revision}, not 1`);
  const control = dv.getUint16(2, true);
  if ((control & SeControl.SELF_RELATIVE) === 0) fail('the security descriptor is not self-relative');
  const [ownerAt, groupAt, saclAt, daclAt] = [4, 8, 12, 16].map((o) => dv.getUint32(o, true)) as [
    number,
    number,
    number,
    number,
  ];
  return {
    revision,
    control,
    ...(ownerAt === 0 ? {} : { owner: readSid(bytes, ownerAt).sid }),
    ...(groupAt === 0 ? {} : { group: readSid(bytes, groupAt).sid }),
    ...(saclAt === 0 || (control & SeControl.SACL_PRESENT) === 0 ? {} : { sacl: readAcl(bytes, saclAt) }),
    ...(daclAt === 0 || (control & SeControl.DACL_PRESENT) === 0 ? {} : { dacl: readAcl(bytes, daclAt) }),
  };
}

/**
 * Self-relative encoding in the order Windows and Samba write it: header, owner, group, SACL, DACL.
 * The PRESENT control bits follow the ACLs given.
 */
export function encodeSecurityDescriptor(sd: SecurityDescriptor): Uint8Array {
  const parts: Array<{ at: 4 | 8 | 12 | 16; bytes: Uint8Array }> = [];
  if (sd.owner !== undefined) parts.push({ at: 4, bytes: encodeSid(sd.owner) });
  if (sd.group !== undefined) parts.push({ at: 8, bytes: encodeSid(sd.group) });
  if (sd.sacl !== undefined) parts.push({ at: 12, bytes: encodeAcl(sd.sacl) });
  if (sd.dacl !== undefined) parts.push({ at: 16, bytes: encodeAcl(sd.dacl) });
  let control = sd.control | SeControl.SELF_RELATIVE;
  control = sd.dacl === undefined ? control & ~SeControl.DACL_PRESENT : control | SeControl.DACL_PRESENT;
  control = sd.sacl === undefined ? control & ~SeControl.SACL_PRESENT : control | SeControl.SACL_PRESENT;
  const size = 20 + parts.reduce((sum, p) => sum + p.bytes.length, 0);
  const bytes = new Uint8Array(size);
  const dv = view(bytes);
  bytes[0] = sd.revision;
  dv.setUint16(2, control, true);
  let at = 20;
  for (const part of parts) {
    dv.setUint32(part.at, at, true);
    bytes.set(part.bytes, at);
    at += part.bytes.length;
  }
  return bytes;
}

// ---- What the tool does with them --------------------------------------------------------------------------

/** Whether `ace` grants at least what `wanted` asks, to the same trustee, object types and inheritance. */
export function aceCovers(ace: Ace, wanted: Ace): boolean {
  if (ace.raw !== undefined) return false;
  return (
    ace.type === wanted.type &&
    sameSid(ace.sid, wanted.sid) &&
    (ace.mask & wanted.mask) >>> 0 === wanted.mask >>> 0 &&
    (ace.objectType ?? '').toLowerCase() === (wanted.objectType ?? '').toLowerCase() &&
    (ace.inheritedObjectType ?? '').toLowerCase() === (wanted.inheritedObjectType ?? '').toLowerCase() &&
    // Explicit, with (at least) the wanted inheritance; an inherited copy may vanish with its parent's ACE.
    (ace.flags & AceFlags.INHERITED) === 0 &&
    (ace.flags & wanted.flags & 0x0f) === (wanted.flags & 0x0f) &&
    (ace.flags & AceFlags.INHERIT_ONLY) === (wanted.flags & AceFlags.INHERIT_ONLY)
  );
}

export function findAce(acl: Acl | undefined, wanted: Ace): Ace | undefined {
  return acl?.aces.find((ace) => aceCovers(ace, wanted));
}

/**
 * The ACL with `ace` added among the explicit ACEs, in canonical order: explicit denies, explicit allows,
 * then the inherited ACEs (which the server recomputes anyway). An allow goes after the last explicit ACE.
 */
export function withAce(acl: Acl | undefined, ace: Ace): Acl {
  const aces = [...(acl?.aces ?? [])];
  const denied = ace.type === AceType.ACCESS_DENIED || ace.type === AceType.ACCESS_DENIED_OBJECT;
  let index = aces.findIndex((a) => (a.flags & AceFlags.INHERITED) !== 0);
  if (index < 0) index = aces.length;
  if (denied) {
    const firstAllow = aces.findIndex(
      (a) =>
        (a.flags & AceFlags.INHERITED) === 0 &&
        a.type !== AceType.ACCESS_DENIED &&
        a.type !== AceType.ACCESS_DENIED_OBJECT,
    );
    if (firstAllow >= 0 && firstAllow < index) index = firstAllow;
  }
  aces.splice(index, 0, ace);
  return { revision: Math.max(acl?.revision ?? 2, ace.type >= AceType.ACCESS_ALLOWED_OBJECT ? 4 : 2), aces };
}

/** The ACL without the explicit ACEs `remove` picks; undefined when nothing matched. */
export function withoutAces(acl: Acl | undefined, remove: (ace: Ace) => boolean): Acl | undefined {
  if (acl === undefined) return undefined;
  const kept = acl.aces.filter(
    (ace) => ace.raw !== undefined || (ace.flags & AceFlags.INHERITED) !== 0 || !remove(ace),
  );
  return kept.length === acl.aces.length ? undefined : { revision: acl.revision, aces: kept };
}

/** A short form for the console and the log: `allow CONTROL_ACCESS 1131f6aa-... to S-1-5-21-...-1105`. */
export function describeAce(ace: Ace): string {
  const kind =
    ace.type === AceType.ACCESS_ALLOWED || ace.type === AceType.ACCESS_ALLOWED_OBJECT
      ? 'allow'
      : ace.type === AceType.ACCESS_DENIED || ace.type === AceType.ACCESS_DENIED_OBJECT
        ? 'deny'
        : `type ${ace.type}`;
  const rights =
    Object.entries(AccessMask)
      .filter(([, bit]) => (ace.mask & bit) !== 0)
      .map(([name]) => name)
      .join('|') || `0x${ace.mask.toString(16)}`;
  const object = ace.objectType === undefined ? '' : ` on ${ace.objectType}`;
  const inherit = (ace.flags & AceFlags.CONTAINER_INHERIT) !== 0 ? ', inherited by children' : '';
  return `${kind} ${rights}${object} to ${ace.sid}${inherit}`;
}
