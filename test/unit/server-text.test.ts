import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cut, escapeControls, SecretMask, serverText, SERVER_TEXT_MAX_CHARS } from '../../src/formats/server-text.js';
import { BoundedFraming, type FramingViolation } from '../../src/ldap/framing.js';
import { message, result, searchEntry } from '../helpers/hostile-ldap.js';

describe('server text is data', () => {
  test('control characters are shown escaped: ESC, BEL, CR, LF, DEL, C1 CSI, bidi overrides', () => {
    assert.equal(
      escapeControls('a\u001b[2Jb\u0007c\rd\ne\u007ff\u009bg\u202eh'),
      'a\\x1b[2Jb\\x07c\\x0dd\\x0ae\\x7ff\\x9bg\\u202eh',
    );
    assert.equal(escapeControls('one\ntwo\u001b', { keepNewlines: true }), 'one\ntwo\\x1b');
  });

  test('a flood is cut and says how much', () => {
    assert.equal(cut('abcdef', 3), 'abc... (3 more characters cut)');
    assert.ok(serverText('x'.repeat(50_000_000)).length < SERVER_TEXT_MAX_CHARS + 40);
  });

  test('a known password is masked in any case, in base64 (UTF-8 and AD unicodePwd) and hex', () => {
    const secret = 'Pa55-word!';
    const mask = new SecretMask([secret]);
    const unicodePwd = Buffer.from(`"${secret}"`, 'utf16le').toString('base64');
    const text = [
      secret,
      secret.toUpperCase(),
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('base64').replace(/=+$/, ''),
      unicodePwd,
      Buffer.from(secret).toString('hex').toUpperCase(),
      Buffer.from(secret).toString('hex').replace(/(..)/g, '\\$1'),
    ].join(' | ');
    const masked = mask.apply(text);
    assert.equal(masked, Array.from({ length: 7 }, () => '***').join(' | '));
  });

  test('masking happens before cutting: no prefix of a password survives the cut', () => {
    const secret = 'Sentinel-Secret-123';
    const text = `${'x'.repeat(SERVER_TEXT_MAX_CHARS - 5)}${secret}`;
    const shown = serverText(text, new SecretMask([secret]));
    assert.ok(!shown.includes('Senti'), shown.slice(-40));
  });

  test('very short passwords are not searched for (they would mask every word)', () => {
    assert.equal(new SecretMask(['ab']).apply('abc'), 'abc');
  });

  test('deep() masks every string of a JSON-like value', () => {
    const mask = new SecretMask(['hunter22']);
    assert.deepEqual(mask.deep({ a: ['x hunter22'], b: { c: 'HUNTER22' }, n: 1, z: null }), {
      a: ['x ***'],
      b: { c: '***' },
      n: 1,
      z: null,
    });
  });
});

describe('bounded framing in front of the message parser', () => {
  function framing(pending: Record<number, { requestTag: number; sizeLimit?: number }>) {
    const delivered: Buffer[] = [];
    const violations: FramingViolation[] = [];
    const f = new BoundedFraming(
      { lookup: (id) => pending[id] },
      { maxMessageBytes: 1024, maxOperationBytes: 4096 },
      (m) => delivered.push(m),
      (v) => violations.push(v),
    );
    return { f, delivered, violations };
  }

  test('6,000 messages in one chunk are delivered one at a time (no recursion), up to the size limit', () => {
    const { f, delivered, violations } = framing({ 2: { requestTag: 0x63, sizeLimit: 10 } });
    const tiny = message(2, searchEntry('cn=x', {}));
    f.push(Buffer.concat(Array.from({ length: 6000 }, () => tiny)));
    assert.equal(delivered.length, 10);
    assert.equal(violations[0]?.kind, 'too-many-entries');
  });

  test('a message cut across chunks, byte by byte, is delivered whole once', () => {
    const { f, delivered, violations } = framing({ 3: { requestTag: 0x60 } });
    const bind = message(3, result(0x61, 0));
    for (const byte of bind) f.push(Buffer.from([byte]));
    assert.deepEqual(delivered, [bind]);
    assert.deepEqual(violations, []);
  });

  test('unsolicited, mistyped, oversized, malformed messages and a notice of disconnection stop it', () => {
    const cases: [Buffer, FramingViolation['kind']][] = [
      [message(9, result(0x61, 0)), 'unsolicited'],
      [message(3, result(0x67, 0)), 'mismatched'],
      [Buffer.from([0x30, 0x84, 0x7f, 0, 0, 0]), 'too-large'],
      [Buffer.from('HTTP/1.1 400'), 'malformed'],
      [message(0, result(0x78, 52, 'bye')), 'notice'],
    ];
    for (const [bytes, kind] of cases) {
      const { f, delivered, violations } = framing({ 3: { requestTag: 0x60 } });
      f.push(bytes);
      assert.equal(violations[0]?.kind, kind, kind);
      assert.equal(delivered.length, 0);
    }
  });

  test('elements that do not fit their parent, or a primitive tag where a SEQUENCE is due, are malformed', () => {
    // Found by fuzzing: each made ldapts' value loop push empty values until the heap ran out (118 bytes).
    const fuzzed = [
      '3074020102646f0400486b3025040b6f626a656374436c61737331160403746f7004614f70656e4c444150726f6f744453453025040e6e6179696e67436f6e74657874733113041164633d6578616d706c652c64633d636f6dfc1b0414737570706f727465644c44415056657273696f6e310304013330',
      '3074020102646f0400306b3025040b6f626a65bc74436c61737331160403746f70040f4f70656e4c444150726f6f744453453025040e6e616d696e67436f6e74657874733113041164633d6578616d706c652c646344636f6d301b0414737570706f727465644c44415056657273696f6e31350401333',
    ];
    for (const hex of fuzzed) {
      const { f, delivered, violations } = framing({ 2: { requestTag: 0x63, sizeLimit: 1 } });
      const bytes = Buffer.from(hex.length % 2 === 0 ? hex : `${hex}0`, 'hex');
      f.push(bytes.subarray(0, 0x76));
      assert.equal(violations[0]?.kind, 'malformed', hex.slice(0, 40));
      assert.equal(delivered.length, 0);
    }
  });

  test('plaintext after the StartTLS response (before the handshake) is an injection', () => {
    const { f, violations } = framing({ 1: { requestTag: 0x77 } });
    f.expectStartTls(true);
    f.push(Buffer.concat([message(1, result(0x78, 0)), message(2, result(0x61, 0))]));
    assert.equal(violations[0]?.kind, 'injected');
  });
});
