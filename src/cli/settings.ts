/**
 * From parsed options (plus the properties file, password files and environment) to validated Settings.
 * Everything is checked here, before any connection: a problem is a PrepareError with code 89 and a hint.
 */
import { readdirSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { DurationSyntaxError, parseDuration } from '../formats/duration.js';
import { type Settings } from '../core/settings.js';
import { Secret } from '../model/secret.js';
import type { ClientCertificate, Trust } from '../model/directory.js';
import { DnSyntaxError, normalizeDn, parseDn } from '../formats/dn.js';
import { PrepareError, ResultCode } from '../model/errors.js';
import { looseName, OPTION_TABLE, optionKey, type OptionKey, type Options, type RawOptions } from './options.js';
import {
  formatBytes,
  InputFileError,
  PASSWORD_FILE_MAX_BYTES,
  PROPERTIES_FILE_MAX_BYTES,
  readRegularFile,
  TRUST_STORE_MAX_BYTES,
} from './input.js';
import { parseReplicas } from './replicas.js';
import { readTrustStore, TrustStoreError, type TrustStoreContent, type TrustStoreFormat } from '../tls/truststore.js';
import { readKeyStore, type KeyStoreContent, type KeyStoreFormat } from '../tls/keystore.js';

export interface ResolvedSettings {
  readonly settings: Settings;
  /** Said before the run starts (passwords on the command line, loose file permissions, --trustAll). */
  readonly warnings: readonly string[];
  readonly canPrompt: boolean;
  readonly logFile: string | undefined;
  readonly color: boolean;
  /** One JSON object on stdout; human output on stderr. */
  readonly json: boolean;
  /**
   * Every password the options gave (admin, sync, trust store): masked wherever it might appear in what the
   * run prints, logs or answers in JSON (a server may repeat one).
   */
  readonly secrets?: readonly Secret[];
}

export interface Environment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdinIsTTY: boolean;
  /**
   * What stdin holds for `-` as a password file: its first line is the password. The CLI reads that one line
   * (bounded, interruptible) before settings are resolved; see passwordFilesFromStdin.
   */
  readStdin(): string | Buffer;
}

/** The options whose password file is `-` (stdin), in the order they are read. */
const STDIN_PASSWORD_FILES = [
  'bindPasswordFile',
  'syncServerBindPasswordFile',
  'trustStorePasswordFile',
  'keyStorePasswordFile',
] as const satisfies readonly OptionKey[];

function usage(message: string, hint?: string): PrepareError {
  return new PrepareError(ResultCode.PARAM_ERROR, message, hint ?? 'see prepare-endpoint-server --help');
}

export function resolveSettings(
  parsed: RawOptions,
  explicit: ReadonlySet<string>,
  environment: Environment,
): ResolvedSettings {
  const warnings: string[] = [];
  const { options: merged, origin } = withPropertiesFile(parsed, explicit);
  /** ` (in FILE line N)` for a value that came from the properties file. */
  const from = (key: OptionKey): string => origin.get(key) ?? '';

  const options = checkedOptions(merged, from);
  for (const [a, b] of CONFLICTS) conflict(options, a, b);

  const security = options.useSSL === true ? 'ssl' : options.useStartTLS === true ? 'starttls' : 'none';
  const port = parsePort(options.port, security === 'ssl' ? 636 : 389, from('port'));
  const socketPath = ldapiSocketPath(options.hostname, from('hostname'));
  // An ldapi socket is local: the host only names it in messages, and TLS has nothing to protect.
  const host = socketPath === undefined ? parseHost(options.hostname, from('hostname')) : 'localhost';
  if (socketPath !== undefined && security !== 'none')
    throw usage(
      `--${security === 'ssl' ? 'useSSL' : 'useStartTLS'} does not go with an ldapi:// --hostname: the socket never leaves this machine`,
      `leave out --${security === 'ssl' ? 'useSSL' : 'useStartTLS'}`,
    );
  if (socketPath !== undefined && options.port !== undefined)
    warnings.push('--port has no effect with an ldapi:// --hostname: the socket is the address');
  const useSaslExternal = saslExternal(options, from);

  const bindDn = optionalDn(options.bindDN, '--bindDN');
  const syncUserDn = optionalDn(options.syncServerBindDN, '--syncServerBindDN');
  const baseDns = [...(options.baseDN ?? [])];
  const remove = options.remove === true;
  if (baseDns.length === 0)
    throw usage('No --baseDN given', 'name the base DN to synchronize with --baseDN (repeat it for several)');
  const seen = new Set<string>();
  for (const base of baseDns) {
    const key = requireDn(base, '--baseDN');
    if (key === '') throw usage('--baseDN may not be the root DSE (empty DN)');
    if (seen.has(key)) throw usage(`--baseDN '${base}' is given twice`);
    seen.add(key);
  }

  const roles = { source: options.isSource === true, destination: options.isDestination === true };
  if (!roles.source && !roles.destination && !remove) {
    throw usage(
      'Neither --isSource nor --isDestination was given',
      'say which role(s) the server plays: --isSource, --isDestination, or both',
    );
  }
  if (options.disableChangelog === true && !remove) throw usage('--disableChangelog only goes with --remove');

  const changelogDeletedEntryAttributes = [...(options.changelogDeletedEntryAttribute ?? [])];
  for (const name of changelogDeletedEntryAttributes) {
    // An attribute type name (RFC 4512 descr) or OID: anything else would land in server configuration as is.
    if (!/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)$/.test(name)) {
      // JSON quoting: a value with a line break or control character still makes one line.
      throw usage(
        `Invalid --changelogDeletedEntryAttribute ${JSON.stringify(name)}: give an attribute name such as employeeNumber`,
      );
    }
  }

  const maxAgeText = options.changelogMaximumAge;
  const changelogMaxAgeSeconds =
    maxAgeText === undefined ? undefined : duration(maxAgeText, '--changelogMaximumAge', from('changelogMaximumAge'));
  const connectTimeoutMs = timerDuration(options.connectTimeout, '--connectTimeout', from('connectTimeout'));
  const operationTimeoutMs = timerDuration(options.operationTimeout, '--operationTimeout', from('operationTimeout'));
  const replicas = parseReplicas(options.replica, { host, port }, from('replica'));
  const replicationTimeoutMs = timerDuration(
    options.replicationTimeout,
    '--replicationTimeout',
    from('replicationTimeout'),
  );
  if (replicas.length === 0 && (explicit.has('replicationTimeout') || from('replicationTimeout') !== '')) {
    warnings.push('--replicationTimeout applies with --replica only and was ignored');
  }

  const fromStdin = STDIN_PASSWORD_FILES.filter((key) => options[key] === '-');
  if (fromStdin.length > 1) {
    throw usage(
      `stdin can supply only one password, but ${fromStdin.map((key) => `--${key}`).join(' and ')} are ${fromStdin.length === 2 ? 'both' : 'all'} '-'`,
      'put the other password in a file (chmod 600), or in PES_BIND_PASSWORD / PES_SYNC_PASSWORD',
    );
  }

  const bindPassword = password(
    options,
    'bindPassword',
    'bindPasswordFile',
    'PES_BIND_PASSWORD',
    environment,
    warnings,
    from,
  );
  const syncPassword = password(
    options,
    'syncServerBindPassword',
    'syncServerBindPasswordFile',
    'PES_SYNC_PASSWORD',
    environment,
    warnings,
    from,
  );
  const secrets: Secret[] = [];
  const trust = resolveTrust(options, warnings, environment, from, secrets);
  const clientCertificate = resolveClientCertificate(options, warnings, environment, from, secrets);
  if (clientCertificate !== undefined && security === 'none') {
    throw usage(
      `--keyStorePath is presented only in a TLS handshake, and the connection is ${socketPath === undefined ? 'plain LDAP' : 'an ldapi socket'}`,
      socketPath === undefined
        ? 'add --useStartTLS (or --useSSL with the LDAPS port)'
        : 'over ldapi the process user is the SASL EXTERNAL identity: leave out --keyStorePath',
    );
  }
  if (useSaslExternal && socketPath === undefined && clientCertificate === undefined) {
    throw usage(
      '--useSASLExternal needs an identity the connection proves: an ldapi:// --hostname (the process user) or a client certificate',
      'give --hostname ldapi://<socket path>, or --keyStorePath with --useStartTLS or --useSSL',
    );
  }
  if (options.trustAll === true && security === 'none')
    warnings.push('--trustAll has no effect without --useSSL or --useStartTLS');

  if (useSaslExternal && bindDn === undefined && bindPassword !== undefined)
    warnings.push(
      'An admin password was given without --bindDN: with --useSASLExternal alone it is not used (add --bindDN for a second identity that writes the entries)',
    );
  const canPrompt = options.prompt !== false && environment.stdinIsTTY;
  if (!canPrompt) {
    // With SASL EXTERNAL alone, the connection's identity is the admin: no DN, no password.
    const externalOnly = useSaslExternal && bindDn === undefined;
    const missing = [
      ...(bindDn === undefined && !externalOnly ? ['--bindDN'] : []),
      ...(bindPassword === undefined && !externalOnly ? ['--bindPasswordFile (or PES_BIND_PASSWORD)'] : []),
      ...(syncPassword === undefined && !remove ? ['--syncServerBindPasswordFile (or PES_SYNC_PASSWORD)'] : []),
    ];
    if (missing.length > 0) {
      const why = options.prompt === false ? '--no-prompt is set' : 'stdin is not a terminal';
      throw usage(`Missing ${missing.join(', ')}; cannot prompt because ${why}`, `pass ${missing.join(' and ')}`);
    }
  }

  const env = environment.env;
  // NO_COLOR (https://no-color.org) and TERM=dumb (a terminal that understands no escape sequences) both
  // mean plain text; the CLI also checks that the stream is a terminal.
  const color = options.color !== false && (env['NO_COLOR'] ?? '') === '' && env['TERM'] !== 'dumb';

  return {
    settings: {
      host,
      port,
      security,
      trust,
      ...(socketPath === undefined ? {} : { socketPath }),
      ...(clientCertificate === undefined ? {} : { clientCertificate }),
      ...(useSaslExternal ? { useSaslExternal } : {}),
      connectTimeoutMs,
      operationTimeoutMs,
      bindDn,
      bindPassword,
      syncUserDn,
      syncPassword,
      baseDns,
      roles,
      changelogMaxAgeSeconds,
      serverType: options.serverType,
      resetSyncPassword: options.resetSyncServerBindPassword === true,
      inheritDefaultRootPrivileges: options.inheritDefaultRootPrivileges === true,
      accesslogDirectory: options.accesslogDirectory,
      ...(changelogDeletedEntryAttributes.length > 0 ? { changelogDeletedEntryAttributes } : {}),
      adAdministratorsGroup: options.adAdministratorsGroup === true,
      remove,
      disableChangelog: options.disableChangelog === true,
      dryRun: options.dryRun === true,
      ...(replicas.length === 0 ? {} : { replicas, replicationTimeoutMs }),
    },
    warnings,
    canPrompt,
    logFile: options.logFile,
    color,
    json: options.json === true,
    secrets: [...[bindPassword, syncPassword].filter((secret) => secret !== undefined), ...secrets],
  };
}

/**
 * Whether the run asked for --json, on the command line or in its properties file: a usage error found later
 * must still answer in JSON. Never throws: a broken properties file is reported by resolveSettings.
 */
export function wantsJson(parsed: RawOptions, explicit: ReadonlySet<string>): boolean {
  try {
    const value = withPropertiesFile(parsed, explicit).options['json'];
    return value === true || value === 'true';
  } catch {
    return parsed['json'] === true;
  }
}

/**
 * The password file options that are `-` (stdin), on the command line or in the properties file: the CLI
 * reads stdin's first line before resolving settings when there is exactly one. Never throws: a broken
 * properties file is reported by resolveSettings.
 */
export function passwordFilesFromStdin(parsed: RawOptions, explicit: ReadonlySet<string>): string[] {
  let options: RawOptions;
  try {
    options = withPropertiesFile(parsed, explicit).options;
  } catch {
    options = parsed;
  }
  return STDIN_PASSWORD_FILES.filter((key) => options[key] === '-');
}

/**
 * The options as OPTION_TABLE types them, from the command line merged with the properties file, with the
 * defaults of the table applied. What holds for every value whatever option it is for is checked here: not
 * empty, no text that was not valid UTF-8 (a Latin-1 terminal or file would otherwise change a DN or a
 * password silently), and one of the choices for options that have them.
 */
function checkedOptions(options: RawOptions, from: (key: OptionKey) => string): Options {
  const checked: Partial<Record<OptionKey, unknown>> = {};
  for (const spec of OPTION_TABLE) {
    const key = optionKey(spec);
    const raw = options[key];
    if (spec.value === undefined) {
      // A flag: commander stores true (false for a negated one given, such as --no-prompt), the properties file true or false.
      checked[key] = raw === true || raw === 'true' ? true : raw === false ? false : undefined;
      continue;
    }
    const values = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
    if (spec.repeatable === true) checked[key] = raw === undefined ? undefined : values;
    else checked[key] = typeof raw === 'string' ? raw : spec.default;
    for (const value of values) {
      // A password option's own checks say more (and never show the value).
      if (spec.secret === true) continue;
      if (value === '') throw usage(`--${spec.long} is empty${from(key)}`, `give a value, or leave --${spec.long} out`);
      if (value.includes('\uFFFD')) {
        throw usage(
          `--${spec.long}${from(key)} is not valid UTF-8 text`,
          'write the value in UTF-8 (check the terminal or file encoding)',
        );
      }
      if (spec.choices !== undefined && !spec.choices.includes(value)) {
        throw usage(`Invalid --${spec.long} '${value}'${from(key)}: use one of ${spec.choices.join(', ')}`);
      }
    }
  }
  // The loop above went through OPTION_TABLE, which the type is made from.
  return checked as Options;
}

/** Pairs of options that cannot be used together. */
const CONFLICTS: readonly (readonly [OptionKey, OptionKey])[] = [
  ['useSSL', 'useStartTLS'],
  ['bindPassword', 'bindPasswordFile'],
  ['syncServerBindPassword', 'syncServerBindPasswordFile'],
  ['trustAll', 'trustStorePath'],
  ['trustStorePassword', 'trustStorePasswordFile'],
  ['keyStorePassword', 'keyStorePasswordFile'],
];

function conflict(options: Options, a: OptionKey, b: OptionKey): void {
  if (options[a] !== undefined && options[a] !== false && options[b] !== undefined && options[b] !== false) {
    throw usage(`--${a} and --${b} cannot be used together`);
  }
}

function parsePort(text: string | undefined, fallback: number, from: string): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,5}$/.test(text.trim())) throw usage(`Invalid --port '${text}'${from}: use a number from 1 to 65535`);
  const port = Number(text.trim());
  if (port < 1 || port > 65535) throw usage(`Invalid --port '${text}'${from}: use a number from 1 to 65535`);
  return port;
}

/**
 * A host name, an IPv4 address or an IPv6 address (without brackets). A URL, `host:port` or `[v6]:port`
 * would otherwise become part of the name the tool connects to: say which options carry the port and the
 * scheme instead.
 */
function parseHost(text: string, from: string): string {
  const invalid = (why: string, hint: string): PrepareError =>
    usage(`Invalid --hostname '${text}'${from}: ${why}`, hint);
  if (text.trim() === '' || /\s/.test(text))
    throw invalid('it is empty or holds a space', "give the server's host name or IP address");
  const url = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(text);
  if (url !== null) {
    const [, schemeText = '', afterScheme = ''] = url;
    const scheme = schemeText.toLowerCase();
    const rest = /^(\[[^\]]*\]|[^:/?#]*)(?::(\d+))?/.exec(afterScheme);
    const host = (rest?.[1] ?? '').replace(/^\[(.*)\]$/, '$1') || '<host>';
    const port = rest?.[2] === undefined ? '' : ` --port ${rest[2]}`;
    const tls = scheme === 'ldaps' ? ' --useSSL' : '';
    throw invalid(
      'it is a URL, and --hostname takes the host alone',
      scheme === 'ldap' || scheme === 'ldaps'
        ? `use --hostname ${host}${port}${tls}`
        : 'give the host with --hostname, the port with --port, and --useSSL or --useStartTLS for TLS',
    );
  }
  const bracketed = /^\[([^\]]*)\](?::(\d*))?$/.exec(text);
  if (bracketed !== null) {
    throw invalid(
      'an IPv6 address is written without brackets, and the port goes in --port',
      `use --hostname ${bracketed[1]}${bracketed[2] ? ` --port ${bracketed[2]}` : ''}`,
    );
  }
  if (isIP(text) !== 0) return text;
  const hostPort = /^([^:]+):(\d*)$/.exec(text);
  if (hostPort !== null) {
    throw invalid(
      'the port goes in --port',
      `use --hostname ${hostPort[1]}${hostPort[2] ? ` --port ${hostPort[2]}` : ''} (and --useSSL if it is an LDAPS port)`,
    );
  }
  if (text.includes(':'))
    throw invalid('it is not a valid IPv6 address', 'write an IPv6 address without brackets or port, such as ::1');
  if (/^[\d.]+$/.test(text))
    throw invalid('it is not a valid IPv4 address', 'write four numbers from 0 to 255, such as 192.0.2.10');
  if (/[^\x21-\x7e]/.test(text)) {
    throw invalid('a host name is ASCII', 'give an internationalized name in its ASCII (xn--) form, or the IP address');
  }
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  const labels = name.split('.');
  if (name.length > 253 || labels.some((label) => !/^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label))) {
    throw invalid('it is not a host name', 'use letters, digits, hyphens and dots only, such as ds1.example.com');
  }
  return text;
}

function requireDn(text: string, option: string): string {
  try {
    parseDn(text);
    return normalizeDn(text);
  } catch (error) {
    if (error instanceof DnSyntaxError)
      throw usage(
        `Invalid DN for ${option} '${text}': ${error.message}`,
        'write DNs as in RFC 4514, such as cn=Sync User,dc=example,dc=com (escape a comma in a value as \\,)',
      );
    throw error;
  }
}

function optionalDn(text: string | undefined, option: string): string | undefined {
  if (text === undefined) return undefined;
  if (requireDn(text, option) === '') throw usage(`${option} may not be empty`);
  return text;
}

function duration(text: string, option: string, from = ''): number {
  try {
    return parseDuration(text);
  } catch (error) {
    if (error instanceof DurationSyntaxError) throw usage(`Invalid ${option}${from}: ${error.message}`);
    throw error;
  }
}

/** Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_SECONDS = Math.floor(0x7fffffff / 1000);

/** A duration that becomes a timer (connect and operation timeouts), in milliseconds. */
function timerDuration(text: string, option: string, from: string): number {
  const seconds = duration(text, option, from);
  if (seconds > MAX_TIMER_SECONDS) {
    throw usage(
      `Invalid ${option}${from}: '${text}' is longer than the longest wait Node.js timers support (about 24.8 days)`,
      `use at most 24d (${MAX_TIMER_SECONDS}s)`,
    );
  }
  return seconds * 1000;
}

/** File (or `-` for stdin) first, then environment, then the option itself (accepted, with a warning). */
function password(
  options: Options,
  valueKey: 'bindPassword' | 'syncServerBindPassword',
  fileKey: 'bindPasswordFile' | 'syncServerBindPasswordFile',
  envName: string,
  environment: Environment,
  warnings: string[],
  from: (key: OptionKey) => string,
): Secret | undefined {
  const file = options[fileKey];
  if (file !== undefined) return new Secret(readPasswordFile(file, `--${fileKey}`, environment, warnings));
  const fromEnv = environment.env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return new Secret(checkPassword(fromEnv, envName));
  const value = options[valueKey];
  if (value !== undefined) {
    if (value === '') throw usage(`--${valueKey} is empty${from(valueKey)}`);
    // From a private properties file the password is not on the command line: no warning.
    if (from(valueKey) === '')
      warnings.push(
        `--${valueKey} on the command line is visible to other local users; prefer --${fileKey} or ${envName}`,
      );
    return new Secret(checkPassword(value, `--${valueKey}${from(valueKey)}`));
  }
  return undefined;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Names of the control characters a password can hold by mistake. */
const CONTROL_NAMES: Readonly<Record<number, string>> = {
  0: 'a NUL byte',
  0x0a: 'a line feed (LF)',
  0x0d: 'a carriage return (CR)',
  0x1b: 'an escape (ESC)',
};

/**
 * A password exactly as the server will get it, or a usage error: a NUL byte (servers written in C keep only
 * what is before it), a line break or another control character (a stray newline from `$(...)` or a
 * copy-paste), or text that was not valid UTF-8 all change the password without anyone noticing. A tab is
 * allowed. `what` names where it came from; the password itself is never shown.
 */
function checkPassword(value: string, what: string): string {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) {
      const name = CONTROL_NAMES[code] ?? `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
      throw usage(
        `The password from ${what} contains ${name}, which would change the password the server gets`,
        code === 0
          ? 'remove the NUL byte (write the file as plain text)'
          : 'remove it: a password is one line of printable text',
      );
    }
  }
  if (value.includes('\uFFFD')) {
    throw usage(
      `The password from ${what} is not valid UTF-8 text`,
      'write it in UTF-8: passwords are sent to the server as UTF-8',
    );
  }
  return value;
}

/** The first line of a password file (or of stdin for `-`): the password. */
export function readPasswordFile(path: string, option: string, environment: Environment, warnings: string[]): string {
  const where = path === '-' ? `${option} '-' (stdin)` : `${option} '${path}'`;
  let bytes: Buffer;
  let mode: number | undefined;
  try {
    if (path === '-') {
      const line = environment.readStdin();
      bytes = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
    } else {
      ({ bytes, mode } = readRegularFile(path, PASSWORD_FILE_MAX_BYTES));
    }
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    throw usage(
      `Cannot read ${where}: ${error.message}`,
      path === '-'
        ? 'send the password on stdin as one line'
        : error.problem === 'missing' || error.problem === 'unreadable'
          ? 'check the path and its permissions'
          : `give a regular file (at most ${formatBytes(PASSWORD_FILE_MAX_BYTES)}) whose first line is the password`,
    );
  }
  const newline = bytes.indexOf(0x0a);
  let line = newline === -1 ? bytes : bytes.subarray(0, newline);
  if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
  if (line.length >= 2 && ((line[0] === 0xff && line[1] === 0xfe) || (line[0] === 0xfe && line[1] === 0xff))) {
    throw usage(`${where} is UTF-16 text`, 'save it as UTF-8 (plain text): passwords are sent to the server as UTF-8');
  }
  if (line.length >= 3 && line[0] === 0xef && line[1] === 0xbb && line[2] === 0xbf) {
    line = line.subarray(3);
    warnings.push(
      `${where} starts with a UTF-8 byte order mark (BOM), which is not part of the password: it was ignored`,
    );
  }
  let firstLine: string;
  try {
    firstLine = UTF8.decode(line);
  } catch {
    throw usage(`${where} is not valid UTF-8 text`, 'save it as UTF-8: passwords are sent to the server as UTF-8');
  }
  if (firstLine === '') throw usage(`${where} is empty: its first line must be the password`);
  checkPassword(firstLine, where);
  if (mode !== undefined && (mode & 0o077) !== 0) {
    warnings.push(`${option} '${path}' can be read by other users: chmod 600 it`);
  }
  return firstLine;
}

/**
 * --trustAll, or the certificates of --trustStorePath (PEM bundle, DER certificate or PKCS#12 with
 * --trustStorePassword/--trustStorePasswordFile), or the system CAs. Problems are usage errors (89).
 */
function resolveTrust(
  options: Options,
  warnings: string[],
  environment: Environment,
  from: (key: OptionKey) => string,
  secrets: Secret[] = [],
): Trust {
  if (options.trustAll === true) {
    warnings.push(
      '--trustAll accepts any server certificate: the connection can be intercepted. Use --trustStorePath in production',
    );
    return { kind: 'all' };
  }
  const path = options.trustStorePath;
  if (path === undefined) return { kind: 'system' };
  const content = readStoreFile(path, '--trustStorePath', 'a PEM or PKCS#12 file');
  const password = storePassword('trustStore', options, warnings, environment, from);
  if (password !== undefined) secrets.push(new Secret(password));
  const format = storeFormat(options.trustStoreFormat, '--trustStoreFormat');
  let store: TrustStoreContent;
  try {
    store = readTrustStore(content, password, format);
  } catch (error) {
    throw trustStoreUsage(asStoreError(error), path);
  }
  if (store.unverified === true)
    warnings.push(
      `--trustStorePath '${path}' is a JKS file read without its password, so its integrity was not checked: give --trustStorePasswordFile to check it`,
    );
  return { kind: 'certificates', ca: store.certificates.map((c) => Buffer.from(c)), source: path };
}

/** --trustStoreFormat and --keyStoreFormat as Ping spells them (JKS, PKCS12, PEM; any letter case). */
function storeFormat(text: string | undefined, option: string): (TrustStoreFormat & KeyStoreFormat) | undefined {
  if (text === undefined) return undefined;
  const format = text
    .trim()
    .toLowerCase()
    .replace(/^pkcs#?12$/, 'pkcs12');
  if (format === 'jks' || format === 'pkcs12' || format === 'pem') return format;
  throw usage(
    `Invalid ${option} '${text}': use JKS, PKCS12 or PEM`,
    format === 'pkcs11' || format === 'bcfks'
      ? `${text.toUpperCase()} key stores are not supported: export the certificate to PKCS#12 or PEM`
      : undefined,
  );
}

/**
 * --useSASLExternal, or Ping's --saslOption mech=EXTERNAL. Other mechanisms send a password this tool
 * already sends with a simple bind, and are refused rather than half-supported.
 */
function saslExternal(options: Options, from: (key: OptionKey) => string): boolean {
  let external = options.useSASLExternal === true;
  for (const option of options.saslOption ?? []) {
    const eq = option.indexOf('=');
    const name = eq < 0 ? option : option.slice(0, eq).trim().toLowerCase();
    const value = eq < 0 ? '' : option.slice(eq + 1).trim();
    if (name === 'mech' && value.toUpperCase() === 'EXTERNAL') external = true;
    else if (name === 'mech')
      throw usage(
        `Unsupported --saslOption '${option}'${from('saslOption')}: only mech=EXTERNAL is supported`,
        'bind with --bindDN and a password for a simple bind, or with mech=EXTERNAL',
      );
    else
      throw usage(
        `Unsupported --saslOption '${option}'${from('saslOption')}: EXTERNAL takes no options`,
        'give only --saslOption mech=EXTERNAL (or --useSASLExternal)',
      );
  }
  return external;
}

/** The client certificate of --keyStorePath (PEM, PKCS#12 or JKS), with its password and --certNickname. */
function resolveClientCertificate(
  options: Options,
  warnings: string[],
  environment: Environment,
  from: (key: OptionKey) => string,
  secrets: Secret[] = [],
): ClientCertificate | undefined {
  const path = options.keyStorePath;
  if (path === undefined) {
    for (const key of ['keyStorePassword', 'keyStorePasswordFile', 'keyStoreFormat', 'certNickname'] as const)
      if (options[key] !== undefined) throw usage(`--${key} needs --keyStorePath`);
    return undefined;
  }
  const content = readStoreFile(path, '--keyStorePath', 'a PEM, PKCS#12 or JKS file');
  const password = storePassword('keyStore', options, warnings, environment, from);
  if (password !== undefined) secrets.push(new Secret(password));
  const format = storeFormat(options.keyStoreFormat, '--keyStoreFormat');
  let store: KeyStoreContent;
  try {
    store = readKeyStore(content, password, format, options.certNickname);
  } catch (error) {
    const problem = asStoreError(error);
    throw usage(
      `--keyStorePath '${path}' cannot be used: ${problem.message}`,
      problem.problem === 'password-needed' || problem.problem === 'password-wrong'
        ? 'give its password with --keyStorePasswordFile (or --keyStorePassword)'
        : 'give a PEM file with the certificate and its private key, a PKCS#12 file or a JKS key store (and --certNickname for one of several)',
    );
  }
  return store.kind === 'pem'
    ? { kind: 'pem', key: store.key, cert: store.cert, subject: store.subject, source: path }
    : { kind: 'pfx', pfx: store.pfx, passphrase: store.passphrase, subject: store.subject, source: path };
}

/** Where servers put their ldapi socket by default: OpenLDAP (Debian, RHEL, source builds), then 389 DS instances. */
const DEFAULT_LDAPI_SOCKETS = [
  '/run/slapd/ldapi',
  '/var/run/slapd/ldapi',
  '/run/openldap/ldapi',
  '/run/ldapi',
  '/var/run/ldapi',
];
const DS389_SOCKET_FOLDERS = ['/run', '/run/dirsrv'];

/**
 * The socket of an `ldapi://` --hostname, undefined for any other host. The path is percent-encoded as
 * OpenLDAP's and 389's tools write it (`%2F` or `%2f`); `ldapi:///` is the server's default socket, looked for
 * where servers put it. A path that exists and is no socket is refused here; a missing one fails to connect (91).
 */
function ldapiSocketPath(text: string, from: string): string | undefined {
  const url = /^ldapi:\/\/([^/?#]*)\/?$/i.exec(text);
  if (url === null) {
    if (/^ldapi:/i.test(text))
      throw usage(
        `Invalid --hostname '${text}'${from}: an ldapi URL is ldapi:// and the socket path with each / written %2F`,
        'such as ldapi://%2Frun%2Fslapd%2Fldapi, or ldapi:/// for the default socket',
      );
    return undefined;
  }
  const encoded = url[1] ?? '';
  if (encoded === '') return defaultLdapiSocket(text, from);
  let socketPath: string;
  try {
    socketPath = decodeURIComponent(encoded);
  } catch {
    throw usage(
      `Invalid --hostname '${text}'${from}: its percent-encoding is broken`,
      'write each / of the path as %2F',
    );
  }
  if (!socketPath.startsWith('/') || socketPath.includes('\0'))
    throw usage(
      `Invalid --hostname '${text}'${from}: the socket path '${socketPath}' is not absolute`,
      'write the full path with each / as %2F, such as ldapi://%2Frun%2Fslapd%2Fldapi',
    );
  let isSocket: boolean | undefined;
  try {
    isSocket = statSync(socketPath).isSocket();
  } catch {
    isSocket = undefined; // missing or unreadable: the connection says so, naming the path
  }
  if (isSocket === false)
    throw usage(
      `Invalid --hostname '${text}'${from}: '${socketPath}' is not a socket`,
      "give the path of the directory server's ldapi socket",
    );
  return socketPath;
}

function defaultLdapiSocket(text: string, from: string): string {
  const isSocket = (path: string): boolean => {
    try {
      return statSync(path).isSocket();
    } catch {
      return false;
    }
  };
  const found = DEFAULT_LDAPI_SOCKETS.filter(isSocket);
  for (const folder of DS389_SOCKET_FOLDERS) {
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      continue;
    }
    for (const name of names)
      if (/^slapd-.+\.socket$/.test(name) && isSocket(`${folder}/${name}`)) found.push(`${folder}/${name}`);
  }
  const unique = [...new Set(found)];
  if (unique.length === 1 && unique[0] !== undefined) return unique[0];
  throw usage(
    unique.length === 0
      ? `--hostname '${text}'${from}: no ldapi socket found in the usual places (${[...DEFAULT_LDAPI_SOCKETS, '/run/slapd-*.socket'].join(', ')})`
      : `--hostname '${text}'${from}: several ldapi sockets found (${unique.join(', ')})`,
    'give the socket path: ldapi://%2Fpath%2Fto%2Fsocket',
  );
}

/** The bytes of a trust or key store file; what cannot be read is a usage error naming the option. */
function readStoreFile(path: string, option: '--trustStorePath' | '--keyStorePath', what: string): Buffer {
  try {
    return readRegularFile(path, TRUST_STORE_MAX_BYTES).bytes;
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    throw usage(
      `Cannot read ${option} '${path}': ${error.message}`,
      error.problem === 'missing' || error.problem === 'unreadable'
        ? 'check the path and its permissions'
        : `give ${what} (at most ${formatBytes(TRUST_STORE_MAX_BYTES)})`,
    );
  }
}

/** A trust or key store's password: from its file, else from the option (visible to other users: warned). */
function storePassword(
  store: 'trustStore' | 'keyStore',
  options: Options,
  warnings: string[],
  environment: Environment,
  from: (key: OptionKey) => string,
): string | undefined {
  const file = options[`${store}PasswordFile`];
  if (file !== undefined) return readPasswordFile(file, `--${store}PasswordFile`, environment, warnings);
  const value = options[`${store}Password`];
  if (value === undefined) return undefined;
  const where = from(`${store}Password`);
  if (where === '')
    warnings.push(
      `--${store}Password on the command line is visible to other local users; prefer --${store}PasswordFile`,
    );
  return checkPassword(value, `--${store}Password${where}`);
}

/** A reader of hostile bytes may fail in ways it did not foresee: that is still a file it cannot read. */
function asStoreError(error: unknown): TrustStoreError {
  return error instanceof TrustStoreError
    ? error
    : new TrustStoreError(
        'unrecognized',
        `it is a damaged file (${error instanceof Error ? error.message : String(error)})`,
      );
}

function trustStoreUsage(error: TrustStoreError, path: string): PrepareError {
  switch (error.problem) {
    case 'jks':
      return usage(
        `--trustStorePath '${path}' is a Java KeyStore (JKS) that cannot be read: ${error.message}`,
        `check the file, or convert it: keytool -exportcert -rfc -keystore ${path} -alias <alias> -file ca.pem, then pass ca.pem ` +
          `(or all of it: keytool -importkeystore -srckeystore ${path} -destkeystore truststore.p12 -deststoretype PKCS12)`,
      );
    case 'password-needed':
      return usage(
        `--trustStorePath '${path}' is a PKCS#12 file protected by a password`,
        'give its password with --trustStorePasswordFile (or --trustStorePassword)',
      );
    case 'password-wrong':
      return usage(
        `The password for --trustStorePath '${path}' is wrong: ${error.message}`,
        'check --trustStorePasswordFile (its first line is the password) or --trustStorePassword',
      );
    case 'unrecognized':
      return usage(
        `--trustStorePath '${path}' holds no PEM certificate and is not a PKCS#12 file${error.message.startsWith('it is a damaged') ? ` (${error.message})` : ''}`,
        'give a PEM bundle of CA certificates or a PKCS#12 trust store',
      );
    case 'invalid-pem':
      return usage(
        `--trustStorePath '${path}' cannot be read: ${error.message}`,
        'export the CA certificate again (openssl x509 -in ca.crt -out ca.pem), or remove the damaged block from the file',
      );
    case 'no-certificate':
      return usage(
        `--trustStorePath '${path}' holds no certificate`,
        'put the CA certificate that issued the server certificate in it',
      );
    case 'unsupported':
      return usage(
        `--trustStorePath '${path}' cannot be read: ${error.message}`,
        `convert it to PEM: openssl pkcs12 -in ${path} -nokeys -out ca.pem, then pass ca.pem`,
      );
  }
}

/**
 * `name=value` lines; `#` comments. Explicit command-line options win; secrets only from a private file.
 * `origin` says, for each option taken from the file, where: ` (in FILE line N)`, for messages.
 * Each line is read by OPTION_TABLE: a name it does not know, or a flag whose value is not true or false, is a
 * usage error here; the values then go through checkedOptions with those of the command line.
 */
/** The tool's name, as a Ping properties file prefixes its lines. */
const TOOL_NAME = 'prepare-endpoint-server';

function withPropertiesFile(
  parsed: RawOptions,
  explicit: ReadonlySet<string>,
): { options: RawOptions; origin: Map<string, string> } {
  const origin = new Map<string, string>();
  const path = parsed['propertiesFilePath'];
  if (typeof path !== 'string') return { options: parsed, origin };
  let bytes: Buffer;
  let mode: number;
  try {
    ({ bytes, mode } = readRegularFile(path, PROPERTIES_FILE_MAX_BYTES));
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    throw usage(
      `Cannot read --propertiesFilePath '${path}': ${error.message}`,
      error.problem === 'missing' || error.problem === 'unreadable'
        ? 'check the path and its permissions'
        : `give a regular file of name=value lines (at most ${formatBytes(PROPERTIES_FILE_MAX_BYTES)})`,
    );
  }
  const privateFile = (mode & 0o077) === 0;
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw usage(
      `--propertiesFilePath '${path}' is not valid UTF-8 text`,
      'save it as UTF-8: a DN or value in another encoding would change meaning',
    );
  }
  // A byte order mark is only an encoding marker (Windows editors write one).
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const merged: RawOptions = { ...parsed };
  const repeated = new Map<string, string[]>();
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw usage(`${path} line ${index + 1}: expected name=value`);
    const written = trimmed.slice(0, eq).trim();
    // Ping's ArgumentParser: `tool.option=value` is for that tool only; other tools' lines are skipped.
    const dot = written.lastIndexOf('.');
    if (dot >= 0 && written.slice(0, dot) !== TOOL_NAME) return;
    const name = looseName(written.slice(dot + 1));
    const value = trimmed.slice(eq + 1).trim();
    const spec = OPTION_TABLE.find((s) => looseName(s.long) === name);
    if (spec === undefined || spec.long === 'propertiesFilePath')
      throw usage(`${path} line ${index + 1}: unknown option '${trimmed.slice(0, eq).trim()}'`);
    if (spec.secret === true && !privateFile) {
      throw usage(
        `${path} gives ${spec.long} in clear but other users can read the file`,
        `chmod 600 ${path}, or use a password file`,
      );
    }
    const key = optionKey(spec);
    // An explicit option wins over the file, and so does an explicit option the file value would conflict with.
    if (
      explicit.has(key) ||
      CONFLICTS.some(([a, b]) => (a === key && explicit.has(b)) || (b === key && explicit.has(a)))
    )
      return;
    origin.set(key, ` (in ${path} line ${index + 1})`);
    if (spec.repeatable === true) {
      const fromFile = repeated.get(key) ?? [];
      fromFile.push(value);
      repeated.set(key, fromFile);
      merged[key] = fromFile;
    } else if (spec.value === undefined) {
      if (!/^(true|false)$/i.test(value)) throw usage(`${path} line ${index + 1}: ${spec.long} takes true or false`);
      // `noPrompt=true` is stored as commander stores --no-prompt: prompt = false.
      const negated = /^no[A-Z]/.test(spec.long);
      merged[key] = /^true$/i.test(value) !== negated;
    } else {
      merged[key] = value;
    }
  });
  return { options: merged, origin };
}
