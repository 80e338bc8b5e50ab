// The StartTLS downgrade attack, performed: a key-less man in the middle between the CLI and a real 389 DS
// with StartTLS and a verified certificate withholds the server's answers from the client's N-th record on, for
// every N of a first run and of a re-run. Whatever N, the CLI must give up with one line (85 or 91) or finish,
// and every byte it sent on every connection must be a StartTLS request followed by TLS records: never a
// password, never a write in clear (ldapts on its own reconnects in plain TCP after a timeout, without
// StartTLS and without a bind, and sends the next write there).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { runCli, type RunCliResult } from '../helpers/cli.js';
import { describeRun, makeTempDir, secretFile, started } from '../helpers/fixture.js';
import { startRecordingRelay, type RelayedConnection } from '../helpers/ldap-proxy.js';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { makeTestCertificates, serverTls, type TestCertificates } from '../servers/tls.js';

const SUFFIX = 'dc=example,dc=com';
const SYNC_PASSWORD = 'Sync-Downgrade-Sentinel-7f3a';
const STARTTLS_OID = '1.3.6.1.4.1.1466.20037';
/** Runs at once: each waits out its --operationTimeout, the server does little. */
const PARALLEL = 4;

let certs: TestCertificates | undefined;
let ds: Ds389 | undefined;
let tmp = '';
/** Written once: runs at once must not read a file while another rewrites it. */
let adminFile = '';
let syncFile = '';

before(async () => {
  tmp = makeTempDir('pes-hostile-starttls-');
  certs = await makeTestCertificates();
  ds = await startDs389({ tls: serverTls(certs) });
  adminFile = secretFile(tmp, 'admin.pw', ds.adminPassword);
  syncFile = secretFile(tmp, 'sync.pw', SYNC_PASSWORD);
});

after(async () => {
  await ds?.stop();
  certs?.cleanup();
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

function cliArgs(port: number, syncDn: string): string[] {
  const server = started(ds, '389 DS');
  return [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-D',
    server.adminDn,
    '--bindPasswordFile',
    adminFile,
    '--syncServerBindPasswordFile',
    syncFile,
    '--syncServerBindDN',
    syncDn,
    '-b',
    SUFFIX,
    '--isDestination',
    '--useStartTLS',
    '--trustStorePath',
    started(certs, 'certificates').caPem,
    '--operationTimeout',
    '1s',
    '--connectTimeout',
    '2s',
    '--no-prompt',
    '--logFile',
    path.join(tmp, 'run.log'),
  ];
}

/** The length of the BER element at the start of `bytes` (header included), or undefined when cut short. */
function berLength(bytes: Buffer): number | undefined {
  if (bytes.length < 2) return undefined;
  const first = bytes.readUInt8(1);
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (bytes.length < 2 + n) return undefined;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + bytes.readUInt8(2 + i);
  return 2 + n + length;
}

/**
 * What the relay saw on one connection is a StartTLS request, then TLS records only (a handshake first):
 * nothing else in clear. Returns why not, or undefined.
 */
function clearTextProblem(connection: RelayedConnection): string | undefined {
  const bytes = Buffer.concat(connection.clientChunks);
  if (bytes.length === 0) return undefined;
  const first = berLength(bytes);
  if (first === undefined) return undefined;
  const request = bytes.subarray(0, first);
  if (!request.includes(Buffer.from(STARTTLS_OID)))
    return `the first message was not StartTLS: ${request.toString('hex').slice(0, 80)}`;
  let offset = first;
  let records = 0;
  while (offset + 5 <= bytes.length) {
    const type = bytes.readUInt8(offset);
    if (records === 0 && type !== 0x16) return `after StartTLS came 0x${type.toString(16)}, not a TLS handshake`;
    if (type < 0x14 || type > 0x17 || bytes.readUInt8(offset + 1) !== 0x03)
      return `a byte stream that is no TLS record at offset ${offset}`;
    offset += 5 + bytes.readUInt16BE(offset + 3);
    records += 1;
  }
  return undefined;
}

function assertNothingInClear(connections: readonly RelayedConnection[], r: RunCliResult, label: string): void {
  const server = started(ds, '389 DS');
  for (const [i, connection] of connections.entries()) {
    const bytes = Buffer.concat(connection.clientChunks);
    for (const secret of [SYNC_PASSWORD, server.adminPassword]) {
      assert.ok(!bytes.includes(Buffer.from(secret, 'utf8')), `${label}: a password in clear on connection ${i + 1}`);
    }
    const problem = clearTextProblem(connection);
    assert.equal(problem, undefined, `${label}, connection ${i + 1}: ${problem ?? ''}\n${describeRun(r)}`);
  }
}

/** One run through a relay that withholds from record `n` on: it ends by itself, in one line, with nothing in clear. */
async function attackAt(n: number, syncDn: string): Promise<RunCliResult> {
  const relay = await startRecordingRelay(
    { host: '127.0.0.1', port: started(ds, '389 DS').port },
    { withholdAfter: n },
  );
  try {
    const r = await runCli(cliArgs(relay.port, syncDn), { timeoutMs: 60_000 });
    const label = `withheld from record ${n}`;
    assert.equal(r.timedOut, false, `${label}: the CLI hung\n${describeRun(r)}`);
    assert.ok([0, 85, 91].includes(r.code ?? -1), `${label}: exit ${r.code}\n${describeRun(r)}`);
    if (r.code !== 0) {
      const lines = r.stderr.split('\n').filter((line) => line.trim() !== '');
      assert.equal(lines.length, 1, `${label}: one line\n${describeRun(r)}`);
      assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/, `${label}: no stack`);
    }
    assertNothingInClear(relay.connections, r, label);
    return r;
  } finally {
    await relay.close();
  }
}

/** Every position from 1 to `positions`, PARALLEL at a time; returns how many runs ended with each exit code. */
async function sweep(positions: number, syncDn: (n: number) => string): Promise<string> {
  const queue = Array.from({ length: positions }, (_, i) => i + 1);
  const codes = new Map<number | null, number>();
  const worker = async (): Promise<void> => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      const { code } = await attackAt(n, syncDn(n));
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return `${positions} positions, exit codes ${[...codes].map(([code, count]) => `${code}: ${count}`).join(', ')}`;
}

describe('StartTLS through a key-less man in the middle who withholds answers', () => {
  let firstRunRecords = 0;
  let reRunRecords = 0;
  const baseline = `cn=Sync Baseline,${SUFFIX}`;

  test('without interference: a first run and a re-run through the relay succeed, all in TLS', async () => {
    for (const which of ['first', 'again'] as const) {
      const relay = await startRecordingRelay({ host: '127.0.0.1', port: started(ds, '389 DS').port });
      try {
        const r = await runCli(cliArgs(relay.port, baseline), { timeoutMs: 60_000 });
        assert.equal(r.code, 0, describeRun(r));
        assertNothingInClear(relay.connections, r, `${which} run`);
        if (which === 'first') firstRunRecords = relay.clientChunkCount();
        else reRunRecords = relay.clientChunkCount();
      } finally {
        await relay.close();
      }
    }
    assert.ok(firstRunRecords > 5 && reRunRecords > 5, `records: ${firstRunRecords}, ${reRunRecords}`);
  });

  test('every record position of a first run (a new sync user each time): no password, no write in clear', async (t) => {
    // Chunking varies a little from run to run: a few positions past the count are tried too.
    t.diagnostic(await sweep(firstRunRecords + 2, (n) => `cn=Sync First ${n},${SUFFIX}`));
  });

  test('every record position of a re-run: no password, no write in clear', async (t) => {
    t.diagnostic(await sweep(reRunRecords + 2, () => baseline));
  });
});
