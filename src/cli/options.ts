/**
 * The command line, from one table: commander's options, the help text and the spelling rules all come from
 * OPTION_TABLE. Long options are Ping's camelCase names; like Ping's tools, any letter case and the kebab-case
 * spelling (`--bind-dn`) are accepted too, by normalizing argv before commander sees it. The same table types
 * the options (`Options`), holds their defaults and choices, and checks the properties file (settings.ts).
 */
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_CHANGELOG_MAX_AGE_SECONDS } from '../core/settings.js';
import { formatCompact } from '../formats/duration.js';
import { PrepareError, ResultCode } from '../model/errors.js';
import { SERVER_TYPES } from '../servers/detect.js';

export interface OptionSpec {
  /** camelCase long name without dashes, as Ping spells it. */
  readonly long: string;
  readonly short?: string;
  /** Placeholder for the value; absent for a flag. */
  readonly value?: string;
  readonly help: string;
  readonly group: 'Connection' | 'Credentials' | 'Preparation' | 'Output';
  readonly repeatable?: boolean;
  readonly choices?: readonly string[];
  /** The value a run uses when the option is not given (applied when settings are resolved; shown in help). */
  readonly default?: string;
  /** Shown in help as the default where there is no one value to apply (or where it says more than `default`). */
  readonly defaultText?: string;
  /** Only for the properties file: values that must never come from a shared file. */
  readonly secret?: boolean;
}

const OPTION_DEFINITIONS = [
  {
    long: 'hostname',
    short: 'h',
    value: 'host',
    group: 'Connection',
    help: 'directory server to prepare, or ldapi://<percent-encoded socket path> (ldapi:/// finds the local socket)',
    default: 'localhost',
  },
  {
    long: 'port',
    short: 'p',
    value: 'port',
    group: 'Connection',
    help: 'LDAP port, 1-65535',
    defaultText: '389, or 636 with --useSSL',
  },
  { long: 'useSSL', short: 'Z', group: 'Connection', help: 'connect with LDAPS' },
  { long: 'useStartTLS', short: 'q', group: 'Connection', help: 'upgrade the connection with StartTLS' },
  {
    long: 'trustAll',
    short: 'X',
    group: 'Connection',
    help: 'accept any server certificate (insecure: prints a warning)',
  },
  {
    long: 'trustStorePath',
    short: 'P',
    value: 'file',
    group: 'Connection',
    help: 'PEM bundle, PKCS#12 or JKS file of trusted CA certificates',
    defaultText: 'system CAs',
  },
  {
    long: 'trustStorePassword',
    short: 'T',
    value: 'password',
    group: 'Connection',
    help: 'password of a PKCS#12 trust store',
    secret: true,
  },
  {
    long: 'trustStorePasswordFile',
    short: 'U',
    value: 'file',
    group: 'Connection',
    help: 'file holding the trust store password',
  },
  {
    long: 'trustStoreFormat',
    value: 'format',
    group: 'Connection',
    help: 'format of --trustStorePath: JKS, PKCS12 or PEM',
    defaultText: 'recognized from the file',
  },
  {
    long: 'keyStorePath',
    value: 'file',
    group: 'Connection',
    help: 'client certificate and key (PEM, PKCS#12 or JKS) for --useSASLExternal over --useSSL/--useStartTLS',
  },
  {
    long: 'keyStorePassword',
    value: 'password',
    group: 'Connection',
    help: 'password of the key store',
    secret: true,
  },
  {
    long: 'keyStorePasswordFile',
    value: 'file',
    group: 'Connection',
    help: 'file holding the key store password',
  },
  {
    long: 'keyStoreFormat',
    value: 'format',
    group: 'Connection',
    help: 'format of --keyStorePath: JKS, PKCS12 or PEM',
    defaultText: 'recognized from the file',
  },
  {
    long: 'certNickname',
    value: 'alias',
    group: 'Connection',
    help: 'the key store entry (alias) of the client certificate, when it holds several',
  },
  {
    long: 'connectTimeout',
    value: 'duration',
    group: 'Connection',
    help: 'give up connecting after this long (such as 10s; at most 24d)',
    default: '10s',
  },
  {
    long: 'operationTimeout',
    value: 'duration',
    group: 'Connection',
    help: 'give up on any single LDAP operation after this long (at most 24d)',
    default: '30s',
  },
  {
    long: 'bindDN',
    short: 'D',
    value: 'dn',
    group: 'Credentials',
    help: 'administrator DN used to prepare the server',
    defaultText: 'prompted',
  },
  {
    long: 'useSASLExternal',
    group: 'Credentials',
    help: 'bind the admin with SASL EXTERNAL (ldapi: the process user; TLS: --keyStorePath); with --bindDN too, EXTERNAL configures cn=config and --bindDN writes the entries',
  },
  {
    long: 'saslOption',
    value: 'name=value',
    group: 'Credentials',
    help: 'SASL option as Ping spells it; mech=EXTERNAL is --useSASLExternal',
    repeatable: true,
  },
  {
    long: 'bindPassword',
    short: 'w',
    value: 'password',
    group: 'Credentials',
    help: 'administrator password (visible to other local users: prefer a file)',
    secret: true,
  },
  {
    long: 'bindPasswordFile',
    short: 'j',
    value: 'file',
    group: 'Credentials',
    help: 'file whose first line is the administrator password',
  },
  {
    long: 'syncServerBindDN',
    value: 'dn',
    group: 'Credentials',
    help: 'the sync user account',
    defaultText: 'per server type',
  },
  {
    long: 'syncServerBindPassword',
    value: 'password',
    group: 'Credentials',
    help: 'sync user password (visible to other local users: prefer a file)',
    secret: true,
  },
  {
    long: 'syncServerBindPasswordFile',
    value: 'file',
    group: 'Credentials',
    help: 'file whose first line is the sync user password',
  },
  {
    long: 'resetSyncServerBindPassword',
    group: 'Credentials',
    help: 'set the password of an existing sync user (otherwise a mismatch is an error)',
  },
  {
    long: 'baseDN',
    short: 'b',
    value: 'dn',
    group: 'Preparation',
    help: 'base DN to synchronize; must exist; repeat for several',
    repeatable: true,
  },
  { long: 'isSource', group: 'Preparation', help: 'prepare the server as a sync source (read rights, change log)' },
  { long: 'isDestination', group: 'Preparation', help: 'prepare the server as a sync destination (write rights)' },
  {
    long: 'changelogMaximumAge',
    value: 'duration',
    group: 'Preparation',
    help: 'how long the change log keeps changes: 8h, 2d, 1w, "2 days"',
    defaultText: formatCompact(DEFAULT_CHANGELOG_MAX_AGE_SECONDS),
  },
  {
    long: 'serverType',
    value: 'type',
    group: 'Preparation',
    help: 'skip detection',
    choices: SERVER_TYPES,
    default: 'auto',
  },
  {
    long: 'inheritDefaultRootPrivileges',
    group: 'Preparation',
    help: 'PingDirectory: give the sync user the default root privileges instead of least privilege',
  },
  {
    long: 'changelogDeletedEntryAttribute',
    value: 'attribute',
    group: 'Preparation',
    help: 'source: an attribute change records of deletes must keep (objectClass and the entry id always are); repeat for several',
    repeatable: true,
  },
  {
    long: 'accesslogDirectory',
    value: 'path',
    group: 'Preparation',
    help: 'OpenLDAP source: existing server-side folder for a new cn=accesslog database',
  },
  // --replica options (issue 24): one run prepares the servers of one replicated topology.
  {
    long: 'replica',
    value: 'host:port[,accesslogDirectory=path]',
    group: 'Preparation',
    help: 'another server of the same replicated topology, prepared in the same run (same security and credentials); repeat for several; OpenLDAP: its own accesslog folder after a comma',
    repeatable: true,
  },
  {
    long: 'replicationTimeout',
    value: 'duration',
    group: 'Preparation',
    help: 'with --replica: how long to wait for the replicated data to reach each replica (at most 24d)',
    default: '30s',
  },
  {
    long: 'adAdministratorsGroup',
    group: 'Preparation',
    help: 'Active Directory: add the sync user to CN=Administrators (as Ping documents) instead of granting least-privilege ACEs',
  },
  {
    long: 'remove',
    group: 'Preparation',
    help: 'undo: delete the sync user and every ACI, rule or privilege this tool added',
  },
  { long: 'disableChangelog', group: 'Preparation', help: 'with --remove: also turn the change log off' },
  {
    long: 'propertiesFilePath',
    value: 'file',
    group: 'Preparation',
    help: 'file of name=value lines giving defaults for long options (explicit options win)',
  },
  {
    long: 'dry-run',
    group: 'Output',
    help: 'read and plan only: print the planned changes as LDIF (passwords masked) and write nothing',
  },
  { long: 'json', group: 'Output', help: 'print one JSON result object on stdout; human output goes to stderr' },
  {
    long: 'noPrompt',
    short: 'n',
    group: 'Output',
    help: 'never prompt: a missing value is an error (also implied when stdin is not a terminal)',
  },
  {
    long: 'logFile',
    value: 'file',
    group: 'Output',
    help: 'where the run is logged',
    defaultText: 'logs/prepare-endpoint-server.log in the tool folder',
  },
  { long: 'noColor', group: 'Output', help: 'no colours (NO_COLOR and TERM=dumb are honoured too)' },
] as const satisfies readonly OptionSpec[];

/** Every option, for code that goes through all of them. */
export const OPTION_TABLE: readonly OptionSpec[] = OPTION_DEFINITIONS;

type Definition = (typeof OPTION_DEFINITIONS)[number];
type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;
/** The key commander stores an option under, as optionKey() computes it: `noPrompt` -> `prompt`, `dry-run` -> `dryRun`. */
type StoredKey<Long extends string> =
  CamelCase<Long> extends `no${infer Rest}`
    ? Rest extends Capitalize<Rest>
      ? Uncapitalize<Rest>
      : CamelCase<Long>
    : CamelCase<Long>;
type ValueOf<D extends Definition> = D extends { readonly repeatable: true }
  ? readonly string[]
  : D extends { readonly choices: readonly (infer Choice)[] }
    ? Choice
    : D extends { readonly value: string }
      ? string
      : boolean;

/**
 * A run's options, checked against OPTION_TABLE (settings.ts): a flag is a boolean, a repeatable option a list,
 * an option with choices one of them; an option with a default always has a value.
 */
export type Options = {
  readonly [D in Definition as D extends { readonly default: string } ? StoredKey<D['long']> : never]: ValueOf<D>;
} & {
  readonly [D in Definition as D extends { readonly default: string } ? never : StoredKey<D['long']>]?: ValueOf<D>;
};

export type OptionKey = keyof Options;

/** Flag spelling as commander sees it: `noPrompt` is commander's negation `--no-prompt`. */
function flagName(spec: OptionSpec): string {
  return spec.long.startsWith('no') && /^no[A-Z]/.test(spec.long)
    ? `no-${spec.long.charAt(2).toLowerCase()}${spec.long.slice(3)}`
    : spec.long;
}

/** `--bind-dn`, `--BINDDN` and `--bindDN` all look up `binddn`. */
export function looseName(name: string): string {
  return name.replace(/-/g, '').toLowerCase();
}

const BY_LOOSE_NAME = new Map<string, OptionSpec>(OPTION_TABLE.map((spec) => [looseName(spec.long), spec]));
BY_LOOSE_NAME.set('help', { long: 'help', group: 'Output', help: '' });
BY_LOOSE_NAME.set('version', { long: 'version', group: 'Output', help: '' });

/** Rewrites `--bind-dn`, `--BINDDN` and `--binddn=x` to `--bindDN`, leaving option values alone. */
export function normalizeArgv(args: readonly string[]): string[] {
  const out: string[] = [];
  let expectValue = false;
  for (const [i, arg] of args.entries()) {
    if (expectValue) {
      out.push(arg);
      expectValue = false;
      continue;
    }
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (arg.startsWith('--')) {
      const [name = '', ...rest] = arg.slice(2).split('=');
      const spec = BY_LOOSE_NAME.get(looseName(name));
      if (spec === undefined) {
        out.push(arg);
        continue;
      }
      const canonical = `--${spec.long === 'help' || spec.long === 'version' ? spec.long : flagName(spec)}`;
      out.push(rest.length > 0 ? `${canonical}=${rest.join('=')}` : canonical);
      expectValue = spec.value !== undefined && rest.length === 0;
      continue;
    }
    if (/^-[A-Za-z]$/.test(arg)) {
      const spec = OPTION_TABLE.find((s) => s.short === arg.slice(1));
      expectValue = spec?.value !== undefined;
    }
    out.push(arg);
  }
  return out;
}

export type RawOptions = Record<string, unknown>;

const EXIT_CODE_HELP = `
Exit codes (LDAP result codes, as in Ping's tools):
   0  success, also with warnings or with nothing to change
  32  no such object: a base DN or the sync user's parent entry is missing
  48  inappropriate authentication: the SASL EXTERNAL bind was refused
  49  invalid credentials: admin password wrong, or sync user password mismatch
  50  insufficient access: the admin may not make a needed change
  53  unwilling to perform: unsupported server type, or the server refused
  85  timeout
  89  parameter error: a bad or missing option value
  91  cannot connect: refused, unknown host, TLS failure
 130  interrupted (Ctrl-C, SIGINT)
 143  terminated (SIGTERM)
  Other LDAP result codes are passed through (above 255: 80); 1 is an unexpected internal error.`;

const EXAMPLES = `
Examples:
  Prepare a 389 Directory Server as a sync source (prompts for the admin DN and passwords):
    prepare-endpoint-server --hostname sun-ds1.example.com --port 21389 \\
      --syncServerBindDN "cn=Sync User,dc=example,dc=com" --baseDN "dc=example,dc=com" --isSource

  The same, unattended, as source and destination:
    prepare-endpoint-server -h ds1.example.com -p 389 -D "cn=Directory Manager" -j admin.pw \\
      --syncServerBindPasswordFile sync.pw -b dc=example,dc=com --isSource --isDestination \\
      --changelogMaximumAge 1w --no-prompt

Every long option also accepts its kebab-case spelling (--bind-dn) and any letter case (--binddn).
Passwords: prefer --bindPasswordFile / --syncServerBindPasswordFile, or the environment variables
PES_BIND_PASSWORD and PES_SYNC_PASSWORD, to password options that other users can see in ps.`;

export function buildProgram(version: string, write: { out: (s: string) => void; err: (s: string) => void }): Command {
  const program = new Command('prepare-endpoint-server')
    .description(
      'Prepare an LDAP directory server to be a synchronization source and/or destination: create the sync user, grant it what its role needs, enable the change log.',
    )
    .helpOption('-H, --help', 'show this help')
    .version(version, '-V, --version', 'show the version')
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({ writeOut: write.out, writeErr: write.err, outputError: () => undefined })
    .addHelpText('after', `${EXAMPLES}\n${EXIT_CODE_HELP}`);
  for (const spec of OPTION_TABLE) {
    const flags = `${spec.short === undefined ? '' : `-${spec.short}, `}--${flagName(spec)}${spec.value === undefined ? '' : ` <${spec.value}>`}`;
    const shownDefault = spec.defaultText ?? spec.default;
    const help = shownDefault === undefined ? spec.help : `${spec.help} (default: ${shownDefault})`;
    const option = new Option(flags, help).helpGroup(`${spec.group}:`);
    if (spec.choices !== undefined) option.choices([...spec.choices]);
    if (spec.repeatable === true)
      option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    program.addOption(option);
  }
  return program;
}

export type ParseResult =
  | { readonly kind: 'run'; readonly options: RawOptions; readonly explicit: ReadonlySet<string> }
  | { readonly kind: 'exit'; readonly code: number };

/** Parses argv; help and version end the run with 0, any usage problem is a PrepareError with code 89. */
export function parseCommandLine(
  args: readonly string[],
  version: string,
  write: { out: (s: string) => void; err: (s: string) => void },
): ParseResult {
  const program = buildProgram(version, write);
  try {
    program.parse(normalizeArgv(args), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      ) {
        return { kind: 'exit', code: 0 };
      }
      throw new PrepareError(
        ResultCode.PARAM_ERROR,
        error.message.replace(/^error: /, ''),
        'see prepare-endpoint-server --help',
      );
    }
    throw error;
  }
  const options = program.opts();
  const explicit = new Set(Object.keys(options).filter((key) => program.getOptionValueSource(key) === 'cli'));
  return { kind: 'run', options, explicit };
}

/** The key commander stores an option under (`noPrompt` is stored as `prompt`, `dry-run` as `dryRun`). */
export function optionKey(spec: OptionSpec): OptionKey {
  const camel = spec.long.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  // What StoredKey computes for the type: every spec of OPTION_TABLE has its key in Options.
  return (/^no[A-Z]/.test(camel) ? `${camel.charAt(2).toLowerCase()}${camel.slice(3)}` : camel) as OptionKey;
}
