/**
 * Any LDAP server the tool does not know (ApacheDS, eDirectory, unknown vendors), or `--serverType generic`.
 * It creates the sync user when the admin may, and never guesses at vendor-specific configuration: rights and
 * the change log are reported as steps for an operator to take.
 */
import { personEntry, syncUserUnderBase } from './person.js';
import type { ServerProfile } from './profile.js';
import type { Observation, PlannedStep, PrepareTarget, ReadRequest } from '../model/plan.js';
import { manual } from '../model/steps.js';

export class GenericProfile implements ServerProfile {
  public readonly family = 'generic';
  public readonly baseDnAttributes = ['objectClass'] as const;
  public readonly passwordAttribute = 'userPassword';
  public readonly changeNumberAttributes = ['firstChangeNumber', 'lastChangeNumber'] as const;

  public constructor(public readonly productName: string = 'generic LDAP server') {}

  public defaultSyncUserDn(baseDns: readonly string[]): string {
    return syncUserUnderBase(baseDns);
  }

  public reads(): ReadRequest[] {
    return [];
  }

  public syncUserEntry(dn: string, password: string): Record<string, string[]> {
    return personEntry(dn, password);
  }

  public planAccess(target: PrepareTarget, _observed: Observation): PlannedStep[] {
    const rights = [
      ...(target.roles.source ? ['read, search and compare every attribute (operational ones included)'] : []),
      ...(target.roles.destination ? ['add, modify, rename and delete entries'] : []),
    ].join(', and ');
    return target.baseDns.map((base) =>
      manual(
        { id: `access:${base}`, title: `Access for the sync user on '${base}'` },
        'cannot be granted automatically on this server type',
        [
          `Grant '${target.syncUserDn}' the right to ${rights} under '${base}' with this server's own access control ` +
            '(the tool does not guess at vendor-specific configuration)',
        ],
      ),
    );
  }

  public planChangelog(target: PrepareTarget, _observed: Observation): PlannedStep[] {
    return [
      manual(
        { id: 'changelog', title: 'Enabling the change log' },
        'cannot be enabled automatically on this server type',
        [
          "Enable this server's change log by hand: a PingDataSync generic LDAP source reads a cn=changelog " +
            '(draft-good-ldap-changelog) and the root DSE firstChangeNumber/lastChangeNumber; keep changes at least ' +
            `as long as the sync server may be offline, and let '${target.syncUserDn}' read them`,
        ],
      ),
    ];
  }

  /** Nothing but the account was created on such a server, so nothing else is taken away. */
  public planRemoval(): PlannedStep[] {
    return [];
  }

  public explainMissingChangeNumbers(): string {
    return 'this server type is not one the tool can configure: enable its change log and grant the sync user read access by hand, as the warnings above say';
  }
}
