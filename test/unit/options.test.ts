import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { OPTION_TABLE, normalizeArgv, parseCommandLine, type ParseResult } from '../../src/cli/options.js';
import { PrepareError } from '../../src/model/errors.js';

// dist/test/unit/x.test.js -> ../../../package.json
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

function capture(): { out: string[]; err: string[]; write: { out: (s: string) => void; err: (s: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, write: { out: (s) => void out.push(s), err: (s) => void err.push(s) } };
}

function run(args: readonly string[]): { options: Record<string, unknown>; explicit: ReadonlySet<string> } {
  const io = capture();
  const result: ParseResult = parseCommandLine(args, PACKAGE_VERSION, io.write);
  assert.equal(result.kind, 'run');
  if (result.kind !== 'run') throw new Error('unreachable');
  return { options: result.options, explicit: result.explicit };
}

function usageError(args: readonly string[]): PrepareError {
  const io = capture();
  try {
    parseCommandLine(args, PACKAGE_VERSION, io.write);
  } catch (error) {
    assert.ok(error instanceof PrepareError, `expected a PrepareError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(args)} to be rejected`);
}

/** How the help text spells a long option (commander's negation for noPrompt/noColor). */
function helpFlag(long: string): string {
  return /^no[A-Z]/.test(long) ? `--no-${long.charAt(2).toLowerCase()}${long.slice(3)}` : `--${long}`;
}

describe('normalizeArgv', () => {
  test('kebab-case long options become camelCase', () => {
    assert.deepEqual(normalizeArgv(['--bind-dn', 'x']), ['--bindDN', 'x']);
    assert.deepEqual(normalizeArgv(['--sync-server-bind-password-file', 'f']), ['--syncServerBindPasswordFile', 'f']);
    assert.deepEqual(normalizeArgv(['--use-ssl', '--is-source']), ['--useSSL', '--isSource']);
    assert.deepEqual(normalizeArgv(['--changelog-maximum-age', '2d']), ['--changelogMaximumAge', '2d']);
  });

  test('any letter case is accepted', () => {
    assert.deepEqual(normalizeArgv(['--BINDDN', 'x']), ['--bindDN', 'x']);
    assert.deepEqual(normalizeArgv(['--binddn', 'x']), ['--bindDN', 'x']);
    assert.deepEqual(normalizeArgv(['--BaseDn', 'dc=a']), ['--baseDN', 'dc=a']);
    assert.deepEqual(normalizeArgv(['--HELP']), ['--help']);
    assert.deepEqual(normalizeArgv(['--Version']), ['--version']);
  });

  test('--name=value form keeps the value, including further = signs', () => {
    assert.deepEqual(normalizeArgv(['--bind-dn=x']), ['--bindDN=x']);
    assert.deepEqual(normalizeArgv(['--BINDDN=cn=Directory Manager']), ['--bindDN=cn=Directory Manager']);
    // An inline value means the next argument is not a value.
    assert.deepEqual(normalizeArgv(['--bind-dn=x', '--is-source']), ['--bindDN=x', '--isSource']);
  });

  test('values that look like options are left alone', () => {
    assert.deepEqual(normalizeArgv(['-w', '--bind-dn']), ['-w', '--bind-dn']);
    assert.deepEqual(normalizeArgv(['--bind-password', '--is-source', '--is-source']), [
      '--bindPassword',
      '--is-source',
      '--isSource',
    ]);
    assert.deepEqual(normalizeArgv(['-D', '--BASEDN', '--base-dn', 'dc=a']), ['-D', '--BASEDN', '--baseDN', 'dc=a']);
  });

  test('flags do not swallow the next argument', () => {
    assert.deepEqual(normalizeArgv(['-Z', '--bind-dn', 'x']), ['-Z', '--bindDN', 'x']);
    assert.deepEqual(normalizeArgv(['--use-ssl', '--bind-dn', 'x']), ['--useSSL', '--bindDN', 'x']);
  });

  test('--no-prompt and --noprompt (and --NO-COLOR) become commander negations', () => {
    assert.deepEqual(normalizeArgv(['--no-prompt']), ['--no-prompt']);
    assert.deepEqual(normalizeArgv(['--noprompt']), ['--no-prompt']);
    assert.deepEqual(normalizeArgv(['--noPrompt']), ['--no-prompt']);
    assert.deepEqual(normalizeArgv(['--NO-COLOR']), ['--no-color']);
  });

  test('-- ends option processing: everything after it is untouched', () => {
    assert.deepEqual(normalizeArgv(['--bind-dn', 'x', '--', '--base-dn', '-w']), [
      '--bindDN',
      'x',
      '--',
      '--base-dn',
      '-w',
    ]);
  });

  test('unknown long options pass through unchanged for commander to reject', () => {
    assert.deepEqual(normalizeArgv(['--frobnicate', 'x']), ['--frobnicate', 'x']);
  });
});

describe('parseCommandLine', () => {
  test('repeatable --baseDN collects its values in order, across spellings', () => {
    const { options, explicit } = run(['--baseDN', 'dc=a', '-b', 'dc=b', '--base-dn=dc=c', '--BASEDN', 'dc=d']);
    assert.deepEqual(options['baseDN'], ['dc=a', 'dc=b', 'dc=c', 'dc=d']);
    assert.equal(explicit.has('baseDN'), true);
  });

  test('short forms map to their long options', () => {
    const { options, explicit } = run([
      '-h',
      'ds.example.com',
      '-p',
      '1389',
      '-D',
      'cn=Directory Manager',
      '-w',
      'secret',
      '-b',
      'dc=example,dc=com',
      '-Z',
      '-X',
      '-n',
    ]);
    assert.equal(options['hostname'], 'ds.example.com');
    assert.equal(options['port'], '1389');
    assert.equal(options['bindDN'], 'cn=Directory Manager');
    assert.equal(options['bindPassword'], 'secret');
    assert.deepEqual(options['baseDN'], ['dc=example,dc=com']);
    assert.equal(options['useSSL'], true);
    assert.equal(options['trustAll'], true);
    assert.equal(options['prompt'], false);
    for (const key of ['hostname', 'port', 'bindDN', 'bindPassword', 'baseDN', 'useSSL', 'trustAll', 'prompt']) {
      assert.equal(explicit.has(key), true, key);
    }

    const second = run(['-j', 'admin.pw', '-q', '-P', 'ca.pem']).options;
    assert.equal(second['bindPasswordFile'], 'admin.pw');
    assert.equal(second['useStartTLS'], true);
    assert.equal(second['trustStorePath'], 'ca.pem');
  });

  test('-w keeps a password value that looks like an option', () => {
    const { options } = run(['-w', '--bind-dn', '-D', 'cn=admin']);
    assert.equal(options['bindPassword'], '--bind-dn');
    assert.equal(options['bindDN'], 'cn=admin');
  });

  test('--no-prompt stores prompt=false; without it prompt is not false and not explicit', () => {
    assert.equal(run(['--noprompt']).options['prompt'], false);
    const plain = run([]);
    assert.notEqual(plain.options['prompt'], false);
    assert.equal(plain.explicit.has('prompt'), false);
  });

  test('an unknown option is a parameter error (89)', () => {
    const error = usageError(['--frobnicate']);
    assert.equal(error.resultCode, 89);
    assert.match(error.message, /frobnicate/);
    assert.doesNotMatch(error.message, /^error:/);
  });

  test('--serverType with a value outside the choices is a parameter error (89)', () => {
    const error = usageError(['--serverType', 'bogus']);
    assert.equal(error.resultCode, 89);
    assert.match(error.message, /bogus/);
  });

  test('--serverType accepts a listed choice, in kebab spelling too', () => {
    assert.equal(run(['--server-type', '389ds']).options['serverType'], '389ds');
  });

  test('a missing option value is a parameter error (89)', () => {
    assert.equal(usageError(['--bindDN']).resultCode, 89);
  });

  test('an excess positional argument is a parameter error (89)', () => {
    assert.equal(usageError(['stray']).resultCode, 89);
  });

  test('-H prints help to the out callback and exits 0', () => {
    const io = capture();
    const result = parseCommandLine(['-H'], PACKAGE_VERSION, io.write);
    assert.deepEqual(result, { kind: 'exit', code: 0 });
    assert.ok(io.out.join('').includes('Usage: prepare-endpoint-server'));
    assert.equal(io.err.join(''), '');
  });

  test('--help in any case also exits 0', () => {
    const io = capture();
    assert.deepEqual(parseCommandLine(['--HELP'], PACKAGE_VERSION, io.write), { kind: 'exit', code: 0 });
    assert.ok(io.out.join('').length > 0);
  });

  test('-V prints the package version and exits 0', () => {
    const io = capture();
    const result = parseCommandLine(['-V'], PACKAGE_VERSION, io.write);
    assert.deepEqual(result, { kind: 'exit', code: 0 });
    assert.equal(io.out.join(''), `${PACKAGE_VERSION}\n`);
  });

  test('every option of OPTION_TABLE appears in the help text, with its short form', () => {
    const io = capture();
    parseCommandLine(['-H'], PACKAGE_VERSION, io.write);
    const help = io.out.join('');
    // The option lines (before the examples) name exactly the table's options, plus --help and --version.
    const listed = [...help.slice(0, help.indexOf('Examples:')).matchAll(/^ {2}(?:-[A-Za-z], )?(--[A-Za-z-]+)/gm)].map(
      (m) => m[1],
    );
    assert.deepEqual(listed.sort(), [...OPTION_TABLE.map((spec) => helpFlag(spec.long)), '--help', '--version'].sort());
    for (const spec of OPTION_TABLE) {
      const flag = helpFlag(spec.long);
      assert.ok(new RegExp(`${flag.replace(/[-]/g, '\\-')}\\b`).test(help), `help lacks ${flag}`);
      if (spec.short !== undefined) {
        assert.ok(help.includes(`-${spec.short}, ${flag}`), `help lacks -${spec.short}, ${flag}`);
      }
    }
  });

  test('help lists the exit codes', () => {
    const io = capture();
    parseCommandLine(['-H'], PACKAGE_VERSION, io.write);
    const help = io.out.join('');
    const section = help.slice(help.indexOf('Exit codes'));
    assert.notEqual(help.indexOf('Exit codes'), -1);
    const listed = [...section.matchAll(/^\s+(\d+)\s{2}\S/gm)].map((m) => Number(m[1]));
    assert.deepEqual(listed, [0, 32, 48, 49, 50, 53, 85, 89, 91, 130, 143]);
  });
});
