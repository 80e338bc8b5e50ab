/** Which server family a root DSE belongs to. Pure: a root DSE in, a family name out. */
import { firstValue, valuesOf, type Entry } from '../model/entries.js';

export const SERVER_TYPES = [
  'auto',
  'pingdirectory',
  'pingdirectoryproxy',
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
  'defaultNamingContext',
  'domainFunctionality',
  'changelog',
  'firstChangeNumber',
  'lastChangeNumber',
  'lastPurgedChangeNumber',
] as const;

const ACTIVE_DIRECTORY_CAPABILITY = '1.2.840.113556.1.4.800';

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

  if (/ping identity|unboundid|alcatel|nokia/.test(name) || /^(ping|unboundid)/.test(version)) {
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
