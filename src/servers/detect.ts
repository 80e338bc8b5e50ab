/** Which server family a root DSE belongs to. Pure: a root DSE in, a family name out. */
import { firstValue, valuesOf, type Entry } from '../model/entries.js';

export const SERVER_TYPES = [
  'auto',
  'pingdirectory',
  'pingdirectoryproxy',
  'pingds',
  'opendj',
  'oud',
  '389ds',
  'dsee',
  'openldap',
  'activedirectory',
  'generic',
] as const;

export type ServerTypeName = (typeof SERVER_TYPES)[number];
export type ServerFamily = Exclude<ServerTypeName, 'auto'>;

/** Root DSE attributes that detection and the change log check read (389 DS answers some only by name). */
export const ROOT_DSE_ATTRIBUTES = [
  'objectClass',
  'vendorName',
  'vendorVersion',
  'namingContexts',
  'configContext',
  'supportedCapabilities',
  'supportedControl',
  'supportedExtension',
  'defaultNamingContext',
  'domainFunctionality',
  'changelog',
  'firstChangeNumber',
  'lastChangeNumber',
  'lastPurgedChangeNumber',
] as const;

const ACTIVE_DIRECTORY_CAPABILITY = '1.2.840.113556.1.4.800';

/**
 * Private OID arcs the servers advertise in supportedControl/supportedExtension. They tell the lineages apart where
 * the vendor name cannot: PingDS names Ping Identity as its vendor, like PingDirectory. UnboundID/Ping Directory
 * (30221) and ForgeRock/PingDS (36733) each keep OpenDS's arc (26027) beside their own, so the own arc decides.
 */
export const OID_ARC = {
  pingDirectory: '1.3.6.1.4.1.30221.',
  forgeRock: '1.3.6.1.4.1.36733.',
  openDs: '1.3.6.1.4.1.26027.',
  oracle: '2.16.840.1.113894.',
} as const;

/** The OpenDS lineage (OpenDJ, ForgeRock DS/PingDS, OUD) by its OIDs, then by its version string. */
function openDsLineage(oids: readonly string[], name: string, version: string): ServerFamily | undefined {
  const has = (arc: string): boolean => oids.some((oid) => oid.startsWith(arc));
  if (has(OID_ARC.forgeRock)) return 'pingds';
  if (has(OID_ARC.pingDirectory)) return undefined;
  if (has(OID_ARC.openDs)) {
    if (has(OID_ARC.oracle) || /oracle/.test(name) || /unified directory/.test(version)) return 'oud';
    return /^(pingds|forgerock directory services)\b/.test(version) ? 'pingds' : 'opendj';
  }
  // A root DSE that hides its OIDs: the version string, never the vendor name alone.
  if (/^(pingds|forgerock directory services)\b/.test(version)) return 'pingds';
  if (/^oracle unified directory\b/.test(version)) return 'oud';
  if (/^(opendj|opends)\b/.test(version)) return 'opendj';
  return undefined;
}

export interface Detection {
  readonly family: ServerFamily;
  /** Vendor and version as the server states them, for the console and the log. */
  readonly vendor: string;
}

export function detectServer(rootDse: Entry | undefined): Detection {
  const vendorName = firstValue(rootDse, 'vendorName') ?? '';
  const vendorVersion = firstValue(rootDse, 'vendorVersion') ?? '';
  const vendor = [vendorName, vendorVersion].filter((s) => s !== '').join(' ') || 'unknown vendor';
  const name = vendorName.toLowerCase();
  const version = vendorVersion.toLowerCase();
  const objectClasses = valuesOf(rootDse, 'objectClass').map((v) => v.toLowerCase());
  const oids = [...valuesOf(rootDse, 'supportedControl'), ...valuesOf(rootDse, 'supportedExtension')].map((oid) =>
    oid.trim(),
  );

  const lineage = openDsLineage(oids, name, version);
  if (lineage !== undefined) return { family: lineage, vendor };
  if (/ping identity|unboundid|alcatel|nokia/.test(name) || /^(ping identity|unboundid)/.test(version)) {
    return { family: /proxy/.test(version) ? 'pingdirectoryproxy' : 'pingdirectory', vendor };
  }
  if (/^389-directory/.test(version) || /389 project/.test(name) || /^red hat-directory/.test(version)) {
    return { family: '389ds', vendor };
  }
  if (/sun-(java\(tm\)-system-)?directory|sun-directory-server/.test(version) || /sun microsystems/.test(name)) {
    return { family: 'dsee', vendor };
  }
  if (objectClasses.includes('openldaprootdse')) {
    return { family: 'openldap', vendor: vendor === 'unknown vendor' ? 'OpenLDAP' : vendor };
  }
  if (valuesOf(rootDse, 'supportedCapabilities').includes(ACTIVE_DIRECTORY_CAPABILITY)) {
    return { family: 'activedirectory', vendor };
  }
  return { family: 'generic', vendor };
}
