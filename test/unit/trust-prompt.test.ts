// The question asked at a terminal about a server certificate nothing vouches for (src/cli/trust-prompt.ts),
// with the inspection and the terminal stubbed: what is shown, and what each answer does.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TLSSocket } from 'node:tls';
import { trustAtTerminal } from '../../src/cli/trust-prompt.js';
import { pinnedMismatch } from '../../src/tls/trust.js';
import type { ConnectionOptions, ServerCertificateFacts } from '../../src/model/directory.js';
import { PrepareError } from '../../src/model/errors.js';
import type { Prompter } from '../../src/core/ports.js';

const OPTIONS: ConnectionOptions = {
  host: 'ds1.example.com',
  port: 636,
  security: 'ssl',
  trust: { kind: 'system' },
  connectTimeoutMs: 1000,
  operationTimeoutMs: 1000,
};
const FACTS: ServerCertificateFacts = {
  subject: 'CN=wrong.example',
  issuer: 'CN=Some CA',
  validFrom: 'Jan  1 00:00:00 2026 GMT',
  validTo: 'Jan  1 00:00:00 2036 GMT',
  fingerprint256: 'AA:BB',
  trusted: false,
  reason: 'no trusted CA issued it',
  hostMismatch:
    "Hostname/IP does not match certificate's altnames: Host: ds1.example.com. is not in the cert's altnames",
};

function answering(answer: string, asked: string[]): Prompter {
  return {
    text: (message) => {
      asked.push(message);
      return Promise.resolve(answer);
    },
    secret: () => Promise.reject(new Error('not asked')),
    newSecret: () => Promise.reject(new Error('not asked')),
  };
}

describe('trustAtTerminal', () => {
  test('shown: subject, issuer, validity, fingerprint and the host name mismatch; "yes" pins that certificate', async () => {
    const shown: string[] = [];
    const asked: string[] = [];
    const trust = await trustAtTerminal(
      OPTIONS,
      answering('yes', asked),
      () => Promise.resolve(FACTS),
      (t) => shown.push(t),
    );
    assert.deepEqual(trust, { kind: 'pinned', fingerprint256: 'AA:BB', subject: 'CN=wrong.example' });
    const text = shown.join('\n');
    for (const line of [
      'Subject:     CN=wrong.example',
      'Issuer:      CN=Some CA',
      'Valid until: Jan  1',
      'SHA-256 fingerprint: AA:BB',
      'Host name:   Hostname/IP does not match',
    ])
      assert.ok(text.includes(line), text);
    assert.deepEqual(asked, ['Do you trust this certificate for this run? (yes/no)']);
  });

  test('"no": 91 naming --trustStorePath', async () => {
    await assert.rejects(
      trustAtTerminal(
        OPTIONS,
        answering('no', []),
        () => Promise.resolve(FACTS),
        () => undefined,
      ),
      (error: unknown) =>
        error instanceof PrepareError && error.resultCode === 91 && /--trustStorePath/.test(error.hint ?? ''),
    );
  });

  test('a trusted certificate, plain LDAP, ldapi or --trustAll: nothing inspected, nothing asked', async () => {
    const never = (): Promise<ServerCertificateFacts> => Promise.reject(new Error('inspected'));
    const prompter = answering('yes', []);
    assert.deepEqual(await trustAtTerminal({ ...OPTIONS, security: 'none' }, prompter, never, () => undefined), {
      kind: 'system',
    });
    assert.deepEqual(await trustAtTerminal({ ...OPTIONS, trust: { kind: 'all' } }, prompter, never, () => undefined), {
      kind: 'all',
    });
    assert.deepEqual(
      await trustAtTerminal(
        OPTIONS,
        prompter,
        () => Promise.resolve({ ...FACTS, trusted: true }),
        () => {
          throw new Error('shown');
        },
      ),
      { kind: 'system' },
    );
  });
});

describe('a pinned certificate', () => {
  test('another certificate presented later ends the connection; the same one, or other trusts, do not', () => {
    const presenting = (fingerprint256: string): TLSSocket =>
      ({ getPeerCertificate: () => ({ fingerprint256 }) }) as unknown as TLSSocket;
    const pinned = { kind: 'pinned', fingerprint256: 'AA:BB', subject: 'CN=x' } as const;
    assert.equal(pinnedMismatch(pinned, presenting('AA:BB')), undefined);
    assert.match(pinnedMismatch(pinned, presenting('CC:DD'))?.message ?? '', /another certificate than 'CN=x'/);
    assert.equal(pinnedMismatch({ kind: 'system' }, presenting('CC:DD')), undefined);
  });
});
