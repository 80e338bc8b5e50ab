import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  FilterSyntaxError,
  equalityFilter,
  escapeFilterValue,
  isValidAttributeDescription,
} from '../../src/formats/filter.js';
import { seededRandom } from '../helpers/planning.js';

/** Test-only inverse of escapeFilterValue: decodes every `\xx` hex escape as UTF-8. */
function unescapeFilterValue(escaped: string): string {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let index = 0; index < escaped.length;) {
    if (escaped[index] === '\\') {
      const hex = escaped.slice(index + 1, index + 3);
      assert.match(hex, /^[0-9a-fA-F]{2}$/, `bad escape at ${index} in ${JSON.stringify(escaped)}`);
      bytes.push(Number.parseInt(hex, 16));
      index += 3;
    } else {
      const codePoint = escaped.codePointAt(index) ?? 0;
      const char = String.fromCodePoint(codePoint);
      bytes.push(...encoder.encode(char));
      index += char.length;
    }
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
}

/** True when the text has a `*`, `(` or `)` that is not produced by an escape. */
function hasUnescapedSpecial(escaped: string): boolean {
  return /[*()\u0000]/.test(escaped.replace(/\\[0-9a-fA-F]{2}/g, ''));
}

describe('escapeFilterValue', () => {
  test('escapes the RFC 4515 specials', () => {
    assert.equal(escapeFilterValue('*'), '\\2a');
    assert.equal(escapeFilterValue('('), '\\28');
    assert.equal(escapeFilterValue(')'), '\\29');
    assert.equal(escapeFilterValue('\\'), '\\5c');
    assert.equal(escapeFilterValue('\u0000'), '\\00');
    assert.equal(escapeFilterValue('a*(b)\\c\u0000'), 'a\\2a\\28b\\29\\5cc\\00');
  });

  test('keeps ordinary and non-ASCII text', () => {
    assert.equal(escapeFilterValue(''), '');
    assert.equal(escapeFilterValue('Jürgen Ä 😀 = , + " ; < > #'), 'Jürgen Ä 😀 = , + " ; < > #');
  });

  test('escapes injection attempts', () => {
    assert.equal(escapeFilterValue('*)(uid=*))(|(uid=*'), '\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a');
  });

  test('an already escaped value is escaped again, not passed through', () => {
    assert.equal(escapeFilterValue('\\2a'), '\\5c2a');
  });
});

describe('equalityFilter', () => {
  test('builds an escaped equality filter', () => {
    assert.equal(equalityFilter('uid', 'jdoe'), '(uid=jdoe)');
    assert.equal(equalityFilter('cn', 'Sync (User) *'), '(cn=Sync \\28User\\29 \\2a)');
    assert.equal(equalityFilter('cn;lang-en', 'x'), '(cn;lang-en=x)');
    assert.equal(equalityFilter('2.5.4.3', 'x'), '(2.5.4.3=x)');
    assert.equal(equalityFilter('ds-cfg-enabled', ''), '(ds-cfg-enabled=)');
  });

  test('rejects invalid attribute names', () => {
    for (const bad of ['', 'c n', 'cn=', 'cn)(uid', '1cn', '1.', '01.2', 'cn;', 'cn;a b', '*', 'cn\u0000', '(cn']) {
      assert.throws(() => equalityFilter(bad, 'x'), FilterSyntaxError, JSON.stringify(bad));
      assert.equal(isValidAttributeDescription(bad), false, JSON.stringify(bad));
    }
  });

  test('error message is bounded for huge names', () => {
    assert.throws(
      () => equalityFilter('('.repeat(10000), 'x'),
      (error: unknown) => error instanceof FilterSyntaxError && error.message.length < 200,
    );
  });
});

describe('round-trip property', () => {
  const alphabet = [...'*()\\\u0000 =,+"#<>;|&!~abcXYZ019', 'é', 'Ä', '€', '日', '😀', '\\2a', '\\5c'];

  test('unescaping the escaped value gives the original, with no unescaped specials', () => {
    const random = seededRandom(0xf117e4);
    for (let iteration = 0; iteration < 5000; iteration++) {
      const length = Math.floor(random() * 16);
      let value = '';
      for (let index = 0; index < length; index++) {
        value += alphabet[Math.floor(random() * alphabet.length)] ?? '';
      }
      const escaped = escapeFilterValue(value);
      assert.equal(unescapeFilterValue(escaped), value, JSON.stringify(value));
      assert.equal(hasUnescapedSpecial(escaped), false, JSON.stringify(escaped));
      const filter = equalityFilter('cn', value);
      assert.equal(filter, `(cn=${escaped})`);
    }
  });
});
