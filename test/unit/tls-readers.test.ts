// The trust store readers under attack (src/tls/der.ts, pkcs12.ts, rc2.ts, pem.ts): files crafted to ask for
// absurd work or to be read past their end are refused at once, with the problem the CLI turns into exit 89.
// The hostile files are built here byte by byte, so each test names exactly what it changes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createCipheriv, pbkdf2Sync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DerError, DerRangeError, MAX_DEPTH, integer, oid, parseNode, children } from '../../src/tls/der.js';
import { KdfBudget, MAX_ITERATIONS, MAX_TOTAL_ROUNDS, pkcs12Kdf } from '../../src/tls/pkcs12.js';
import { pemCertificateBlocks, readPemCertificates } from '../../src/tls/pem.js';
import { rc2CbcDecrypt } from '../../src/tls/rc2.js';
import { readTrustStore, TrustStoreError } from '../../src/tls/truststore.js';
import { thrownBy } from '../helpers/fixture.js';
import { resolveSettings } from '../../src/cli/settings.js';
import { PrepareError, ResultCode } from '../../src/model/errors.js';

// ------------------------------------------------------------------------------------------------ DER building

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const seq = (...parts: Buffer[]): Buffer => der(0x30, Buffer.concat(parts));
const octetString = (bytes: Buffer): Buffer => der(0x04, bytes);
const explicit0 = (inner: Buffer): Buffer => der(0xa0, inner);
const nullValue = Buffer.from([0x05, 0x00]);

function int(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return der(0x02, Buffer.from(hex, 'hex'));
}

function objectId(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const arc of rest) {
    const groups: number[] = [];
    let n = arc;
    do {
      groups.unshift(n & 0x7f);
      n = Math.floor(n / 128);
    } while (n > 0);
    bytes.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return der(0x06, Buffer.from(bytes));
}

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_PBE_SHA1_3DES = '1.2.840.113549.1.12.1.3';
const OID_PBES2 = '1.2.840.113549.1.5.13';
const OID_PBKDF2 = '1.2.840.113549.1.5.12';
const OID_HMAC_SHA256 = '1.2.840.113549.2.9';
const OID_AES128_CBC = '2.16.840.1.101.3.4.1.2';

/** A PFX (version 3) around an AuthenticatedSafe, with the given MacData or none. */
function pfx(authSafe: Buffer, macData?: Buffer): Buffer {
  return seq(
    int(3n),
    seq(objectId(OID_DATA), explicit0(octetString(authSafe))),
    ...(macData === undefined ? [] : [macData]),
  );
}

/** MacData with SHA-256 and `iterations` rounds (the digest is never reached: the count is refused first). */
function macData(iterations: bigint): Buffer {
  return seq(
    seq(seq(objectId(OID_SHA256), nullValue), octetString(Buffer.alloc(32))),
    octetString(Buffer.alloc(8, 1)),
    int(iterations),
  );
}

/** An encryptedData ContentInfo whose algorithm is `algorithm` and whose content is `encrypted`. */
function encryptedPart(algorithm: Buffer, encrypted: Buffer): Buffer {
  const encryptedContentInfo = seq(objectId(OID_DATA), algorithm, der(0x80, encrypted));
  return seq(objectId(OID_ENCRYPTED_DATA), explicit0(seq(int(0n), encryptedContentInfo)));
}

function pbes2Algorithm(salt: Buffer, iterations: bigint, iv: Buffer): Buffer {
  const kdf = seq(
    objectId(OID_PBKDF2),
    seq(octetString(salt), int(iterations), seq(objectId(OID_HMAC_SHA256), nullValue)),
  );
  return seq(objectId(OID_PBES2), seq(kdf, seq(objectId(OID_AES128_CBC), octetString(iv))));
}

function problem(fn: () => unknown): TrustStoreError {
  return thrownBy(TrustStoreError, fn);
}

/**
 * A refusal that must come before any costly work: no assertion is on a time (the machine may be loaded), but
 * the work it stops would take hours (2^48 key derivation rounds) or exhaust the stack, so a regression shows as
 * this deadline of the test runner, a hundred times what the refusal takes on a loaded machine.
 */
const BEFORE_THE_WORK = { timeout: 60_000 };

/** The start of a PEM certificate cut off before its END line, as a truncated copy leaves it. */
const TRUNCATED_PEM = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBfjCCASOgAwIBAgIUNwSd3Z0Wm1NIZ1B7mEa6XbmdgFYwCgYIKoZIzj0EAwIw',
  'FDESMBAGA1UEAwwJdW5pdCB0ZXN0MB4XDTI1MDEwMTAwMDAwMFoXDTM1MDEwMTAw',
].join('\n');

describe('der: every length, depth and integer is bounded', () => {
  test('a length beyond the remaining input, or of more than 4 bytes, is refused (truncated DER)', () => {
    assert.throws(() => parseNode(Buffer.from([0x30, 0x05, 0x02, 0x01]), 0), DerError);
    assert.throws(() => parseNode(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00]), 0), /truncated/);
    assert.throws(() => parseNode(Buffer.from([0x30, 0x88, 0, 0, 0, 0, 0, 0, 0, 1, 0]), 0), /a length of 8 bytes/);
    assert.throws(() => parseNode(Buffer.from([0x30, 0x82, 0x01]), 0), /truncated/);
    assert.throws(() => parseNode(Buffer.from([0x30]), 0), /truncated/);
    // An indefinite length without its end-of-contents octets.
    assert.throws(() => parseNode(Buffer.from([0x30, 0x80, 0x05, 0x00]), 0), /unterminated/);
  });

  test(
    'a million nested indefinite-length headers: refused at MAX_DEPTH, at once, without exhausting the stack',
    BEFORE_THE_WORK,
    () => {
      const depth = 1_000_000;
      const hostile = Buffer.concat([Buffer.alloc(depth * 2).fill(Buffer.from([0x30, 0x80])), Buffer.alloc(depth * 2)]);
      assert.throws(() => parseNode(hostile, 0), new RegExp(`nested deeper than ${MAX_DEPTH} levels`));
      // Nesting within the limit is read.
      const fine = Buffer.concat([Buffer.alloc(20).fill(Buffer.from([0x30, 0x80])), Buffer.alloc(20)]);
      assert.equal(parseNode(fine, 0).raw.length, 40);
    },
  );

  test('an INTEGER above its field maximum is refused with its exact value; a negative or empty one too', () => {
    const node = (bytes: Buffer): ReturnType<typeof parseNode> => parseNode(bytes, 0);
    assert.equal(integer(node(int(BigInt(MAX_ITERATIONS))), MAX_ITERATIONS), MAX_ITERATIONS);
    for (const value of [BigInt(MAX_ITERATIONS) + 1n, 2n ** 40n, 2n ** 48n, 2n ** 64n]) {
      assert.throws(
        () => integer(node(int(value)), MAX_ITERATIONS, 'an iteration count'),
        (error: unknown) => error instanceof DerRangeError && error.value === value,
        String(value),
      );
    }
    assert.throws(
      () => integer(node(int(2n ** 200n)), MAX_ITERATIONS),
      (error: unknown) => error instanceof DerRangeError && error.value === undefined,
    );
    assert.throws(() => integer(node(Buffer.from([0x02, 0x01, 0xff])), MAX_ITERATIONS), /negative/);
    assert.throws(() => integer(node(Buffer.from([0x02, 0x00])), MAX_ITERATIONS), /empty/);
  });

  test('an OBJECT IDENTIFIER with an endless arc or a truncated last arc is refused', () => {
    assert.equal(oid(parseNode(objectId(OID_PBES2), 0)), OID_PBES2);
    assert.throws(
      () =>
        oid(
          parseNode(der(0x06, Buffer.concat([Buffer.from([0x2a]), Buffer.alloc(100, 0xff), Buffer.from([0x01])])), 0),
        ),
      /arc too large/,
    );
    assert.throws(() => oid(parseNode(der(0x06, Buffer.from([0x2a, 0x86])), 0)), /truncated/);
  });

  test('children of a truncated SEQUENCE are refused, not read past the end', () => {
    const sequence = parseNode(Buffer.from([0x30, 0x04, 0x04, 0x05, 0x41, 0x42]), 0);
    assert.throws(() => children(sequence), /truncated/);
  });
});

describe('pkcs12: crafted files asking for absurd work are refused fast', () => {
  test(
    'a MAC asking for 2^48 (and 2^64, and a 41-byte number of) rounds: refused before deriving, naming the number',
    BEFORE_THE_WORK,
    () => {
      for (const [iterations, says] of [
        [2n ** 48n, /281474976710656 key derivation rounds/],
        [2n ** 64n, /18446744073709551616 key derivation rounds/],
        [2n ** 319n, /a 41-byte number of key derivation rounds/],
      ] as const) {
        const file = pfx(seq(), macData(iterations));
        const error = problem(() => readTrustStore(file, 'secret'));
        assert.equal(error.problem, 'unsupported');
        assert.match(error.message, says);
      }
    },
  );

  test(
    'an encrypted part asking for 2^48 rounds (PKCS#12 PBE and PBES2): refused, not derived',
    BEFORE_THE_WORK,
    () => {
      for (const algorithm of [
        seq(objectId(OID_PBE_SHA1_3DES), seq(octetString(Buffer.alloc(8, 2)), int(2n ** 48n))),
        pbes2Algorithm(Buffer.alloc(8, 2), 2n ** 48n, Buffer.alloc(16)),
      ]) {
        const file = pfx(seq(encryptedPart(algorithm, Buffer.alloc(16))));
        const error = problem(() => readTrustStore(file, 'secret'));
        assert.equal(error.problem, 'unsupported');
        assert.match(
          error.message,
          /281474976710656 key derivation rounds, more than a trust store needs \(at most 1000000\)/,
        );
      }
    },
  );

  test(
    'a thousand encrypted parts, each within the per-derivation limit: refused once the total is spent',
    BEFORE_THE_WORK,
    () => {
      const iterations = MAX_ITERATIONS;
      const salt = Buffer.alloc(8, 3);
      const iv = Buffer.alloc(16, 4);
      const key = pbkdf2Sync(Buffer.from('secret'), salt, iterations, 16, 'sha256');
      const cipher = createCipheriv('aes-128-cbc', key, iv);
      const encrypted = Buffer.concat([cipher.update(seq()), cipher.final()]); // an empty SafeContents
      const part = encryptedPart(pbes2Algorithm(salt, BigInt(iterations), iv), encrypted);
      const file = pfx(seq(...Array.from({ length: 1000 }, () => part)));
      const error = problem(() => readTrustStore(file, 'secret'));
      assert.equal(error.problem, 'unsupported');
      assert.match(error.message, new RegExp(`more than ${MAX_TOTAL_ROUNDS} key derivation rounds in all`));
      // Six derivations at most (about 0.4 s each), not a thousand (the test's deadline).
    },
  );

  test('the budget and the KDF refuse beyond their limits themselves', () => {
    const budget = new KdfBudget();
    budget.spend(MAX_TOTAL_ROUNDS);
    assert.throws(() => budget.spend(1), TrustStoreError);
    assert.throws(
      () => pkcs12Kdf('sha1', Buffer.alloc(0), Buffer.alloc(8), 1, MAX_ITERATIONS + 1, 24),
      /key derivation rounds/,
    );
    assert.throws(() => pkcs12Kdf('sha1', Buffer.alloc(0), Buffer.alloc(8), 1, 2 ** 48, 24), /key derivation rounds/);
  });

  test('truncated PKCS#12 and DER files are refused as unrecognized, not read past their end', () => {
    const file = pfx(seq(), macData(2048n));
    for (let cut = 1; cut < file.length; cut += 7) {
      assert.equal(
        problem(() => readTrustStore(file.subarray(0, file.length - cut), undefined)).problem,
        'unrecognized',
        `cut ${cut}`,
      );
    }
  });
});

describe('rc2: key, effective length and IV are bounded', () => {
  test('an empty or 129-byte key, 0 or 1025 effective bits, a short IV: refused', () => {
    const block = Buffer.alloc(8);
    assert.throws(() => rc2CbcDecrypt(Buffer.alloc(0), 40, block, block), /RC2 key of 0 bytes/);
    assert.throws(() => rc2CbcDecrypt(Buffer.alloc(129), 40, block, block), /RC2 key of 129 bytes/);
    assert.throws(() => rc2CbcDecrypt(Buffer.alloc(5), 0, block, block), /effective key length/);
    assert.throws(() => rc2CbcDecrypt(Buffer.alloc(5), 1025, block, block), /effective key length/);
    assert.throws(() => rc2CbcDecrypt(Buffer.alloc(5), 40, Buffer.alloc(4), block), /RC2 IV of 4 bytes/);
    assert.throws(() => rc2CbcDecrypt(Buffer.alloc(5), 40, block, Buffer.alloc(12)), /whole number of blocks/);
  });
});

describe('pem: every certificate block must be a certificate', () => {
  const good = (): string => caPem();

  test('garbage base64, a block that is not X.509, a BEGIN without END: refused naming the block and its line', () => {
    const ca = good();
    const cases: [string, RegExp][] = [
      [
        `${ca}\n-----BEGIN CERTIFICATE-----\nthis is not base64!\n-----END CERTIFICATE-----\n`,
        /PEM certificate 2 \(line \d+\) is not valid base64/,
      ],
      [
        `-----BEGIN CERTIFICATE-----\n${Buffer.from('hello world, not DER').toString('base64')}\n-----END CERTIFICATE-----\n`,
        /PEM certificate 1 \(line 1\) is not an X\.509 certificate/,
      ],
      [`# bundle\n${TRUNCATED_PEM}\n`, /PEM certificate 1 \(line 2\) has no END CERTIFICATE line/],
      [`${TRUNCATED_PEM}\n${ca}`, /PEM certificate 1 \(line 1\) has no END CERTIFICATE line/],
    ];
    for (const [text, says] of cases) {
      const error = problem(() => readTrustStore(Buffer.from(text), undefined));
      assert.equal(error.problem, 'invalid-pem');
      assert.match(error.message, says);
    }
  });

  test('a valid bundle reads as before; system bundles keep the plain pattern', () => {
    const ca = good();
    assert.deepEqual(readPemCertificates(`comment\n${ca}\n${ca}`)?.length, 2);
    assert.equal(readPemCertificates('no PEM here'), undefined);
    assert.equal(pemCertificateBlocks(`${ca}\n${ca}`).length, 2);
    assert.ok(new X509Certificate(readTrustStore(Buffer.from(ca), undefined).certificates[0]!).ca);
  });

  test('through resolveSettings: exit 89, one line naming the file and the block', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pes-pem-'));
    try {
      const file = path.join(dir, 'ca.pem');
      writeFileSync(file, `${good()}\n-----BEGIN CERTIFICATE-----\nAAAA garbage ****\n-----END CERTIFICATE-----\n`);
      const options = {
        baseDN: ['dc=example,dc=com'],
        isDestination: true,
        bindDN: 'cn=admin',
        prompt: false,
        useSSL: true,
        trustStorePath: file,
      };
      const environment = {
        env: { PES_BIND_PASSWORD: 'x', PES_SYNC_PASSWORD: 'y' },
        stdinIsTTY: false,
        readStdin: () => '',
      };
      assert.throws(
        () => resolveSettings(options, new Set(), environment),
        (error: unknown) => {
          assert.ok(error instanceof PrepareError, String(error));
          assert.equal(error.resultCode, ResultCode.PARAM_ERROR);
          assert.equal(
            error.message,
            `--trustStorePath '${file}' cannot be read: its PEM certificate 2 (line ${good().split('\n').length + 1}) is not valid base64`,
          );
          assert.ok(!error.message.includes('\n'));
          return true;
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A self-signed CA certificate in PEM, made once by openssl (as the other trust store tests make theirs). */
let caCache: string | undefined;
function caPem(): string {
  if (caCache !== undefined) return caCache;
  const dir = mkdtempSync(path.join(tmpdir(), 'pes-ca-'));
  try {
    const out = path.join(dir, 'ca.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        path.join(dir, 'ca.key'),
        '-out',
        out,
        '-days',
        '2',
        '-subj',
        '/CN=pem test CA',
      ],
      { stdio: 'ignore' },
    );
    caCache = readFileSync(out, 'utf8').trim();
    return caCache;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
