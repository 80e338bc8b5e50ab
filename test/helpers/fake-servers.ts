/**
 * FakeDirectoryServers seeded as a family's server looks before a first run, with the server's own reactions
 * to the writes a run makes (389 DS starts the change log when its plugin is enabled; Active Directory assigns
 * an objectSid to a new account).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { dnEquals } from '../../src/formats/dn.js';
import { encodeSid } from '../../src/servers/ad/security-descriptor.js';
import { repoRoot } from './cli.js';
import { ADMIN_DN, ADMIN_PASSWORD } from './core-run.js';
import { FakeDirectoryServer } from './fake-directory.js';

export const BASE = 'dc=example,dc=com';
export const SYNC_DN = `cn=Sync User,${BASE}`;
export const RETRO_CHANGELOG = 'cn=Retro Changelog Plugin,cn=plugins,cn=config';
const CHANGE_NUMBERS = new Set(['firstchangenumber', 'lastchangenumber']);

/**
 * A 389 DS 2.x with dynamic plugins and the Retro Changelog Plugin off. Enabling the plugin starts the change
 * log (cn=changelog, and change numbers in the root DSE); the root DSE shows the change numbers to an account
 * other than the Directory Manager only when a root DSE ACI names it.
 */
export function ds389(): FakeDirectoryServer {
  const server = new FakeDirectoryServer('127.0.0.1:389');
  server
    .put('', {
      objectClass: ['top'],
      vendorName: ['389 Project'],
      vendorVersion: ['389-Directory/2.3.1 B2025.016.1616'],
      namingContexts: [BASE],
    })
    .put(BASE, { objectClass: ['top', 'domain'], dc: ['example'] })
    .put('cn=config', {
      objectClass: ['top', 'extensibleObject'],
      'nsslapd-dynamic-plugins': ['on'],
      'nsslapd-rootdn': [ADMIN_DN],
    })
    .put('cn=plugins,cn=config', { objectClass: ['top', 'nsContainer'] })
    .put('cn=ldbm database,cn=plugins,cn=config', { objectClass: ['top', 'nsSlapdPlugin'] })
    .put('cn=config,cn=ldbm database,cn=plugins,cn=config', {
      objectClass: ['top', 'extensibleObject'],
      'nsslapd-backend-implement': ['bdb'],
    })
    .put(RETRO_CHANGELOG, { objectClass: ['top', 'nsSlapdPlugin'], 'nsslapd-pluginEnabled': ['off'] });
  server.passwords.set('cn=directory manager', ADMIN_PASSWORD);
  server.afterWrite = (change) => {
    if (
      !dnEquals(change.dn, RETRO_CHANGELOG) ||
      server.values(RETRO_CHANGELOG, 'nsslapd-pluginEnabled')[0] !== 'on' ||
      server.exists('cn=changelog')
    )
      return;
    server.put('cn=changelog', { objectClass: ['top', 'nsContainer'], cn: ['changelog'] });
    server.put('', { ...server.entry(''), firstChangeNumber: ['1'], lastChangeNumber: ['1'] });
  };
  server.visible = (bound, dn, attribute) => {
    if (dn !== '' || !CHANGE_NUMBERS.has(attribute) || bound === undefined || dnEquals(bound, ADMIN_DN)) return true;
    return server.values('', 'aci').some((aci) => aci.toLowerCase().includes(`ldap:///${bound.toLowerCase()}"`));
  };
  return server;
}

export const AD_BASE = 'DC=example,DC=com';
export const AD_SYNC_DN = `CN=Sync User,CN=Users,${AD_BASE}`;
export const AD_ADMIN_DN = `CN=Administrator,CN=Users,${AD_BASE}`;
export const AD_DELETED = `CN=Deleted Objects,${AD_BASE}`;
/** The objectSid the fake DC gives the first account a run creates. */
export const AD_SYNC_SID = 'S-1-5-21-2279243221-4096599812-3722786622-1105';
// Deleted Objects as its owner sees it after taking ownership: SYSTEM full, BA list+read (as in activedirectory.test.ts).
const DELETED_SD =
  'AQAElBQAAAAAAAAAAAAAACQAAAABAgAAAAAABSAAAAAgAgAABAA0AAIAAAAAABQAPwAPAAEBAAAAAAAFEgAAAAAAGAAUAAAAAQIAAAAAAAUgAAAAIAIAAA==';

/**
 * A Samba AD DC's domain as its descriptors were read from a real one (test/fixtures/samba-ad): the domain root
 * with its DACL, CN=Users, CN=Deleted Objects and BUILTIN\Administrators. A new user gets AD_SYNC_SID.
 */
export function activeDirectory(): FakeDirectoryServer {
  const fixtures = JSON.parse(
    readFileSync(path.join(repoRoot, 'test', 'fixtures', 'samba-ad', 'descriptors.json'), 'utf8'),
  ) as {
    descriptors: Array<{ dn: string; sdFlags: number; base64: string }>;
  };
  const domainDacl = fixtures.descriptors.find((f) => f.dn === AD_BASE && f.sdFlags === 4)!.base64;
  const server = new FakeDirectoryServer('127.0.0.1:636');
  server
    .put('', {
      defaultNamingContext: [AD_BASE],
      namingContexts: [AD_BASE, `CN=Configuration,${AD_BASE}`, `CN=Schema,CN=Configuration,${AD_BASE}`],
      supportedCapabilities: ['1.2.840.113556.1.4.800'],
      vendorName: [],
      objectClass: ['top'],
    })
    .put(AD_BASE, { objectClass: ['top', 'domain', 'domainDNS'], nTSecurityDescriptor: [domainDacl] })
    .put(`CN=Users,${AD_BASE}`, { objectClass: ['top', 'container'] })
    .put(`CN=Builtin,${AD_BASE}`, { objectClass: ['top', 'builtinDomain'] })
    .put(`CN=Administrators,CN=Builtin,${AD_BASE}`, { objectClass: ['top', 'group'], member: [AD_ADMIN_DN] })
    .put(AD_DELETED, { objectClass: ['top', 'container'], isDeleted: ['TRUE'], nTSecurityDescriptor: [DELETED_SD] })
    .put(AD_ADMIN_DN, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], unicodePwd: [ADMIN_PASSWORD] });
  server.afterWrite = (change) => {
    if (change.kind !== 'add' || !(change.attributes['objectClass'] ?? []).includes('user')) return;
    server.put(change.dn, {
      ...server.entry(change.dn),
      objectSid: [Buffer.from(encodeSid(AD_SYNC_SID)).toString('base64')],
    });
  };
  return server;
}
