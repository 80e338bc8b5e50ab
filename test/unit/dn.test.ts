import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DnSyntaxError,
  dnEquals,
  dnSpelling,
  escapeDnValue,
  firstRdn,
  firstRdnSpelling,
  formatDn,
  isValidDn,
  isWithin,
  normalizeDn,
  parentDn,
  parseDn,
  quotableDn,
  type Rdn,
} from '../../src/formats/dn.js';
import { seededRandom } from '../helpers/planning.js';

function assertDnError(text: string, messagePart: string | RegExp): void {
  assert.throws(
    () => parseDn(text),
    (error: unknown) => {
      if (!(error instanceof DnSyntaxError)) {
        assert.fail(`expected DnSyntaxError for ${JSON.stringify(text)}, got ${String(error)}`);
      }
      if (typeof messagePart === 'string') {
        assert.ok(error.message.includes(messagePart), `message '${error.message}' lacks '${messagePart}'`);
      } else {
        assert.match(error.message, messagePart);
      }
      return true;
    },
  );
}

function singleValue(text: string): string {
  const rdns = parseDn(text);
  assert.equal(rdns.length, 1);
  const rdn = rdns[0] ?? [];
  assert.equal(rdn.length, 1);
  return rdn[0]?.value ?? '';
}

describe('parseDn', () => {
  test('the empty DN has no RDNs', () => {
    assert.deepEqual(parseDn(''), []);
    assert.deepEqual(parseDn('   '), []);
  });

  test('simple DN', () => {
    assert.deepEqual(parseDn('uid=jdoe,ou=People,dc=example,dc=com'), [
      [{ type: 'uid', value: 'jdoe' }],
      [{ type: 'ou', value: 'People' }],
      [{ type: 'dc', value: 'example' }],
      [{ type: 'dc', value: 'com' }],
    ]);
  });

  test('keeps the case of types and values', () => {
    assert.deepEqual(parseDn('CN=Sync User'), [[{ type: 'CN', value: 'Sync User' }]]);
  });

  test('escaped comma', () => {
    const rdns = parseDn('cn=Sync\\, User,dc=example,dc=com');
    assert.equal(rdns.length, 3);
    assert.deepEqual(rdns[0], [{ type: 'cn', value: 'Sync, User' }]);
  });

  test('multi-valued RDN', () => {
    assert.deepEqual(parseDn('cn=a+uid=b,dc=x'), [
      [
        { type: 'cn', value: 'a' },
        { type: 'uid', value: 'b' },
      ],
      [{ type: 'dc', value: 'x' }],
    ]);
  });

  test('every special-character escape', () => {
    assert.equal(singleValue('cn=\\,\\+\\"\\\\\\<\\>\\;\\=\\#\\ '), ',+"\\<>;=# ');
  });

  test('hex escapes, upper and lower case', () => {
    assert.equal(singleValue('cn=a\\2Cb\\2cc'), 'a,b,c');
    assert.equal(singleValue('cn=\\00'), '\u0000');
    assert.equal(singleValue('cn=\\5C'), '\\');
  });

  test('multi-byte UTF-8 hex sequences', () => {
    assert.equal(singleValue('cn=\\C3\\A9'), 'é');
    assert.equal(singleValue('cn=Caf\\c3\\a9 au lait'), 'Café au lait');
    assert.equal(singleValue('cn=\\E2\\82\\AC'), '€');
    assert.equal(singleValue('cn=\\F0\\9F\\98\\80'), '😀');
  });

  test('raw UTF-8 text', () => {
    assert.equal(singleValue('cn=Jürgen Ä'), 'Jürgen Ä');
    assert.equal(singleValue('cn=日本語 😀'), '日本語 😀');
  });

  test('characters allowed unescaped in the middle of a value', () => {
    assert.equal(singleValue('cn=a=b#c(d)*e'), 'a=b#c(d)*e');
    assert.equal(singleValue('cn=tab\there'), 'tab\there');
  });

  test('BER hex values are kept as literal text', () => {
    assert.deepEqual(parseDn('1.3.6.1.4.1.1466.0=#04024869,dc=x'), [
      [{ type: '1.3.6.1.4.1.1466.0', value: '#04024869' }],
      [{ type: 'dc', value: 'x' }],
    ]);
    assert.equal(singleValue('cn=#aBcD'), '#aBcD');
    assert.equal(singleValue('cn = #0a  '), '#0a');
  });

  test('numeric OID attribute types', () => {
    assert.deepEqual(parseDn('2.5.4.3=x'), [[{ type: '2.5.4.3', value: 'x' }]]);
  });

  test('tolerates spaces around separators and trims unescaped edge spaces', () => {
    assert.deepEqual(parseDn('  cn = a b  +  uid = c ,  dc = x  '), [
      [
        { type: 'cn', value: 'a b' },
        { type: 'uid', value: 'c' },
      ],
      [{ type: 'dc', value: 'x' }],
    ]);
  });

  test('escaped leading and trailing spaces are kept', () => {
    assert.equal(singleValue('cn=\\  a \\ '), '  a  ');
    assert.equal(singleValue('cn=\\20a\\20'), ' a ');
    assert.equal(singleValue('cn= \\ '), ' ');
  });

  test('empty values are allowed', () => {
    assert.deepEqual(parseDn('cn='), [[{ type: 'cn', value: '' }]]);
    assert.deepEqual(parseDn('cn=,dc=x'), [[{ type: 'cn', value: '' }], [{ type: 'dc', value: 'x' }]]);
    assert.deepEqual(parseDn('cn=+sn=x'), [
      [
        { type: 'cn', value: '' },
        { type: 'sn', value: 'x' },
      ],
    ]);
  });

  test('missing =', () => {
    assertDnError('cn', "missing '=' in RDN 1");
    assertDnError('a=b,c', "missing '=' in RDN 2");
    assertDnError('a=b,c d=e', "missing '=' in RDN 2");
  });

  test('missing or invalid attribute type', () => {
    assertDnError('=x', 'missing attribute type in RDN 1');
    assertDnError('1abc=x', "invalid attribute type '1abc'");
    assertDnError('c_n=x', "invalid attribute type 'c_n'");
    assertDnError('-cn=x', "invalid attribute type '-cn'");
    assertDnError('1.2.=x', "invalid attribute type '1.2.'");
    assertDnError('01.2=x', "invalid attribute type '01.2'");
    assertDnError('1=x', "invalid attribute type '1'");
    assertDnError('OID.2.5.4.3=x', "invalid attribute type 'OID.2.5.4.3'");
    assertDnError('+cn=x', 'missing attribute type in RDN 1');
  });

  test('empty RDNs', () => {
    assertDnError('a=b,,c=d', 'empty RDN 2');
    assertDnError(',a=b', 'empty RDN 1');
    assertDnError('a=b,', "empty RDN 2 (trailing ',')");
    assertDnError('a=b, ', 'empty RDN 2');
    assertDnError('a=b+,c=d', "missing attribute after '+' in RDN 1");
    assertDnError('a=b+', "missing attribute after '+' in RDN 1");
  });

  test('bad escapes', () => {
    assertDnError('cn=a\\', "unexpected end after '\\'");
    assertDnError('cn=a\\4', "unexpected end after '\\4'");
    assertDnError('cn=a\\4G', "invalid hex escape '\\4G'");
    assertDnError('cn=a\\x', "invalid escape '\\x'");
    assertDnError('cn=a\\(', "invalid escape '\\('");
  });

  test('invalid UTF-8 from hex escapes', () => {
    assertDnError('cn=\\C3', 'invalid UTF-8');
    assertDnError('cn=\\C3\\28', 'invalid UTF-8');
    assertDnError('cn=\\FF', 'invalid UTF-8');
    assertDnError('cn=\\ED\\A0\\80', 'invalid UTF-8'); // encoded surrogate
    assertDnError('cn=\\C0\\AF', 'invalid UTF-8'); // overlong '/'
    assertDnError('cn=\\C3a', 'invalid UTF-8');
  });

  test('bad BER hex values', () => {
    assertDnError('cn=#', 'invalid hex string value');
    assertDnError('cn=#abc', 'invalid hex string value');
    assertDnError('cn=#zz', 'invalid hex string value');
    assertDnError('cn=#ab cd', "unexpected 'c' after hex string value");
  });

  test('unescaped characters that RFC 4514 requires escaped', () => {
    assertDnError('cn="quoted"', `unescaped '"' in RDN 1`);
    assertDnError('cn=a<b', "unescaped '<'");
    assertDnError('cn=a>b', "unescaped '>'");
    assertDnError('cn=a\u0000b', 'unescaped NUL');
    assertDnError('cn=\ud800x', 'unpaired surrogate');
  });

  test("';' is not a separator", () => {
    assertDnError('cn=a;dc=x', "unescaped ';' in RDN 1 (write it as '\\;')");
    assertDnError('cn=a; dc=x', "unescaped ';'");
    assert.equal(singleValue('cn=a\\;dc=x'), 'a;dc=x');
  });

  test('error messages give positions and short DNs, but not long DNs', () => {
    assert.throws(() => parseDn('a=b,c'), {
      name: 'DnSyntaxError',
      message: "missing '=' in RDN 2 at position 6 in DN 'a=b,c'",
    });
    try {
      parseDn('a=b,,c=d');
      assert.fail('expected an error');
    } catch (error) {
      if (!(error instanceof DnSyntaxError)) throw error;
      assert.equal(error.position, 5);
    }
    const longDn = `cn=${'x'.repeat(10000)},,dc=x`;
    assert.throws(
      () => parseDn(longDn),
      (error: unknown) =>
        error instanceof DnSyntaxError && error.message.length < 200 && /empty RDN 2/.test(error.message),
    );
    assert.throws(
      () => parseDn(`1${'a'.repeat(5000)}=x`),
      (error: unknown) => error instanceof DnSyntaxError && error.message.length < 200,
    );
  });
});

describe('escapeDnValue', () => {
  test('escapes what RFC 4514 requires, plus =', () => {
    assert.equal(escapeDnValue('a,b+c"d\\e<f>g;h=i'), 'a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\=i');
  });

  test('leading # and space, trailing space', () => {
    assert.equal(escapeDnValue('#a#'), '\\#a#');
    assert.equal(escapeDnValue(' a b '), '\\ a b\\ ');
    assert.equal(escapeDnValue(' '), '\\ ');
    assert.equal(escapeDnValue('  '), '\\ \\ ');
  });

  test('NUL and control characters as hex', () => {
    assert.equal(escapeDnValue('a\u0000b'), 'a\\00b');
    assert.equal(escapeDnValue('a\nb\t\u007f'), 'a\\0Ab\\09\\7F');
  });

  test('leaves ordinary text alone', () => {
    assert.equal(escapeDnValue(''), '');
    assert.equal(escapeDnValue('Jürgen (admin) *'), 'Jürgen (admin) *');
  });
});

describe('formatDn', () => {
  test('joins RDNs and multi-valued RDNs', () => {
    const rdns: Rdn[] = [
      [
        { type: 'cn', value: 'a' },
        { type: 'uid', value: 'b' },
      ],
      [{ type: 'dc', value: 'x' }],
    ];
    assert.equal(formatDn(rdns), 'cn=a+uid=b,dc=x');
    assert.equal(formatDn([]), '');
  });

  test('escapes values', () => {
    assert.equal(
      formatDn([[{ type: 'cn', value: 'Sync, User' }], [{ type: 'dc', value: 'x' }]]),
      'cn=Sync\\, User,dc=x',
    );
  });

  test('re-formats a parsed DN canonically', () => {
    assert.equal(formatDn(parseDn(' cn = Sync\\2C User , dc = x ')), 'cn=Sync\\, User,dc=x');
    assert.equal(formatDn(parseDn('cn=\\C3\\A9')), 'cn=é');
  });

  test('rejects what cannot be written as a DN', () => {
    assert.throws(() => formatDn([[]]), DnSyntaxError);
    assert.throws(() => formatDn([[{ type: 'c n', value: 'x' }]]), /invalid attribute type 'c n'/);
    assert.throws(() => formatDn([[{ type: '', value: 'x' }]]), DnSyntaxError);
  });
});

describe('normalizeDn and dnEquals', () => {
  test('lower-cases types and values, drops insignificant spaces', () => {
    assert.equal(normalizeDn(' CN = Sync User , DC=Example,dc=COM'), 'cn=sync user,dc=example,dc=com');
  });

  test('sorts AVAs within a multi-valued RDN', () => {
    assert.equal(normalizeDn('UID=b+cn=A,dc=x'), normalizeDn('cn=a+uid=B,dc=x'));
    assert.equal(normalizeDn('uid=b+cn=a,dc=x'), 'cn=a+uid=b,dc=x');
  });

  test('escape forms compare equal', () => {
    assert.ok(dnEquals('cn=Sync\\, User,dc=x', 'cn=Sync\\2c User,dc=x'));
    assert.ok(dnEquals('cn=J\\C3\\BCrgen', 'CN=jürgen'));
  });

  test('different DNs are not equal', () => {
    assert.ok(!dnEquals('cn=a,dc=x', 'cn=a,dc=y'));
    assert.ok(!dnEquals('cn=a,dc=x', 'dc=x'));
    assert.ok(!dnEquals('cn=a+sn=b', 'cn=a,sn=b'));
    assert.ok(!dnEquals('cn=a\\ ', 'cn=a'));
  });

  test('invalid DNs are never equal, not even to themselves', () => {
    assert.ok(!dnEquals('cn', 'cn'));
    assert.ok(!dnEquals('cn=a', 'cn=a,'));
  });

  test('the empty DN', () => {
    assert.equal(normalizeDn(''), '');
    assert.ok(dnEquals('', ' '));
  });

  test('normalizeDn throws on invalid DNs', () => {
    assert.throws(() => normalizeDn('a=b;c=d'), DnSyntaxError);
  });
});

describe('parentDn, firstRdn, isValidDn', () => {
  test('parentDn', () => {
    assert.equal(parentDn('cn=Sync\\, User, ou=People ,dc=x'), 'ou=People,dc=x');
    assert.equal(parentDn('dc=x'), '');
    assert.equal(parentDn(''), undefined);
    assert.equal(parentDn('cn=a,ou=\\#1,dc=x'), 'ou=\\#1,dc=x');
    assert.throws(() => parentDn('cn=a,,dc=x'), DnSyntaxError);
  });

  test('firstRdn', () => {
    assert.deepEqual(firstRdn('cn=a+uid=b,dc=x'), [
      { type: 'cn', value: 'a' },
      { type: 'uid', value: 'b' },
    ]);
    assert.throws(() => firstRdn(''), /empty DN has no RDN/);
    assert.throws(() => firstRdn('x'), DnSyntaxError);
  });

  test('isValidDn', () => {
    for (const valid of ['', 'dc=x', 'cn=a+uid=b,dc=x', 'cn=', 'cn=Sync\\, User,dc=example,dc=com', 'cn=#0102']) {
      assert.ok(isValidDn(valid), valid);
    }
    for (const invalid of ['x', 'cn=a,', 'cn=a;dc=x', 'cn="a"', 'cn=\\', 'cn=\\C3', '1cn=a', 'cn=#1']) {
      assert.ok(!isValidDn(invalid), invalid);
    }
  });
});

describe('isWithin', () => {
  test('a DN is within itself and its ancestors', () => {
    assert.ok(isWithin('uid=a,ou=People,dc=example,dc=com', 'dc=example,dc=com'));
    assert.ok(isWithin('uid=a,ou=People,dc=example,dc=com', 'ou=people, DC=Example,dc=com'));
    assert.ok(isWithin('dc=example,dc=com', 'dc=example,dc=com'));
  });

  test('the empty base contains everything', () => {
    assert.ok(isWithin('dc=com', ''));
    assert.ok(isWithin('', ''));
  });

  test('siblings, descendants and partial RDN matches are not within', () => {
    assert.ok(!isWithin('dc=example,dc=com', 'uid=a,dc=example,dc=com'));
    assert.ok(!isWithin('uid=a,dc=other,dc=com', 'dc=example,dc=com'));
    assert.ok(!isWithin('', 'dc=com'));
    // Text suffix but not an RDN suffix.
    assert.ok(!isWithin('dc=myexample,dc=com', 'dc=example,dc=com'));
    // An escaped comma is part of the value, not an RDN boundary.
    assert.ok(!isWithin('cn=a\\,dc=example,dc=com', 'cn=a,dc=example,dc=com'));
    assert.ok(isWithin('cn=x\\,dc=example,dc=com', 'dc=com'));
    assert.ok(!isWithin('cn=x\\,dc=example', 'dc=example'));
  });

  test('multi-valued RDNs compare as sets', () => {
    assert.ok(isWithin('uid=z,cn=a+sn=b,dc=x', 'sn=B+cn=A,dc=x'));
    assert.ok(!isWithin('uid=z,cn=a+sn=b,dc=x', 'cn=a,dc=x'));
  });

  test('invalid DNs are not within anything', () => {
    assert.ok(!isWithin('cn=a,,dc=x', 'dc=x'));
    assert.ok(!isWithin('cn=a,dc=x', 'dc=x,'));
  });
});

describe('hostile values', () => {
  const hostile = [
    'Sync, User',
    '"quoted"',
    '(admin)',
    '*',
    'a\u0000b',
    '\\',
    '\\\\,',
    ' leading',
    'trailing ',
    '  ',
    '#notber',
    '#0a',
    'a+b=c',
    'x;y',
    '<tag>',
    'Jürgen Ä',
    '😀 emoji',
    '\n',
    '',
    ',,,',
    '+',
    '=',
  ];
  for (const value of hostile) {
    test(`round-trips ${JSON.stringify(value)}`, () => {
      const text = formatDn([[{ type: 'cn', value }], [{ type: 'dc', value: 'example' }]]);
      const rdns = parseDn(text);
      assert.equal(rdns.length, 2);
      assert.deepEqual(rdns[0], [{ type: 'cn', value }]);
      assert.equal(parentDn(text), 'dc=example');
      assert.ok(isWithin(text, 'dc=example'));
      assert.ok(dnEquals(text, formatDn(parseDn(text))));
    });
  }

  test('hostile values in a multi-valued RDN', () => {
    const rdn: Rdn = [
      { type: 'cn', value: 'a+b' },
      { type: 'uid', value: ' , ' },
    ];
    assert.deepEqual(parseDn(formatDn([rdn])), [rdn]);
  });
});

describe('round-trip property', () => {
  const alphabet = [...',+"\\<>;=#*() \u0000\t\n\u007fabcAZ09-._', 'é', 'Ä', 'ü', '€', '日', '😀'];

  test('formatDn then parseDn returns the same value for random hostile strings', () => {
    const random = seededRandom(0x5eed);
    for (let iteration = 0; iteration < 5000; iteration++) {
      const length = Math.floor(random() * 12);
      let value = '';
      for (let index = 0; index < length; index++) {
        value += alphabet[Math.floor(random() * alphabet.length)] ?? '';
      }
      const text = formatDn([[{ type: 'cn', value }], [{ type: 'dc', value: 'x' }]]);
      const rdns = parseDn(text);
      assert.equal(rdns.length, 2, `value ${JSON.stringify(value)} gave ${JSON.stringify(text)}`);
      assert.equal(rdns[0]?.[0]?.value, value, `value ${JSON.stringify(value)} gave ${JSON.stringify(text)}`);
      assert.equal(rdns[1]?.[0]?.value, 'x');
      assert.equal(escapeDnValue(value).includes('\u0000'), false);
    }
  });
});

describe('dnSpelling, firstRdnSpelling and quotableDn: one DN as it was written', () => {
  test('escapes and case stay, the spaces RFC 4514 ignores go', () => {
    assert.equal(dnSpelling(' CN = Sync\\20User , dc=Example ,DC=com '), 'CN=Sync\\20User,dc=Example,DC=com');
    assert.equal(dnSpelling('cn=\\ lead and trail\\ ,dc=x'), 'cn=\\ lead and trail\\ ,dc=x');
    assert.equal(dnSpelling('cn=a + sn=b,dc=x'), 'cn=a+sn=b,dc=x');
    assert.equal(firstRdnSpelling('cn = Sync\\20User , dc=x'), 'cn=Sync\\20User');
    assert.equal(normalizeDn(dnSpelling('cn=Sync\\20User,dc=x')), normalizeDn('cn=Sync User,dc=x'));
  });

  test("a naming attribute's OID is written as its name, and compares equal to it", () => {
    assert.equal(
      dnSpelling('2.5.4.3=Sync User,0.9.2342.19200300.100.1.25=example,1.2.3.4=x'),
      'cn=Sync User,dc=example,1.2.3.4=x',
    );
    assert.equal(
      normalizeDn('2.5.4.3=Sync User,0.9.2342.19200300.100.1.25=Example'),
      normalizeDn('CN=sync user,DC=example'),
    );
  });

  test('runs of inner spaces compare as one (case-ignore matching); an escaped space at an end still counts', () => {
    assert.ok(dnEquals('cn=Sync   User,dc=x', 'cn=sync user,dc=x'));
    assert.ok(!dnEquals('cn=a\\ ', 'cn=a'));
  });

  test('control characters become hex escapes', () => {
    assert.equal(dnSpelling('cn=a\nb,dc=x'), 'cn=a\\0Ab,dc=x');
  });

  test('quotableDn keeps escapes (389 DS matches the spelling) and writes ", | and ? as hex', () => {
    assert.equal(quotableDn('cn=Sync\\20User,dc=x'), 'cn=Sync\\20User,dc=x');
    assert.equal(quotableDn('cn=Q\\"uote|pipe?,dc=x'), 'cn=Q\\22uote\\7Cpipe\\3F,dc=x');
    assert.equal(quotableDn('cn=back\\\\22slash,dc=x'), 'cn=back\\\\22slash,dc=x');
    assert.deepEqual(parseDn(quotableDn('cn=Q\\"uote|pipe?,dc=x')), parseDn('cn=Q\\"uote|pipe?,dc=x'));
  });
});
