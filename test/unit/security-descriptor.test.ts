// SIDs and self-relative security descriptors, checked against values read from a real Samba AD DC
// (test/fixtures/samba-ad/descriptors.json, made by make-fixtures.sh beside it) and against what Samba's own
// NDR decoder said those bytes contain.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { repoRoot } from '../helpers/cli.js';
import {
  AccessMask,
  AceFlags,
  AceType,
  aceCovers,
  decodeGuid,
  decodeSecurityDescriptor,
  decodeSid,
  DescriptorFormatError,
  encodeAce,
  encodeGuid,
  encodeSecurityDescriptor,
  encodeSid,
  findAce,
  withAce,
  withoutAces,
  type Ace,
  type SecurityDescriptor,
} from '../../src/servers/ad/security-descriptor.js';

interface OracleAce {
  type: number;
  flags: number;
  mask: number;
  sid: string;
  objectType: string | null;
  inheritedObjectType: string | null;
}
interface OracleAcl {
  revision: number;
  aces: OracleAce[];
}
interface Fixture {
  dn: string;
  sdFlags: number;
  base64: string;
  sddl: string;
  control: number;
  owner: string | null;
  group: string | null;
  dacl: OracleAcl | null;
  sacl: OracleAcl | null;
}
const fixtures = JSON.parse(
  readFileSync(path.join(repoRoot, 'test', 'fixtures', 'samba-ad', 'descriptors.json'), 'utf8'),
) as {
  descriptors: Fixture[];
  sids: Array<{ base64: string; sid: string }>;
};

const REPLICATING_DIRECTORY_CHANGES = '1131f6aa-9c07-11d1-f79f-00c04fc2dcd2';
const USER_SID = 'S-1-5-21-2279243221-4096599812-3722786622-1105';

function bytes(base64: string): Uint8Array {
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

function compareAcl(actual: SecurityDescriptor['dacl'], expected: OracleAcl | null, what: string): void {
  if (expected === null) {
    assert.equal(actual, undefined, `${what}: absent`);
    return;
  }
  assert.ok(actual !== undefined, `${what}: present`);
  assert.equal(actual.revision, expected.revision, `${what}: revision`);
  assert.equal(actual.aces.length, expected.aces.length, `${what}: ACE count`);
  actual.aces.forEach((ace, i) => {
    const want = expected.aces[i]!;
    assert.deepEqual(
      {
        type: ace.type,
        flags: ace.flags,
        mask: ace.mask,
        sid: ace.sid,
        objectType: ace.objectType ?? null,
        inheritedObjectType: ace.inheritedObjectType ?? null,
      },
      want,
      `${what}: ACE ${i}`,
    );
  });
}

describe('SIDs', () => {
  test('decodes objectSid values read from the DC as Samba does', () => {
    for (const { base64, sid } of fixtures.sids) {
      assert.equal(decodeSid(bytes(base64)), sid);
      assert.deepEqual(Buffer.from(encodeSid(sid)).toString('base64'), base64);
    }
  });

  test('well-known SIDs', () => {
    assert.deepEqual([...encodeSid('S-1-5-32-544')], [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0]);
    assert.equal(decodeSid(encodeSid('S-1-1-0')), 'S-1-1-0');
    assert.equal(decodeSid(encodeSid('S-1-5-18')), 'S-1-5-18');
    assert.equal(decodeSid(encodeSid('s-1-5-11')), 'S-1-5-11');
  });

  test('round-trips any SID', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
        (authority, subs) => {
          const sid = ['S-1', String(authority), ...subs.map(String)].join('-');
          assert.equal(decodeSid(encodeSid(sid)), sid);
        },
      ),
    );
  });

  test('rejects malformed SIDs', () => {
    assert.throws(() => encodeSid('S-2-5-32'), DescriptorFormatError);
    assert.throws(() => encodeSid('S-1-5-4294967296'), DescriptorFormatError);
    assert.throws(() => encodeSid(`S-1-5${'-1'.repeat(16)}`), DescriptorFormatError);
    assert.throws(() => decodeSid(new Uint8Array([1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0])), DescriptorFormatError);
    assert.throws(() => decodeSid(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 5])), DescriptorFormatError);
  });
});

describe('GUIDs', () => {
  test('mixed-endian as in object ACEs', () => {
    const guid = encodeGuid(REPLICATING_DIRECTORY_CHANGES);
    assert.deepEqual(Buffer.from(guid).toString('hex'), 'aaf63111079cd111f79f00c04fc2dcd2');
    assert.equal(decodeGuid(guid), REPLICATING_DIRECTORY_CHANGES);
    assert.throws(() => encodeGuid('not-a-guid'), DescriptorFormatError);
  });
});

describe('security descriptors read from Samba AD', () => {
  for (const fixture of fixtures.descriptors) {
    test(`${fixture.dn} (SD flags ${fixture.sdFlags}) decodes as Samba's NDR decoder says`, () => {
      const sd = decodeSecurityDescriptor(bytes(fixture.base64));
      assert.equal(sd.control, fixture.control);
      assert.equal(sd.owner ?? null, fixture.owner);
      assert.equal(sd.group ?? null, fixture.group);
      compareAcl(sd.dacl, fixture.dacl, 'DACL');
      compareAcl(sd.sacl, fixture.sacl, 'SACL');
    });

    test(`${fixture.dn} (SD flags ${fixture.sdFlags}) re-encodes to the same bytes`, () => {
      const original = bytes(fixture.base64);
      assert.equal(
        Buffer.from(encodeSecurityDescriptor(decodeSecurityDescriptor(original))).toString('base64'),
        fixture.base64,
      );
    });
  }

  test('an added object ACE is found again after encoding, and removed again', () => {
    const domain = fixtures.descriptors.find((f) => f.dn === 'DC=example,DC=com' && f.sdFlags === 4)!;
    const sd = decodeSecurityDescriptor(bytes(domain.base64));
    const wanted: Ace = {
      type: AceType.ACCESS_ALLOWED_OBJECT,
      flags: 0,
      mask: AccessMask.CONTROL_ACCESS,
      sid: USER_SID,
      objectType: REPLICATING_DIRECTORY_CHANGES,
    };
    assert.equal(findAce(sd.dacl, wanted), undefined);
    const updated = decodeSecurityDescriptor(encodeSecurityDescriptor({ ...sd, dacl: withAce(sd.dacl, wanted) }));
    assert.equal(updated.dacl?.aces.length, (sd.dacl?.aces.length ?? 0) + 1);
    assert.ok(findAce(updated.dacl, wanted));
    // inherited ACEs stay behind the explicit ones
    const firstInherited = updated.dacl.aces.findIndex((a) => (a.flags & AceFlags.INHERITED) !== 0);
    const ours = updated.dacl.aces.findIndex((a) => a.sid === USER_SID);
    assert.ok(firstInherited < 0 || ours < firstInherited);
    const removed = withoutAces(updated.dacl, (a) => a.sid === USER_SID);
    assert.ok(removed);
    assert.equal(Buffer.from(encodeSecurityDescriptor({ ...sd, dacl: removed })).toString('base64'), domain.base64);
    assert.equal(
      withoutAces(sd.dacl, (a) => a.sid === USER_SID),
      undefined,
      'nothing to remove: undefined',
    );
  });

  test('a deny ACE goes before the explicit allows', () => {
    const acl = withAce(
      { revision: 2, aces: [{ type: AceType.ACCESS_ALLOWED, flags: 0, mask: 1, sid: 'S-1-5-18' }] },
      { type: AceType.ACCESS_DENIED, flags: 0, mask: 1, sid: 'S-1-1-0' },
    );
    assert.deepEqual(
      acl.aces.map((a) => a.type),
      [AceType.ACCESS_DENIED, AceType.ACCESS_ALLOWED],
    );
  });
});

describe('ACE matching', () => {
  const wanted: Ace = { type: AceType.ACCESS_ALLOWED, flags: AceFlags.CONTAINER_INHERIT, mask: 0x301ff, sid: USER_SID };
  test('a broader explicit ACE covers the wanted one', () => {
    assert.ok(aceCovers({ ...wanted, mask: 0xf01ff }, wanted));
    assert.ok(aceCovers({ ...wanted, sid: USER_SID.toLowerCase() }, wanted));
  });
  test('narrower, inherited, not inheritable, other trustee or other object type do not', () => {
    assert.ok(!aceCovers({ ...wanted, mask: 0x1ff }, wanted));
    assert.ok(!aceCovers({ ...wanted, flags: AceFlags.CONTAINER_INHERIT | AceFlags.INHERITED }, wanted));
    assert.ok(!aceCovers({ ...wanted, flags: 0 }, wanted));
    assert.ok(!aceCovers({ ...wanted, sid: 'S-1-5-11' }, wanted));
    assert.ok(
      !aceCovers({ ...wanted, type: AceType.ACCESS_ALLOWED_OBJECT, objectType: REPLICATING_DIRECTORY_CHANGES }, wanted),
    );
  });
});

describe('malformed descriptors', () => {
  test('are errors, never garbage', () => {
    assert.throws(() => decodeSecurityDescriptor(new Uint8Array(10)), DescriptorFormatError);
    const sd = encodeSecurityDescriptor({
      revision: 1,
      control: 0,
      owner: 'S-1-5-32-544',
      dacl: { revision: 2, aces: [] },
    });
    const notSelfRelative = Uint8Array.from(sd);
    notSelfRelative[3] = 0;
    assert.throws(() => decodeSecurityDescriptor(notSelfRelative), DescriptorFormatError);
    const truncated = sd.subarray(0, sd.length - 4);
    assert.throws(() => decodeSecurityDescriptor(truncated), DescriptorFormatError);
  });

  test('random bytes never crash with anything but a DescriptorFormatError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (random) => {
        const header = Uint8Array.from([1, 0, 0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0]);
        const candidate = new Uint8Array(header.length + random.length);
        candidate.set(header);
        candidate.set(random, header.length);
        try {
          const sd = decodeSecurityDescriptor(candidate);
          encodeSecurityDescriptor(sd);
        } catch (error) {
          assert.ok(error instanceof DescriptorFormatError, String(error));
        }
      }),
    );
  });

  test('an unknown ACE kind survives a round trip byte for byte', () => {
    const callback = Uint8Array.from([0x09, 0x00, 12, 0, 0xff, 0, 0, 0, 1, 2, 3, 4]);
    const acl = new Uint8Array(8 + callback.length);
    acl.set([4, 0, acl.length, 0, 1, 0, 0, 0]);
    acl.set(callback, 8);
    const sd = new Uint8Array(20 + acl.length);
    sd.set([1, 0, 0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0]);
    sd.set(acl, 20);
    const decoded = decodeSecurityDescriptor(sd);
    assert.deepEqual([...encodeAce(decoded.dacl!.aces[0]!)], [...callback]);
    assert.deepEqual([...encodeSecurityDescriptor(decoded)], [...sd]);
  });
});
