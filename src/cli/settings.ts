/**
 * From parsed options (plus the properties file, password files and environment) to validated Settings.
 * Everything is checked here, before any connection: a problem is a PrepareError with code 89 and a hint.
 */
import { readFileSync, statSync } from 'node:fs';
import { DurationSyntaxError, parseDuration } from '../servers/duration.js';
import { Secret, type Settings } from '../core/settings.js';
import type { Trust } from '../ldap/directory.js';
import { DnSyntaxError, normalizeDn, parseDn } from '../ldap/dn.js';
import { PrepareError, ResultCode } from '../ldap/errors.js';
import type { ServerTypeName } from '../servers/detect.js';
import { looseName, OPTION_TABLE, optionKey, type RawOptions } from './options.js';
import { readTrustStore, TrustStoreError, type TrustStoreContent } from './truststore.js';

export interface ResolvedSettings {
  readonly settings: Settings;
  /** Said before the run starts (passwords on the command line, loose file permissions, --trustAll). */
  readonly warnings: readonly string[];
  readonly canPrompt: boolean;
  readonly logFile: string | undefined;
  readonly color: boolean;
  /** One JSON object on stdout; human output on stderr. */
  readonly json: boolean;
}

export interface Environment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdinIsTTY: boolean;
  /** Reads all of stdin; for `-` as a password file. */
  readStdin(): string;
}

function usage(message: string, hint?: string): PrepareError {
  return new PrepareError(ResultCode.PARAM_ERROR, message, hint ?? 'see prepare-endpoint-server --help');
}

export function resolveSettings(parsed: RawOptions, explicit: ReadonlySet<string>, environment: Environment): ResolvedSettings {
  const warnings: string[] = [];
  const options = withPropertiesFile(parsed, explicit);
  const str = (key: string): string | undefined => (typeof options[key] === 'string' ? (options[key] as string) : undefined);
  const flag = (key: string): boolean => options[key] === true || options[key] === 'true';

  for (const [a, b] of CONFLICTS) conflict(options, a, b);

  const security = flag('useSSL') ? 'ssl' : flag('useStartTLS') ? 'starttls' : 'none';
  const port = parsePort(str('port'), security === 'ssl' ? 636 : 389);
  const host = str('hostname') ?? 'localhost';
  if (host.trim() === '' || /\s/.test(host)) throw usage(`Invalid --hostname '${host}'`);

  const bindDn = optionalDn(str('bindDN'), '--bindDN');
  const syncUserDn = optionalDn(str('syncServerBindDN'), '--syncServerBindDN');
  const baseValues = options['baseDN'];
  const baseDns = (Array.isArray(baseValues) ? baseValues : typeof baseValues === 'string' ? [baseValues] : []).map(String);
  const remove = flag('remove');
  if (baseDns.length === 0) throw usage('No --baseDN given', 'name the base DN to synchronize with --baseDN (repeat it for several)');
  const seen = new Set<string>();
  for (const base of baseDns) {
    const key = requireDn(base, '--baseDN');
    if (key === '') throw usage('--baseDN may not be the root DSE (empty DN)');
    if (seen.has(key)) throw usage(`--baseDN '${base}' is given twice`);
    seen.add(key);
  }

  const roles = { source: flag('isSource'), destination: flag('isDestination') };
  if (!roles.source && !roles.destination && !remove) {
    throw usage('Neither --isSource nor --isDestination was given', 'say which role(s) the server plays: --isSource, --isDestination, or both');
  }
  if (flag('disableChangelog') && !remove) throw usage('--disableChangelog only goes with --remove');

  const deletedValues = options['changelogDeletedEntryAttribute'];
  const changelogDeletedEntryAttributes = (Array.isArray(deletedValues) ? deletedValues : typeof deletedValues === 'string' ? [deletedValues] : []).map(String);
  for (const name of changelogDeletedEntryAttributes) {
    // An attribute type name (RFC 4512 descr) or OID: anything else would land in server configuration as is.
    if (!/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)$/.test(name)) {
      // JSON quoting: a value with a line break or control character still makes one line.
      throw usage(`Invalid --changelogDeletedEntryAttribute ${JSON.stringify(name)}: give an attribute name such as employeeNumber`);
    }
  }

  const maxAgeText = str('changelogMaximumAge');
  const changelogMaxAgeSeconds = maxAgeText === undefined ? undefined : duration(maxAgeText, '--changelogMaximumAge');
  const connectTimeoutMs = duration(str('connectTimeout') ?? '10s', '--connectTimeout') * 1000;
  const operationTimeoutMs = duration(str('operationTimeout') ?? '30s', '--operationTimeout') * 1000;

  const bindPassword = password(options, 'bindPassword', 'bindPasswordFile', 'PES_BIND_PASSWORD', environment, warnings);
  const syncPassword = password(options, 'syncServerBindPassword', 'syncServerBindPasswordFile', 'PES_SYNC_PASSWORD', environment, warnings);
  const trust = resolveTrust(options, warnings, environment);
  if (flag('trustAll') && security === 'none') warnings.push('--trustAll has no effect without --useSSL or --useStartTLS');

  const canPrompt = options['prompt'] !== false && environment.stdinIsTTY;
  if (!canPrompt) {
    const missing = [
      ...(bindDn === undefined ? ['--bindDN'] : []),
      ...(bindPassword === undefined ? ['--bindPasswordFile (or PES_BIND_PASSWORD)'] : []),
      ...(syncPassword === undefined && !remove ? ['--syncServerBindPasswordFile (or PES_SYNC_PASSWORD)'] : []),
    ];
    if (missing.length > 0) {
      const why = options['prompt'] === false ? '--no-prompt is set' : 'stdin is not a terminal';
      throw usage(`Missing ${missing.join(', ')}; cannot prompt because ${why}`, `pass ${missing.join(' and ')}`);
    }
  }

  const serverType = (str('serverType') ?? 'auto') as ServerTypeName;
  const env = environment.env;
  const color = options['color'] !== false && (env['NO_COLOR'] ?? '') === '';

  return {
    settings: {
      host,
      port,
      security,
      trust,
      connectTimeoutMs,
      operationTimeoutMs,
      bindDn,
      bindPassword,
      syncUserDn,
      syncPassword,
      baseDns,
      roles,
      changelogMaxAgeSeconds,
      serverType,
      resetSyncPassword: flag('resetSyncServerBindPassword'),
      inheritDefaultRootPrivileges: flag('inheritDefaultRootPrivileges'),
      accesslogDirectory: str('accesslogDirectory'),
      ...(changelogDeletedEntryAttributes.length > 0 ? { changelogDeletedEntryAttributes } : {}),
      adAdministratorsGroup: flag('adAdministratorsGroup'),
      remove,
      disableChangelog: flag('disableChangelog'),
      dryRun: flag('dryRun'),
    },
    warnings,
    canPrompt,
    logFile: str('logFile'),
    color,
    json: flag('json'),
  };
}

/**
 * Whether the run asked for --json, on the command line or in its properties file: a usage error found later
 * must still answer in JSON. Never throws: a broken properties file is reported by resolveSettings.
 */
export function wantsJson(parsed: RawOptions, explicit: ReadonlySet<string>): boolean {
  try {
    const value = withPropertiesFile(parsed, explicit)['json'];
    return value === true || value === 'true';
  } catch {
    return parsed['json'] === true;
  }
}

/** Pairs of options that cannot be used together. */
const CONFLICTS: readonly (readonly [string, string])[] = [
  ['useSSL', 'useStartTLS'],
  ['bindPassword', 'bindPasswordFile'],
  ['syncServerBindPassword', 'syncServerBindPasswordFile'],
  ['trustAll', 'trustStorePath'],
  ['trustStorePassword', 'trustStorePasswordFile'],
];

function conflict(options: RawOptions, a: string, b: string): void {
  if (options[a] !== undefined && options[a] !== false && options[b] !== undefined && options[b] !== false) {
    throw usage(`--${a} and --${b} cannot be used together`);
  }
}

function parsePort(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,5}$/.test(text.trim())) throw usage(`Invalid --port '${text}': use a number from 1 to 65535`);
  const port = Number(text.trim());
  if (port < 1 || port > 65535) throw usage(`Invalid --port '${text}': use a number from 1 to 65535`);
  return port;
}

function requireDn(text: string, option: string): string {
  try {
    parseDn(text);
    return normalizeDn(text);
  } catch (error) {
    if (error instanceof DnSyntaxError) throw usage(`Invalid DN for ${option} '${text}': ${error.message}`, 'write DNs as in RFC 4514, such as cn=Sync User,dc=example,dc=com (escape a comma in a value as \\,)');
    throw error;
  }
}

function optionalDn(text: string | undefined, option: string): string | undefined {
  if (text === undefined) return undefined;
  if (requireDn(text, option) === '') throw usage(`${option} may not be empty`);
  return text;
}

function duration(text: string, option: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    if (error instanceof DurationSyntaxError) throw usage(`Invalid ${option}: ${error.message}`);
    throw error;
  }
}

/** File (or `-` for stdin) first, then environment, then the option itself (accepted, with a warning). */
function password(
  options: RawOptions,
  valueKey: string,
  fileKey: string,
  envName: string,
  environment: Environment,
  warnings: string[],
): Secret | undefined {
  const file = options[fileKey];
  if (typeof file === 'string') return new Secret(readPasswordFile(file, `--${fileKey}`, environment, warnings));
  const fromEnv = environment.env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return new Secret(fromEnv);
  const value = options[valueKey];
  if (typeof value === 'string') {
    if (value === '') throw usage(`--${valueKey} is empty`);
    warnings.push(`--${valueKey} on the command line is visible to other local users; prefer --${fileKey} or ${envName}`);
    return new Secret(value);
  }
  return undefined;
}

export function readPasswordFile(path: string, option: string, environment: Environment, warnings: string[]): string {
  let text: string;
  try {
    text = path === '-' ? environment.readStdin() : readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : 'it cannot be read';
    throw usage(`Cannot read ${option} '${path}': ${reason}`, 'check the path and its permissions');
  }
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  if (firstLine === '') throw usage(`${option} '${path}' is empty: its first line must be the password`);
  if (path !== '-') {
    try {
      if ((statSync(path).mode & 0o077) !== 0) {
        warnings.push(`${option} '${path}' can be read by other users: chmod 600 it`);
      }
    } catch {
      // Read above succeeded; a failed stat only loses the permission warning.
    }
  }
  return firstLine;
}

/**
 * --trustAll, or the certificates of --trustStorePath (PEM bundle, DER certificate or PKCS#12 with
 * --trustStorePassword/--trustStorePasswordFile), or the system CAs. Problems are usage errors (89).
 * `environment` serves `-` (stdin) as the password file; without it stdin is read directly.
 */
function resolveTrust(options: RawOptions, warnings: string[], environment?: Environment): Trust {
  if (options['trustAll'] === true) {
    warnings.push('--trustAll accepts any server certificate: the connection can be intercepted. Use --trustStorePath in production');
    return { kind: 'all' };
  }
  const path = options['trustStorePath'];
  if (typeof path !== 'string') return { kind: 'system' };
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch {
    throw usage(`Cannot read --trustStorePath '${path}'`, 'check the path and its permissions');
  }
  let store: TrustStoreContent;
  try {
    store = readTrustStore(content, trustStorePassword(options, warnings, environment));
  } catch (error) {
    if (!(error instanceof TrustStoreError)) throw error;
    throw trustStoreUsage(error, path);
  }
  return { kind: 'certificates', ca: store.certificates.map((c) => Buffer.from(c)), source: path };
}

/** The PKCS#12 password: file (first line) first, then the option (accepted, with a warning). */
function trustStorePassword(options: RawOptions, warnings: string[], environment: Environment | undefined): string | undefined {
  const file = options['trustStorePasswordFile'];
  if (typeof file === 'string') {
    const env: Environment = environment ?? {
      env: process.env,
      stdinIsTTY: process.stdin.isTTY === true,
      readStdin: () => readFileSync(0, 'utf8'),
    };
    return readPasswordFile(file, '--trustStorePasswordFile', env, warnings);
  }
  const value = options['trustStorePassword'];
  if (typeof value === 'string') {
    warnings.push('--trustStorePassword on the command line is visible to other local users; prefer --trustStorePasswordFile');
    return value;
  }
  return undefined;
}

function trustStoreUsage(error: TrustStoreError, path: string): PrepareError {
  switch (error.problem) {
    case 'jks':
      return usage(`--trustStorePath '${path}' is a Java KeyStore (JKS), which is not supported`,
        `convert it: keytool -exportcert -rfc -keystore ${path} -alias <alias> -file ca.pem, then pass ca.pem ` +
          `(or all of it: keytool -importkeystore -srckeystore ${path} -destkeystore truststore.p12 -deststoretype PKCS12)`);
    case 'password-needed':
      return usage(`--trustStorePath '${path}' is a PKCS#12 file protected by a password`,
        'give its password with --trustStorePasswordFile (or --trustStorePassword)');
    case 'password-wrong':
      return usage(`The password for --trustStorePath '${path}' is wrong: ${error.message}`,
        'check --trustStorePasswordFile (its first line is the password) or --trustStorePassword');
    case 'unrecognized':
      return usage(`--trustStorePath '${path}' holds no PEM certificate and is not a PKCS#12 file${error.message.startsWith('it is a damaged') ? ` (${error.message})` : ''}`,
        'give a PEM bundle of CA certificates or a PKCS#12 trust store');
    case 'no-certificate':
      return usage(`--trustStorePath '${path}' holds no certificate`, 'put the CA certificate that issued the server certificate in it');
    case 'unsupported':
      return usage(`--trustStorePath '${path}' cannot be read: ${error.message}`,
        `convert it to PEM: openssl pkcs12 -in ${path} -nokeys -out ca.pem, then pass ca.pem`);
  }
}

/** `name=value` lines; `#` comments. Explicit command-line options win; secrets only from a private file. */
function withPropertiesFile(parsed: RawOptions, explicit: ReadonlySet<string>): RawOptions {
  const path = parsed['propertiesFilePath'];
  if (typeof path !== 'string') return parsed;
  let text: string;
  let privateFile = false;
  try {
    text = readFileSync(path, 'utf8');
    privateFile = (statSync(path).mode & 0o077) === 0;
  } catch {
    throw usage(`Cannot read --propertiesFilePath '${path}'`, 'check the path and its permissions');
  }
  const merged: RawOptions = { ...parsed };
  const repeated = new Map<string, string[]>();
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw usage(`${path} line ${index + 1}: expected name=value`);
    const name = looseName(trimmed.slice(0, eq).trim());
    const value = trimmed.slice(eq + 1).trim();
    const spec = OPTION_TABLE.find((s) => looseName(s.long) === name);
    if (spec === undefined || spec.long === 'propertiesFilePath') throw usage(`${path} line ${index + 1}: unknown option '${trimmed.slice(0, eq).trim()}'`);
    if (spec.secret === true && !privateFile) {
      throw usage(`${path} gives ${spec.long} in clear but other users can read the file`, `chmod 600 ${path}, or use a password file`);
    }
    const key = optionKey(spec);
    // An explicit option wins over the file, and so does an explicit option the file value would conflict with.
    if (explicit.has(key) || CONFLICTS.some(([a, b]) => (a === key && explicit.has(b)) || (b === key && explicit.has(a)))) return;
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
  return merged;
}
