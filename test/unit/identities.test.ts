// Two identities on one server (src/core/identities.ts): what is under cn=config goes to the SASL EXTERNAL
// connection, everything else to the bind DN's own connection once it is bound, and nothing before that.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TwoIdentityDirectory } from '../../src/core/identities.js';
import type { Directory, DirectoryStats } from '../../src/model/directory.js';
import type { Change, Entry } from '../../src/model/entries.js';

/** A connection that records what it was asked, under its name. */
function recorder(name: string, calls: string[], stats: DirectoryStats): Directory {
  const entry = (dn: string): Entry => ({ dn, attributes: new Map([['seenby', [name]]]) });
  return {
    address: 'ldapi://%2Frun%2Fslapd%2Fldapi',
    stats,
    bind: (dn) => {
      calls.push(`${name} bind ${dn}`);
      return Promise.resolve();
    },
    bindExternal: () => {
      calls.push(`${name} EXTERNAL`);
      return Promise.resolve('gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth');
    },
    read: (dn) => {
      calls.push(`${name} read ${dn}`);
      return Promise.resolve(entry(dn));
    },
    search: (base) => {
      calls.push(`${name} search ${base}`);
      return Promise.resolve([entry(base)]);
    },
    dirSync: () => Promise.reject(new Error('not used')),
    apply: (change: Change) => {
      calls.push(`${name} ${change.kind} ${change.dn}`);
      return Promise.resolve();
    },
    close: () => {
      calls.push(`${name} close`);
      return Promise.resolve();
    },
  };
}

describe('TwoIdentityDirectory', () => {
  test('cn=config to the EXTERNAL identity, entries to the bind DN; EXTERNAL alone does everything', async () => {
    const calls: string[] = [];
    const stats = { reads: 0, writes: 0 };
    const directory = new TwoIdentityDirectory(recorder('external', calls, stats), () =>
      Promise.resolve(recorder('data', calls, stats)),
    );
    await directory.bindExternal();
    await directory.read('dc=example,dc=com', ['objectClass']);
    await directory.bind('cn=admin,dc=example,dc=com', 'secret');
    await directory.read('olcDatabase={1}mdb,cn=config', ['olcAccess']);
    await directory.search('CN=Config', 'sub', '(objectClass=*)', ['*']);
    await directory.apply({ kind: 'add', dn: 'cn=Sync User,dc=example,dc=com', attributes: { cn: ['Sync User'] } });
    await directory.apply({ kind: 'modify', dn: 'cn=module{0},cn=config', modifications: [] });
    await directory.read('', ['namingContexts']);
    await directory.close();
    assert.deepEqual(calls, [
      'external EXTERNAL',
      'external read dc=example,dc=com',
      'data bind cn=admin,dc=example,dc=com',
      'external read olcDatabase={1}mdb,cn=config',
      'external search CN=Config',
      'data add cn=Sync User,dc=example,dc=com',
      'external modify cn=module{0},cn=config',
      'data read ',
      'data close',
      'external close',
    ]);
  });
});
