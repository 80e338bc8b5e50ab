#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prepare-endpoint-server contributors
# Apache License 2.0 (see the LICENSE file of the prepare-endpoint-server repository)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: prepare_endpoint_server
short_description: Prepare an LDAP server to be a PingDataSync endpoint with the prepare-endpoint-server CLI
version_added: "0.1.0"
description:
  - Runs the installed C(prepare-endpoint-server) command once for one directory server, with C(--json) and
    C(--no-prompt), and turns its JSON result into an Ansible result. The module holds no LDAP logic of its own;
    detection, the sync user, its rights, the change log and the final check are the command's.
  - The LDAP connection is made by the command, so the task usually runs on the controller
    (C(delegate_to) C(localhost)) with one inventory host per directory server.
  - Passwords reach the command through its environment (C(PES_BIND_PASSWORD), C(PES_SYNC_PASSWORD)) or its
    stdin (the trust store password), never through its command line, where other local users could read them.
  - Check mode runs the command with C(--dry-run) (it connects, reads and plans, and writes nothing);
    C(changed) then says whether anything would change. With C(--diff) the planned changes are shown as LDIF,
    passwords masked (outside check mode this costs one extra dry run before the real one).
  - Option names are the command's long options in snake_case; see C(prepare-endpoint-server --help) and its
    README for what each one does.
author:
  - prepare-endpoint-server contributors
requirements:
  - The C(prepare-endpoint-server) command (Node.js 20.17 or later) on the host that runs the task.
attributes:
  check_mode:
    support: full
    description: Runs the command with C(--dry-run); nothing is written.
  diff_mode:
    support: full
    description: The planned changes as LDIF (passwords masked), under C(prepared).
options:
  executable:
    description:
      - The command to run. A bare name is looked up in C(PATH); a path is used as it is.
    type: path
    default: prepare-endpoint-server
  hostname:
    description:
      - Directory server to prepare (C(--hostname)).
      - Or its ldapi socket, C(ldapi://) and the path percent-encoded (C(ldapi://%2Frun%2Fslapd%2Fldapi)); C(ldapi:///)
        finds the local server's default socket. Use it with I(use_sasl_external) on the server itself (delegate_to).
    type: str
    required: true
  port:
    description: LDAP port (C(--port)); the command's default is 389, or 636 with I(use_ssl).
    type: int
  use_ssl:
    description: Connect with LDAPS (C(--useSSL)).
    type: bool
    default: false
  use_start_tls:
    description: Upgrade the connection with StartTLS (C(--useStartTLS)).
    type: bool
    default: false
  trust_all:
    description: Accept any server certificate (C(--trustAll)); for tests only.
    type: bool
    default: false
  trust_store_path:
    description: PEM bundle or PKCS#12 file of trusted CA certificates (C(--trustStorePath)), on the host that runs the task.
    type: path
  trust_store_password:
    description: Password of a PKCS#12 trust store; sent to the command on its stdin.
    type: str
  trust_store_password_file:
    description: File whose first line is the trust store password (C(--trustStorePasswordFile)).
    type: path
  trust_store_format:
    description: Format of I(trust_store_path) (C(--trustStoreFormat)); recognized from the file when absent.
    type: str
    choices: [JKS, PKCS12, PEM]
  use_sasl_external:
    description:
      - Bind the admin with SASL EXTERNAL (C(--useSASLExternal)) - over ldapi the identity is the user running the
        command (root is C(cn=peercred) on OpenLDAP, Directory Manager on 389 DS), over TLS the client certificate of
        I(key_store_path).
      - With I(bind_dn) too, EXTERNAL configures C(cn=config) and I(bind_dn) writes the entries (Debian's stock slapd).
        Without it no admin password is needed.
    type: bool
    default: false
  key_store_path:
    description: Client certificate and key (PEM, PKCS#12 or JKS) for I(use_sasl_external) over TLS (C(--keyStorePath)).
    type: path
  key_store_password:
    description: Password of the key store; sent to the command on its stdin (not together with I(trust_store_password)).
    type: str
  key_store_password_file:
    description: File whose first line is the key store password (C(--keyStorePasswordFile)).
    type: path
  key_store_format:
    description: Format of I(key_store_path) (C(--keyStoreFormat)); recognized from the file when absent.
    type: str
    choices: [JKS, PKCS12, PEM]
  cert_nickname:
    description: The key store entry (alias) of the client certificate, when it holds several (C(--certNickname)).
    type: str
  connect_timeout:
    description: Give up connecting after this long (C(--connectTimeout)), such as C(10s).
    type: str
  operation_timeout:
    description: Give up on any single LDAP operation after this long (C(--operationTimeout)).
    type: str
  bind_dn:
    description:
      - Administrator DN used to prepare the server (C(--bindDN)).
      - Required unless I(use_sasl_external) is true.
    type: str
  bind_password:
    description: Administrator password; sent to the command in C(PES_BIND_PASSWORD).
    type: str
  bind_password_file:
    description: File whose first line is the administrator password (C(--bindPasswordFile)).
    type: path
  sync_server_bind_dn:
    description: The sync user account (C(--syncServerBindDN)); the command's default depends on the server type.
    type: str
  sync_server_bind_password:
    description:
      - The sync user's password; sent to the command in C(PES_SYNC_PASSWORD).
      - Needed with I(state=present), unless I(sync_server_bind_password_file) or I(properties_file_path) gives it.
    type: str
  sync_server_bind_password_file:
    description: File whose first line is the sync user's password (C(--syncServerBindPasswordFile)).
    type: path
  reset_sync_server_bind_password:
    description: Set the password of an existing sync user (C(--resetSyncServerBindPassword)); otherwise a mismatch fails with rc 49.
    type: bool
    default: false
  base_dn:
    description: Base DNs to synchronize (C(--baseDN), once each); each must exist.
    type: list
    elements: str
    required: true
  is_source:
    description: Prepare the server as a sync source (C(--isSource)).
    type: bool
    default: false
  is_destination:
    description: Prepare the server as a sync destination (C(--isDestination)).
    type: bool
    default: false
  changelog_maximum_age:
    description: How long the change log keeps changes (C(--changelogMaximumAge)), such as C(2d) or C(1w).
    type: str
  server_type:
    description: Skip detection (C(--serverType)).
    type: str
    default: auto
    choices: [auto, pingdirectory, pingdirectoryproxy, 389ds, dsee, openldap, activedirectory, generic]
  inherit_default_root_privileges:
    description: PingDirectory only (C(--inheritDefaultRootPrivileges)).
    type: bool
    default: false
  changelog_deleted_entry_attribute:
    description: Attributes the change records of deletes must keep (C(--changelogDeletedEntryAttribute), once each).
    type: list
    elements: str
  accesslog_directory:
    description: OpenLDAP source only, an existing server-side folder for a new accesslog database (C(--accesslogDirectory)).
    type: str
  replicas:
    description:
      - The other servers of the same replicated topology as C(hostname), each C(HOST:PORT) (OpenLDAP with its own
        accesslog folder C(HOST:PORT,accesslogDirectory=PATH)), prepared in the same run (C(--replica), once each).
      - The replicated sync user is written once, on a writable server, and the run waits for it on each replica
        before it applies that server's own settings. Use one task per topology, never one task per replica in
        parallel (two runs adding one account on two replicas leave a replication conflict entry).
    type: list
    elements: str
  replication_timeout:
    description: With C(replicas), how long to wait for the replicated data on each replica (C(--replicationTimeout), default 30s).
    type: str
  ad_administrators_group:
    description: Active Directory only (C(--adAdministratorsGroup)).
    type: bool
    default: false
  state:
    description:
      - C(present) prepares the server; C(absent) undoes the preparation (C(--remove)).
    type: str
    default: present
    choices: [present, absent]
  disable_changelog:
    description: With I(state=absent), also turn the change log off (C(--disableChangelog)).
    type: bool
    default: false
  properties_file_path:
    description: File of C(name=value) defaults for long options (C(--propertiesFilePath)), on the host that runs the task.
    type: path
  log_file:
    description: Where the command logs the run (C(--logFile)), on the host that runs the task.
    type: path
notes:
  - The command's exit code is returned in C(rc); on failure C(msg) is the command's one-line message and C(hint)
    says what to do. A changed change log configuration may need a server restart, which the warnings say.
  - Every password option is C(no_log).
'''

EXAMPLES = r'''
- name: Prepare every sync endpoint, five at a time, from the controller
  pes.endpoint.prepare_endpoint_server:
    hostname: "{{ inventory_hostname }}"
    port: 389
    use_start_tls: true
    bind_dn: cn=Directory Manager
    bind_password: "{{ vault_ldap_admin_password }}"
    sync_server_bind_dn: cn=Sync User,dc=example,dc=com
    sync_server_bind_password: "{{ vault_sync_user_password }}"
    base_dn:
      - dc=example,dc=com
    is_source: "{{ 'sources' in group_names }}"
    is_destination: "{{ 'destinations' in group_names }}"
    changelog_maximum_age: 2d
  delegate_to: localhost

- name: Undo it, change log included
  pes.endpoint.prepare_endpoint_server:
    hostname: "{{ inventory_hostname }}"
    bind_dn: cn=Directory Manager
    bind_password: "{{ vault_ldap_admin_password }}"
    sync_server_bind_dn: cn=Sync User,dc=example,dc=com
    base_dn: [dc=example,dc=com]
    state: absent
    disable_changelog: true
  delegate_to: localhost
'''

RETURN = r'''
rc:
  description: The command's exit code (an LDAP result code on failure, see its README).
  returned: always
  type: int
  sample: 0
steps:
  description: One entry per step, C(status) one of created, updated, unchanged, skipped, warning.
  returned: when the command printed its result
  type: list
  elements: dict
  sample: [{"id": "sync-user", "title": "Sync user 'cn=Sync User,dc=example,dc=com'", "status": "created", "detail": null}]
server:
  description: C(host), C(port), C(type), C(productName), C(vendor) of the server.
  returned: when the command printed its result
  type: dict
  sample: {"host": "ds1.example.com", "port": 389, "type": "389ds", "productName": "389 Directory Server", "vendor": "389 Project 389-Directory/2.3.1"}
change_numbers:
  description: C(first) and C(last) change numbers as the sync user read them (sources), else null.
  returned: when the command printed its result
  type: dict
  sample: {"first": "1", "last": "12"}
servers:
  description: One dict per server of the run (with C(replicas), every server of the topology) with C(host), C(port), C(role), C(prepared), C(steps), C(changeNumbers) (that server's own) and C(verified).
  returned: when the command printed its result
  type: list
  elements: dict
verified:
  description: The final check passed (the sync user can do what its role needs); null in check mode.
  returned: when the command printed its result
  type: bool
sync_user_dn:
  description: The sync user's DN as the server spells it; configure the sync server with it.
  returned: when the command printed its result
  type: str
ldif:
  description: The planned changes as LDIF, passwords masked (check mode, or with --diff).
  returned: in check mode, or with --diff
  type: str
ldap:
  description: C(reads) and C(writes), the LDAP operations the command made.
  returned: when the command printed its result
  type: dict
hint:
  description: What to do about a failure, as the command says it.
  returned: on failure, when the command gives one
  type: str
run_id:
  description: The run id on every line of the command's log for this run.
  returned: when the command printed its result
  type: str
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule

# The command's long options, in the order of its --help, for the options passed on its command line.
VALUE_OPTIONS = (
    ('hostname', '--hostname'),
    ('port', '--port'),
    ('trust_store_path', '--trustStorePath'),
    ('trust_store_password_file', '--trustStorePasswordFile'),
    ('trust_store_format', '--trustStoreFormat'),
    ('key_store_path', '--keyStorePath'),
    ('key_store_password_file', '--keyStorePasswordFile'),
    ('key_store_format', '--keyStoreFormat'),
    ('cert_nickname', '--certNickname'),
    ('connect_timeout', '--connectTimeout'),
    ('operation_timeout', '--operationTimeout'),
    ('bind_dn', '--bindDN'),
    ('bind_password_file', '--bindPasswordFile'),
    ('sync_server_bind_dn', '--syncServerBindDN'),
    ('sync_server_bind_password_file', '--syncServerBindPasswordFile'),
    ('changelog_maximum_age', '--changelogMaximumAge'),
    ('server_type', '--serverType'),
    ('accesslog_directory', '--accesslogDirectory'),
    ('replication_timeout', '--replicationTimeout'),
    ('properties_file_path', '--propertiesFilePath'),
    ('log_file', '--logFile'),
)
LIST_OPTIONS = (
    ('base_dn', '--baseDN'),
    ('changelog_deleted_entry_attribute', '--changelogDeletedEntryAttribute'),
    ('replicas', '--replica'),
)
FLAG_OPTIONS = (
    ('use_ssl', '--useSSL'),
    ('use_start_tls', '--useStartTLS'),
    ('use_sasl_external', '--useSASLExternal'),
    ('trust_all', '--trustAll'),
    ('reset_sync_server_bind_password', '--resetSyncServerBindPassword'),
    ('is_source', '--isSource'),
    ('is_destination', '--isDestination'),
    ('inherit_default_root_privileges', '--inheritDefaultRootPrivileges'),
    ('ad_administrators_group', '--adAdministratorsGroup'),
    ('disable_changelog', '--disableChangelog'),
)

# The command's own variables for the two passwords it takes from its environment.
PASSWORD_VARIABLES = (
    ('bind_password', 'PES_BIND_PASSWORD'),
    ('sync_server_bind_password', 'PES_SYNC_PASSWORD'),
)


def argument_spec():
    return dict(
        executable=dict(type='path', default='prepare-endpoint-server'),
        hostname=dict(type='str', required=True),
        port=dict(type='int'),
        use_ssl=dict(type='bool', default=False),
        use_start_tls=dict(type='bool', default=False),
        trust_all=dict(type='bool', default=False),
        trust_store_path=dict(type='path'),
        trust_store_password=dict(type='str', no_log=True),
        trust_store_password_file=dict(type='path', no_log=False),
        trust_store_format=dict(type='str', choices=['JKS', 'PKCS12', 'PEM']),
        use_sasl_external=dict(type='bool', default=False),
        key_store_path=dict(type='path'),
        key_store_password=dict(type='str', no_log=True),
        key_store_password_file=dict(type='path', no_log=False),
        key_store_format=dict(type='str', choices=['JKS', 'PKCS12', 'PEM']),
        cert_nickname=dict(type='str'),
        connect_timeout=dict(type='str'),
        operation_timeout=dict(type='str'),
        bind_dn=dict(type='str'),
        bind_password=dict(type='str', no_log=True),
        bind_password_file=dict(type='path', no_log=False),
        sync_server_bind_dn=dict(type='str'),
        sync_server_bind_password=dict(type='str', no_log=True),
        sync_server_bind_password_file=dict(type='path', no_log=False),
        reset_sync_server_bind_password=dict(type='bool', default=False, no_log=False),
        base_dn=dict(type='list', elements='str', required=True),
        is_source=dict(type='bool', default=False),
        is_destination=dict(type='bool', default=False),
        changelog_maximum_age=dict(type='str'),
        server_type=dict(type='str', default='auto',
                         choices=['auto', 'pingdirectory', 'pingdirectoryproxy', '389ds', 'dsee', 'openldap',
                                  'activedirectory', 'generic']),
        inherit_default_root_privileges=dict(type='bool', default=False),
        changelog_deleted_entry_attribute=dict(type='list', elements='str'),
        accesslog_directory=dict(type='str'),
        replicas=dict(type='list', elements='str'),
        replication_timeout=dict(type='str'),
        ad_administrators_group=dict(type='bool', default=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        disable_changelog=dict(type='bool', default=False),
        properties_file_path=dict(type='path'),
        log_file=dict(type='path'),
    )


def command_line(params, dry_run):
    """The command's arguments: every value a user gave, no password (those go through the environment/stdin)."""
    args = []
    for key, flag in VALUE_OPTIONS:
        value = params.get(key)
        if value is not None and not (key == 'server_type' and value == 'auto'):
            args.extend([flag, str(value)])
    for key, flag in LIST_OPTIONS:
        for value in params.get(key) or []:
            args.extend([flag, value])
    for key, flag in FLAG_OPTIONS:
        if params.get(key):
            args.append(flag)
    if params['state'] == 'absent':
        args.append('--remove')
    if dry_run:
        args.append('--dry-run')
    args.extend(['--json', '--no-prompt', '--no-color'])
    return args


def find_executable(module):
    executable = module.params['executable']
    if os.sep in executable:
        if os.access(executable, os.X_OK) and os.path.isfile(executable):
            return executable
        module.fail_json(msg="executable '%s' is not an executable file" % executable, rc=None)
    found = module.get_bin_path(executable, required=False)
    if found is None:
        module.fail_json(msg="executable '%s' was not found in PATH on the host running the task: install "
                             "prepare-endpoint-server there (npm install -g ...) or give its path in executable"
                             % executable, rc=None)
    return found


def run(module, executable, dry_run):
    """Runs the command once; returns its exit code, its JSON result (or None) and its stderr."""
    params = module.params
    environment = {'NO_COLOR': '1'}
    for key, variable in PASSWORD_VARIABLES:
        if params.get(key) is not None:
            environment[variable] = params[key]
    args = [executable] + command_line(params, dry_run)
    stdin = None
    if params.get('trust_store_password') is not None:
        # The command reads one password line from stdin for a password file given as '-'.
        args[1:1] = ['--trustStorePasswordFile', '-']
        stdin = params['trust_store_password']
    elif params.get('key_store_password') is not None:
        args[1:1] = ['--keyStorePasswordFile', '-']
        stdin = params['key_store_password']
    rc, stdout, stderr = module.run_command(args, data=stdin, environ_update=environment, check_rc=False)
    try:
        result = json.loads(stdout)
        if not isinstance(result, dict):
            result = None
    except ValueError:
        result = None
    return rc, result, stderr


def step_counts(steps):
    counts = {}
    for step in steps:
        counts[step.get('status')] = counts.get(step.get('status'), 0) + 1
    return ', '.join('%d %s' % (n, status) for status, n in sorted(counts.items())) or 'no steps'


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[
            ('use_ssl', 'use_start_tls'),
            ('trust_all', 'trust_store_path'),
            ('trust_store_password', 'trust_store_password_file'),
            ('key_store_password', 'key_store_password_file'),
            ('trust_store_password', 'key_store_password'),
            ('bind_password', 'bind_password_file'),
            ('sync_server_bind_password', 'sync_server_bind_password_file'),
        ],
        required_if=[
            ('state', 'present',
             ('sync_server_bind_password', 'sync_server_bind_password_file', 'properties_file_path'), True),
        ],
        supports_check_mode=True,
    )
    params = module.params
    # SASL EXTERNAL alone binds as the connection's own identity: no bind DN, no password. Otherwise both.
    if not params['use_sasl_external'] or params['bind_dn'] is not None:
        if params['bind_dn'] is None and params['properties_file_path'] is None:
            module.fail_json(msg='bind_dn is required unless use_sasl_external is true', rc=89)
        if all(params[key] is None for key in ('bind_password', 'bind_password_file', 'properties_file_path')):
            module.fail_json(msg='one of bind_password, bind_password_file, properties_file_path is required '
                                 'with bind_dn (or use_sasl_external alone)', rc=89)
    if module.params['disable_changelog'] and module.params['state'] != 'absent':
        module.fail_json(msg='disable_changelog only goes with state=absent', rc=89)
    if module.params['state'] == 'present' and not (module.params['is_source'] or module.params['is_destination']):
        module.fail_json(msg='is_source or is_destination (or both) must be true with state=present', rc=89)

    executable = find_executable(module)
    planned_ldif = None
    if module._diff and not module.check_mode:
        # The real run prints no LDIF: plan once with --dry-run to show what it is about to write.
        rc, planned, stderr = run(module, executable, dry_run=True)
        if planned is not None and rc == 0:
            planned_ldif = planned.get('ldif') or ''

    rc, result, stderr = run(module, executable, dry_run=module.check_mode)
    if result is None:
        lines = [line for line in stderr.splitlines() if line.strip()]
        module.fail_json(msg='%s printed no JSON result (exit %d): %s'
                             % (executable, rc, lines[-1] if lines else 'no message'),
                         rc=rc, stderr=stderr)

    ldif = result.get('ldif')
    if module.check_mode:
        changed = bool(ldif)
        planned_ldif = ldif or ''
    else:
        changed = bool(result.get('changed'))

    output = dict(
        changed=changed,
        rc=rc,
        steps=result.get('steps') or [],
        server=result.get('server'),
        change_numbers=result.get('changeNumbers'),
        verified=result.get('verified'),
        servers=result.get('servers') or [],
        sync_user_dn=result.get('syncUserDn'),
        roles=result.get('roles'),
        ldap=result.get('ldap'),
        run_id=result.get('runId'),
        tool_version=result.get('version'),
    )
    if planned_ldif is not None:
        output['ldif'] = planned_ldif
        if module._diff and planned_ldif:
            output['diff'] = dict(prepared=planned_ldif)
    for warning in result.get('warnings') or []:
        module.warn(warning)

    error = result.get('error')
    if rc != 0 or error is not None:
        error = error or {}
        output['msg'] = error.get('message') or ('%s exited with %d' % (executable, rc))
        if error.get('hint'):
            output['hint'] = error['hint']
        module.fail_json(**output)

    if module.check_mode:
        verb = 'would change' if changed else 'nothing would change'
    else:
        verb = 'changed' if changed else 'nothing to change'
    server = result.get('server') or {}
    # An ldapi server is its socket's URL, with no port.
    where = server.get('host') if server.get('port') is None else '%s:%s' % (server.get('host'), server.get('port'))
    output['msg'] = '%s %s (%s)' % (where, verb, step_counts(output['steps']))
    module.exit_json(**output)


if __name__ == '__main__':
    main()
