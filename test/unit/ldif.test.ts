// LDIF rendering of planned changes (RFC 2849): what --dry-run prints and what an operator applies by hand.
// Secrets are masked, unsafe values are base64, modify records separate their parts with '-'.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderLdif } from '../../src/formats/ldif.js';
import type { Change } from '../../src/model/entries.js';

const DN = 'cn=Sync User,dc=example,dc=com';
const SECRET = 'S3cret: with spaces and é ';

function decode(line: string): string {
  const match = /^[^:]+:: (.*)$/.exec(line);
  assert.ok(match, `a base64 line: ${line}`);
  return Buffer.from(match[1] ?? '', 'base64').toString('utf8');
}

describe('renderLdif: masking', () => {
  test('userPassword in an add is masked, the real value appears nowhere', () => {
    const ldif = renderLdif([
      {
        kind: 'add',
        dn: DN,
        attributes: { objectClass: ['top', 'person'], cn: ['Sync User'], userPassword: [SECRET] },
      },
    ]);
    assert.ok(ldif.split('\n').includes('userPassword: ********'), ldif);
    assert.ok(!ldif.includes(SECRET), ldif);
    assert.ok(!ldif.includes(Buffer.from(SECRET).toString('base64')), 'not even base64-encoded');
    assert.ok(!ldif.includes('S3cret'), ldif);
  });

  test('masking is case-insensitive and covers unicodePwd and ds-cfg-password', () => {
    const ldif = renderLdif([
      {
        kind: 'add',
        dn: DN,
        attributes: { USERPASSWORD: ['a1'], unicodePwd: ['"b2"'], UnicodePWD: ['c3'], 'ds-cfg-password': ['d4'] },
      },
    ]);
    assert.deepEqual(ldif.split('\n').slice(2), [
      'USERPASSWORD: ********',
      'unicodePwd: ********',
      'UnicodePWD: ********',
      'ds-cfg-password: ********',
    ]);
  });

  test('a password replace in a modify is masked, with its separator', () => {
    const ldif = renderLdif([
      {
        kind: 'modify',
        dn: DN,
        modifications: [{ operation: 'replace', attribute: 'userPassword', values: [SECRET] }],
      },
    ]);
    assert.equal(
      ldif,
      [`dn: ${DN}`, 'changetype: modify', 'replace: userPassword', 'userPassword: ********', '-'].join('\n'),
    );
  });

  test('every value of a multi-valued secret is masked (one line each)', () => {
    const ldif = renderLdif([{ kind: 'add', dn: DN, attributes: { userPassword: ['one', 'two'] } }]);
    assert.deepEqual(
      ldif.split('\n').filter((l) => l.startsWith('userPassword')),
      ['userPassword: ********', 'userPassword: ********'],
    );
  });
});

describe('renderLdif: values', () => {
  test('safe strings are written as they are', () => {
    const aci =
      '(targetattr="*")(version 3.0; acl "prepare-endpoint-server: sync source read"; allow (read,search,compare) userdn="ldap:///cn=Sync User,dc=example,dc=com";)';
    const ldif = renderLdif([{ kind: 'add', dn: DN, attributes: { description: ['a: b < c'], aci: [aci] } }]);
    assert.deepEqual(ldif.split('\n'), [`dn: ${DN}`, 'changetype: add', 'description: a: b < c', `aci: ${aci}`]);
  });

  for (const [name, value] of [
    ['a leading space', ' lead'],
    ['a leading colon', ':colon'],
    ['a leading <', '<file:///etc/passwd'],
    ['a trailing space', 'trail '],
    ['a non-ASCII character', 'Zoë'],
    ['a newline', 'line1\nline2'],
    ['a carriage return', 'a\rb'],
    ['a NUL', 'a\0b'],
  ] as const) {
    test(`a value with ${name} is base64 (::) and decodes to the value`, () => {
      const ldif = renderLdif([{ kind: 'add', dn: DN, attributes: { description: [value] } }]);
      const lines = ldif.split('\n');
      assert.equal(lines.length, 3, JSON.stringify(ldif));
      assert.match(lines[2] ?? '', /^description:: [A-Za-z0-9+/=]+$/);
      assert.equal(decode(lines[2] ?? ''), value);
    });
  }

  test('a DN that is not a safe string is written as dn::', () => {
    const dn = 'cn=Zoë,dc=example,dc=com';
    const ldif = renderLdif([{ kind: 'delete', dn }]);
    const [first, second] = ldif.split('\n');
    assert.match(first ?? '', /^dn:: /);
    assert.equal(decode(first ?? ''), dn);
    assert.equal(second, 'changetype: delete');
  });

  test('an empty value is written plainly', () => {
    const ldif = renderLdif([
      { kind: 'modify', dn: DN, modifications: [{ operation: 'replace', attribute: 'description', values: [''] }] },
    ]);
    assert.deepEqual(ldif.split('\n').slice(2), ['replace: description', 'description: ', '-']);
  });
});

describe('renderLdif: records', () => {
  test('a modify separates its modifications with "-" and ends with one', () => {
    const change: Change = {
      kind: 'modify',
      dn: 'cn=Retro Changelog Plugin,cn=plugins,cn=config',
      modifications: [
        { operation: 'delete', attribute: 'aci', values: ['old one', 'old two'] },
        { operation: 'add', attribute: 'aci', values: ['new'] },
        { operation: 'replace', attribute: 'nsslapd-changelogmaxage', values: ['2d'] },
      ],
    };
    assert.equal(
      renderLdif([change]),
      [
        'dn: cn=Retro Changelog Plugin,cn=plugins,cn=config',
        'changetype: modify',
        'delete: aci',
        'aci: old one',
        'aci: old two',
        '-',
        'add: aci',
        'aci: new',
        '-',
        'replace: nsslapd-changelogmaxage',
        'nsslapd-changelogmaxage: 2d',
        '-',
      ].join('\n'),
    );
  });

  test('a delete of a whole attribute (no values) is just its line and the separator', () => {
    const ldif = renderLdif([
      { kind: 'modify', dn: DN, modifications: [{ operation: 'delete', attribute: 'description', values: [] }] },
    ]);
    assert.deepEqual(ldif.split('\n'), [`dn: ${DN}`, 'changetype: modify', 'delete: description', '-']);
  });

  test('records are separated by one blank line, in order; a delete has no body', () => {
    const ldif = renderLdif([
      { kind: 'add', dn: DN, attributes: { cn: ['Sync User'] } },
      {
        kind: 'modify',
        dn: 'dc=example,dc=com',
        modifications: [{ operation: 'add', attribute: 'aci', values: ['x'] }],
      },
      { kind: 'delete', dn: DN },
    ]);
    const records = ldif.split('\n\n');
    assert.equal(records.length, 3, ldif);
    assert.equal(records[0], `dn: ${DN}\nchangetype: add\ncn: Sync User`);
    assert.equal(records[1], 'dn: dc=example,dc=com\nchangetype: modify\nadd: aci\naci: x\n-');
    assert.equal(records[2], `dn: ${DN}\nchangetype: delete`);
    assert.ok(!ldif.includes('\n\n\n'), 'no double blank line');
  });

  test('no changes render as an empty string', () => {
    assert.equal(renderLdif([]), '');
  });
});
