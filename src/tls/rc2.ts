/**
 * RC2 decryption (RFC 2268) in CBC mode, for PKCS#12 files written with pbeWithSHAAnd40BitRC2-CBC or
 * pbeWithSHAAnd128BitRC2-CBC (OpenSSL's -legacy, old Java keytools): OpenSSL 3 has RC2 only in its legacy
 * provider, which Node does not load.
 */
import { DerError } from './der.js';

// RFC 2268, section 2: PITABLE.
const PITABLE = Buffer.from(
  'd978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2' +
    '179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82' +
    '54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626' +
    '6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7' +
    '08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec' +
    'c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731' +
    '2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9' +
    '0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad',
  'hex',
);

const BLOCK = 8;

/**
 * CBC decryption with RC2 and PKCS#7 padding removal. The key is 1 to 128 bytes and the effective key
 * length 1 to 1024 bits (RFC 2268 section 2), the IV one block: anything else is refused rather than read
 * past the tables.
 */
/* eslint-disable @typescript-eslint/no-non-null-assertion -- RFC 2268's arithmetic indexes fixed-size tables
   (the 256-byte PITABLE, the 128-byte expanded key, 64 key words, 4 block words) with values masked into
   range (& 0xff, & 63, & 3) or loop bounds checked above: every `!` below is in range by construction. */
export function rc2CbcDecrypt(keyBytes: Buffer, effectiveBits: number, iv: Buffer, data: Buffer): Buffer {
  if (keyBytes.length < 1 || keyBytes.length > 128) throw new DerError(`an RC2 key of ${keyBytes.length} bytes`);
  if (!Number.isInteger(effectiveBits) || effectiveBits < 1 || effectiveBits > 1024)
    throw new DerError(`an RC2 effective key length of ${effectiveBits} bits`);
  if (iv.length !== BLOCK) throw new DerError(`an RC2 IV of ${iv.length} bytes`);
  if (data.length === 0 || data.length % BLOCK !== 0) throw new DerError('RC2 data is not a whole number of blocks');
  const table = rc2Table();
  const l = Buffer.alloc(128);
  keyBytes.copy(l);
  const t = keyBytes.length;
  for (let i = t; i < 128; i++) l[i] = table[(l[i - 1]! + l[i - t]!) & 0xff]!;
  const t8 = Math.ceil(effectiveBits / 8);
  const tm = 0xff >> (8 * t8 - effectiveBits);
  l[128 - t8] = table[l[128 - t8]! & tm]!;
  for (let i = 127 - t8; i >= 0; i--) l[i] = table[l[i + 1]! ^ l[i + t8]!]!;
  const k: number[] = [];
  for (let i = 0; i < 64; i++) k.push(l[2 * i]! | (l[2 * i + 1]! << 8));

  const shifts = [1, 2, 3, 5];
  const out = Buffer.alloc(data.length);
  let previous = iv;
  for (let offset = 0; offset < data.length; offset += BLOCK) {
    const r = [0, 1, 2, 3].map((w) => data.readUInt16LE(offset + 2 * w));
    let j = 63;
    const rmix = (i: number): void => {
      const s = shifts[i]!;
      let x = ((r[i]! >>> s) | (r[i]! << (16 - s))) & 0xffff;
      x -= k[j]! + (r[(i + 3) & 3]! & r[(i + 2) & 3]!) + (~r[(i + 3) & 3]! & 0xffff & r[(i + 1) & 3]!);
      r[i] = x & 0xffff;
      j--;
    };
    const rmixRound = (): void => [3, 2, 1, 0].forEach(rmix);
    const rmashRound = (): void =>
      [3, 2, 1, 0].forEach((i) => {
        r[i] = (r[i]! - k[r[(i + 3) & 3]! & 63]!) & 0xffff;
      });
    for (let n = 0; n < 5; n++) rmixRound();
    rmashRound();
    for (let n = 0; n < 6; n++) rmixRound();
    rmashRound();
    for (let n = 0; n < 5; n++) rmixRound();
    for (let w = 0; w < 4; w++) out.writeUInt16LE(r[w]! ^ previous.readUInt16LE(2 * w), offset + 2 * w);
    previous = data.subarray(offset, offset + BLOCK);
  }
  const pad = out[out.length - 1]!;
  if (pad < 1 || pad > BLOCK || !out.subarray(out.length - pad).every((b) => b === pad))
    throw new DerError('bad RC2 padding');
  return out.subarray(0, out.length - pad);
}
/* eslint-enable @typescript-eslint/no-non-null-assertion */

function rc2Table(): Buffer {
  if (PITABLE.length !== 256) throw new Error(`RC2 PITABLE has ${PITABLE.length} bytes`);
  return PITABLE;
}
