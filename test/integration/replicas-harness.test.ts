// Self-test of the replicated pairs (test/servers/replication.ts): a write on either server reaches the other.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { adminBind, readEntry, withClient } from '../helpers/directory.js';
import { startDs389Pair, startSlapdPair, type Ds389Pair, type SlapdPair } from '../servers/replication.js';

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`${what} did not happen in 60 s`);
}

async function addOu(server: { url: string; adminDn: string; adminPassword: string }, ou: string): Promise<void> {
  await withClient(server.url, adminBind(server), (c) =>
    c.add(`ou=${ou},dc=example,dc=com`, { objectClass: ['top', 'organizationalUnit'], ou }),
  );
}

function replicatesBothWays(pair: () => Ds389Pair | SlapdPair | undefined): void {
  test('a write on either server reaches the other', async () => {
    const p = pair();
    assert.ok(p, 'the pair started');
    await addOu(p.a, 'FromA');
    await addOu(p.b, 'FromB');
    for (const [server, ou] of [
      [p.b, 'FromA'],
      [p.a, 'FromB'],
    ] as const) {
      await waitFor(
        `ou=${ou} on ${server.url}`,
        async () => (await readEntry(server.url, adminBind(server), `ou=${ou},dc=example,dc=com`)) !== undefined,
      );
    }
  });
}

describe('389 DS multi-supplier pair', () => {
  let pair: Ds389Pair | undefined;
  before(async () => {
    pair = await startDs389Pair();
  });
  after(async () => {
    await pair?.stop();
  });
  replicatesBothWays(() => pair);
});

describe('slapd multi-provider pair', () => {
  let pair: SlapdPair | undefined;
  before(async () => {
    pair = await startSlapdPair();
  });
  after(async () => {
    await pair?.stop();
  });
  replicatesBothWays(() => pair);
});
