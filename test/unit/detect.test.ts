import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SERVER_TYPES, detectServer } from '../../src/servers/detect.js';
import type { Entry } from '../../src/model/entries.js';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli.js';

const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'rootdse');

/** A root DSE as the directory layer returns it: DN '', attribute names lower-cased. */
function rootDse(attributes: Record<string, string[]>): Entry {
  return {
    dn: '',
    attributes: new Map(Object.entries(attributes).map(([name, values]) => [name.toLowerCase(), values])),
  };
}

describe('detectServer', () => {
  const cases: ReadonlyArray<{ title: string; attributes: Record<string, string[]>; family: string; vendor: string }> =
    [
      {
        title: '389 DS 2.x',
        attributes: {
          vendorName: ['389 Project'],
          vendorVersion: ['389-Directory/2.3.1 B2025.016.1616'],
          objectClass: ['top'],
        },
        family: '389ds',
        vendor: '389 Project 389-Directory/2.3.1 B2025.016.1616',
      },
      {
        title: '389 DS with only vendorVersion',
        attributes: { vendorVersion: ['389-Directory/1.4.3.39 B2024.100.0000'] },
        family: '389ds',
        vendor: '389-Directory/1.4.3.39 B2024.100.0000',
      },
      {
        title: 'Red Hat Directory Server',
        attributes: { vendorName: ['Red Hat, Inc.'], vendorVersion: ['Red Hat-Directory/11.5 B2022.123.1234'] },
        family: '389ds',
        vendor: 'Red Hat, Inc. Red Hat-Directory/11.5 B2022.123.1234',
      },
      {
        title: 'Sun DSEE 7',
        attributes: { vendorName: ['Sun Microsystems, Inc.'], vendorVersion: ['Sun-Directory-Server/7.0'] },
        family: 'dsee',
        vendor: 'Sun Microsystems, Inc. Sun-Directory-Server/7.0',
      },
      {
        title: 'Sun Java System Directory 6.3 (no vendorName)',
        attributes: { vendorVersion: ['Sun-Java(tm)-System-Directory/6.3'] },
        family: 'dsee',
        vendor: 'Sun-Java(tm)-System-Directory/6.3',
      },
      {
        title: 'Oracle DSEE 11g (Oracle vendorName, Sun version string)',
        attributes: { vendorName: ['Oracle Corporation'], vendorVersion: ['Sun-Directory-Server/11.1.1.7.2'] },
        family: 'dsee',
        vendor: 'Oracle Corporation Sun-Directory-Server/11.1.1.7.2',
      },
      {
        title: 'OpenLDAP (objectClass OpenLDAProotDSE, no vendor)',
        attributes: { objectClass: ['top', 'OpenLDAProotDSE'], namingContexts: ['dc=example,dc=com'] },
        family: 'openldap',
        vendor: 'OpenLDAP',
      },
      {
        title: 'Active Directory',
        attributes: {
          supportedCapabilities: ['1.2.840.113556.1.4.800', '1.2.840.113556.1.4.1670', '1.2.840.113556.1.4.1791'],
          defaultNamingContext: ['DC=corp,DC=example,DC=com'],
        },
        family: 'activedirectory',
        vendor: 'unknown vendor',
      },
      {
        title: 'Samba AD DC',
        attributes: {
          vendorName: ['Samba Team (https://www.samba.org)'],
          supportedCapabilities: ['1.2.840.113556.1.4.800', '1.2.840.113556.1.4.1670'],
        },
        family: 'activedirectory',
        vendor: 'Samba Team (https://www.samba.org)',
      },
      {
        title: 'PingDirectory',
        attributes: {
          vendorName: ['Ping Identity Corporation'],
          vendorVersion: ['Ping Identity Directory Server 9.3.0.0'],
        },
        family: 'pingdirectory',
        vendor: 'Ping Identity Corporation Ping Identity Directory Server 9.3.0.0',
      },
      {
        title: 'PingDirectoryProxy',
        attributes: {
          vendorName: ['Ping Identity Corporation'],
          vendorVersion: ['Ping Identity Directory Proxy Server 9.3.0.0'],
        },
        family: 'pingdirectoryproxy',
        vendor: 'Ping Identity Corporation Ping Identity Directory Proxy Server 9.3.0.0',
      },
      {
        title: 'UnboundID Directory Server',
        attributes: { vendorName: ['UnboundID Corp.'], vendorVersion: ['UnboundID Directory Server 5.2'] },
        family: 'pingdirectory',
        vendor: 'UnboundID Corp. UnboundID Directory Server 5.2',
      },
      {
        title: 'Nokia / Alcatel-Lucent 8661',
        attributes: { vendorName: ['Alcatel-Lucent'], vendorVersion: ['Alcatel-Lucent 8661 Directory Server'] },
        family: 'pingdirectory',
        vendor: 'Alcatel-Lucent Alcatel-Lucent 8661 Directory Server',
      },
      {
        title: 'Nokia vendorName',
        attributes: { vendorName: ['Nokia'], vendorVersion: ['Nokia 8661 Directory Server 7.0'] },
        family: 'pingdirectory',
        vendor: 'Nokia Nokia 8661 Directory Server 7.0',
      },
      {
        title: 'ApacheDS (unknown family)',
        attributes: {
          vendorName: ['Apache Software Foundation'],
          vendorVersion: ['2.0.0.AM26'],
          objectClass: ['top', 'extensibleObject'],
        },
        family: 'generic',
        vendor: 'Apache Software Foundation 2.0.0.AM26',
      },
      {
        title: 'an empty root DSE',
        attributes: {},
        family: 'generic',
        vendor: 'unknown vendor',
      },
    ];

  for (const { title, attributes, family, vendor } of cases) {
    test(`${title} -> ${family}`, () => {
      assert.deepEqual(detectServer(rootDse(attributes)), { family, vendor });
    });
  }

  test('an undefined root DSE (not readable) -> generic, unknown vendor', () => {
    assert.deepEqual(detectServer(undefined), { family: 'generic', vendor: 'unknown vendor' });
  });

  test('attribute names must be lower-case keys; values are matched case-insensitively', () => {
    assert.equal(detectServer(rootDse({ objectclass: ['OPENLDAPROOTDSE'] })).family, 'openldap');
    assert.equal(
      detectServer(
        rootDse({
          vendorname: ['PING IDENTITY CORPORATION'],
          vendorversion: ['PING IDENTITY DIRECTORY PROXY SERVER 10.0'],
        }),
      ).family,
      'pingdirectoryproxy',
    );
  });

  test('the cases and the root DSE fixtures detect every --serverType choice other than auto, and nothing else', () => {
    // The OpenDS lineage (pingds, opendj, oud) is detected from published root DSEs in test/fixtures/rootdse.
    const fixtures = readdirSync(FIXTURES).filter((name) => name.endsWith('.json'));
    const fixtureFamilies = fixtures.map(
      (name) => (JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as { family: string }).family,
    );
    const families = [...new Set([...cases.map((c) => c.family), ...fixtureFamilies])].sort();
    assert.deepEqual(families, SERVER_TYPES.filter((type) => type !== 'auto').sort());
  });
});
