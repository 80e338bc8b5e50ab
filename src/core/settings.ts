/** A run's settings: validated, typed, built once by the CLI from options, files and prompts. */
import type { ConnectionOptions } from '../model/directory.js';
import type { ServerTypeName } from '../servers/detect.js';
import type { Secret } from '../model/secret.js';
import type { RoleSet } from '../model/plan.js';

/** Where and how to connect (host, port, TLS, trust, timeouts), then what to do there. */
export interface Settings extends ConnectionOptions {
  /** Admin account used to prepare the server; prompted for when absent. */
  readonly bindDn: string | undefined;
  readonly bindPassword: Secret | undefined;
  /**
   * --useSASLExternal: the admin binds with SASL EXTERNAL (the process over ldapi, the client certificate
   * over TLS). With a bind DN too, EXTERNAL configures cn=config and the bind DN writes the entries.
   */
  readonly useSaslExternal?: boolean;
  /** Sync user; the default DN depends on the server family. */
  readonly syncUserDn: string | undefined;
  readonly syncPassword: Secret | undefined;
  readonly baseDns: readonly string[];
  readonly roles: RoleSet;
  /** Undefined when not given: a terminal run asks, others use the default. */
  readonly changelogMaxAgeSeconds: number | undefined;
  readonly serverType: ServerTypeName;
  readonly resetSyncPassword: boolean;
  readonly inheritDefaultRootPrivileges: boolean;
  readonly accesslogDirectory: string | undefined;
  /** `--changelogDeletedEntryAttribute`: attributes change records of deletes keep besides the family's own (optional: absent is none). */
  readonly changelogDeletedEntryAttributes?: readonly string[];
  /** Active Directory: membership of CN=Administrators instead of least-privilege ACEs (optional: absent is off). */
  readonly adAdministratorsGroup?: boolean;
  readonly remove: boolean;
  readonly disableChangelog: boolean;
  /** Read and plan only: print the changes as LDIF, write nothing. */
  readonly dryRun: boolean;
  /** `--replica`: the other servers of the topology, prepared in the same run (optional: absent is none). */
  readonly replicas?: readonly ReplicaEndpoint[];
  /**
   * Set by a `--replica` run for the servers after the first: the destination's write was proven there by the
   * probe entry, and the rights are compared across the servers, so this one is not probed again.
   */
  readonly writeProvenOn?: string;
  /** `--replicationTimeout`: how long to wait for replicated data to reach each replica (default 30 s). */
  readonly replicationTimeoutMs?: number;
}

/** Another server of the topology, with the inputs that differ per server. */
export interface ReplicaEndpoint {
  readonly host: string;
  readonly port: number;
  /** OpenLDAP: the accesslog folder on this server (else the run's --accesslogDirectory). */
  readonly accesslogDirectory?: string;
}

export const DEFAULT_REPLICATION_TIMEOUT_MS = 30_000;

export const DEFAULT_CHANGELOG_MAX_AGE_SECONDS = 2 * 24 * 3600;
export const DEFAULT_ADMIN_DN = 'cn=Directory Manager';
