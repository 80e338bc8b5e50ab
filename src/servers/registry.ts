/** The profiles this build supports, by family. */
import type { Entry } from '../model/entries.js';
import { ActiveDirectoryProfile } from './activedirectory.js';
import { Ds389Profile } from './ds389.js';
import { GenericProfile } from './generic.js';
import { OpenLdapProfile } from './openldap.js';
import { OpenDjProfile } from './opendj.js';
import { PingDirectoryProfile } from './pingdirectory.js';
import type { ServerFamily } from './detect.js';
import type { ServerProfile } from './profile.js';

/** `rootDse` lets a profile take server facts such as Active Directory's defaultNamingContext. */
export function profileFor(family: ServerFamily, rootDse?: Entry): ServerProfile | undefined {
  switch (family) {
    case 'activedirectory':
      return new ActiveDirectoryProfile(rootDse);
    case '389ds':
      return new Ds389Profile('389ds', '389 Directory Server');
    case 'dsee':
      return new Ds389Profile('dsee', 'Sun/Oracle Directory Server Enterprise Edition');
    case 'pingdirectory':
      return new PingDirectoryProfile('pingdirectory', 'PingDirectory');
    case 'pingdirectoryproxy':
      return new PingDirectoryProfile('pingdirectoryproxy', 'PingDirectoryProxy');
    case 'pingds':
    case 'opendj':
    case 'oud':
      return new OpenDjProfile(family);
    case 'openldap':
      return new OpenLdapProfile();
    case 'generic':
      return new GenericProfile();
    default:
      return undefined;
  }
}

export const SUPPORTED_FAMILIES: readonly ServerFamily[] = [
  '389ds',
  'dsee',
  'pingdirectory',
  'pingdirectoryproxy',
  'pingds',
  'opendj',
  'oud',
  'openldap',
  'activedirectory',
  'generic',
];
