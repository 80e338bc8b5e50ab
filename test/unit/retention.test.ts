// The retention rule (servers/retention.ts) and the plain-LDAP host rule (core/run.ts), without a server.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackHost } from '../../src/core/run.js';
import { decideRetention, wantedRetention } from '../../src/servers/retention.js';

const DAY = 86400;

describe('decideRetention', () => {
  test('no age asked for: a finite age on the server is kept, whatever it is', () => {
    for (const current of [3600, 2 * DAY, 30 * DAY]) {
      assert.deepEqual(decideRetention(current, { seconds: 2 * DAY, explicit: false }), {
        seconds: current,
        change: false,
        kept: true,
        warning: undefined,
      });
    }
  });

  test('no age asked for: unset, 0 or negative (never purged) gets the default', () => {
    for (const current of [undefined, 0, -1]) {
      const decision = decideRetention(current, { seconds: 2 * DAY, explicit: false });
      assert.deepEqual(
        [decision.seconds, decision.change, decision.kept, decision.warning],
        [2 * DAY, true, false, undefined],
      );
    }
  });

  test('an explicit age applies; shorter than the current one it warns with both values, longer or equal it does not', () => {
    const shorter = decideRetention(30 * DAY, { seconds: 2 * DAY, explicit: true });
    assert.equal(shorter.change, true);
    assert.match(shorter.warning ?? '', /shortens the change log retention from 30d to 2d/);
    assert.equal(decideRetention(DAY, { seconds: 7 * DAY, explicit: true }).warning, undefined);
    assert.deepEqual(decideRetention(7 * DAY, { seconds: 7 * DAY, explicit: true }), {
      seconds: 7 * DAY,
      change: false,
      kept: false,
      warning: undefined,
    });
  });

  test('wantedRetention: keepCurrentChangelogMaxAge means not explicit', () => {
    assert.deepEqual(wantedRetention({ changelogMaxAgeSeconds: DAY, keepCurrentChangelogMaxAge: true }), {
      seconds: DAY,
      explicit: false,
    });
    assert.deepEqual(wantedRetention({ changelogMaxAgeSeconds: DAY }), { seconds: DAY, explicit: true });
  });
});

describe('isLoopbackHost', () => {
  test('localhost and loopback addresses in their spellings', () => {
    for (const host of [
      'localhost',
      'LOCALHOST',
      'localhost.',
      'ldap.localhost',
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
    ]) {
      assert.equal(isLoopbackHost(host), true, host);
    }
  });

  test('every other host, including names that look close', () => {
    for (const host of [
      'ldap.example.com',
      '10.0.0.1',
      '128.0.0.1',
      '127.0.0.1.example.com',
      'localhost.example.com',
      '::2',
      'fe80::1',
      '192.168.1.1',
      '1270.0.0.1',
    ]) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});
