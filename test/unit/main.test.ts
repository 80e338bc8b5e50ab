// The CLI boundary in process, with a fake ProcessIo: a failing stdout or stderr is a warning, never a crash;
// an error nobody foresaw while reading the options is one line and 89; a signal while waiting on stdin is
// 130/143; the exit status always fits a byte. Also every LDAP result code's message (src/ldap).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { ResultCodeError } from 'ldapts';
import { exitStatus, main, type ProcessIo } from '../../src/cli/main.js';
import { guardedOutput } from '../../src/cli/output.js';
import { translateError } from '../../src/ldap/translate-error.js';
import { RESULT_CODE_MEANINGS } from '../../src/ldap/result-meanings.js';
import { repoRoot } from '../helpers/cli.js';

/** ldapts' ResultCodeError, as the server's answer with `code` makes it. */
class ServerError extends ResultCodeError {
  public constructor(code: number, message: string) {
    super(code, message);
  }
}

/** Stream errors are emitted on a later tick, as a real EPIPE is. */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const dir = mkdtempSync(join(tmpdir(), 'pes-main-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stream that keeps what it is given, or fails every write with `code`. */
function sink(code?: string): Writable & { text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (code !== undefined) {
        callback(Object.assign(new Error(`write ${code}`), { code }));
        return;
      }
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  return Object.assign(stream, { text: () => Buffer.concat(chunks).toString('utf8') });
}

function fakeIo(
  opts: { env?: Record<string, string | undefined>; stdout?: Writable; stderr?: Writable; stdin?: PassThrough } = {},
): ProcessIo & { interrupt: (signal: 'SIGINT' | 'SIGTERM') => void } {
  let handler: ((signal: 'SIGINT' | 'SIGTERM') => void) | undefined;
  return {
    env: opts.env ?? {},
    stdin: (opts.stdin ?? new PassThrough()) as unknown as NodeJS.ReadStream,
    stdout: opts.stdout ?? sink(),
    stderr: opts.stderr ?? sink(),
    onInterrupt(next) {
      handler = next;
      return () => {
        handler = undefined;
      };
    },
    interrupt: (signal) => handler?.(signal),
  };
}

const USAGE = [
  '-h',
  '127.0.0.1',
  '-p',
  '1',
  '-D',
  'cn=x',
  '-b',
  'dc=x',
  '--isDestination',
  '--no-prompt',
  '--logFile',
  join(dir, 'run.log'),
];

describe('main: output errors', () => {
  test('--version into a stdout that fails (EPIPE): exit 0, one warning on stderr, no throw', async () => {
    const stderr = sink();
    const code = await main(['--version'], fakeIo({ stdout: sink('EPIPE'), stderr }));
    assert.equal(code, 0);
    await settled();
    assert.equal(
      stderr.text(),
      'Warning: cannot write to stdout (EPIPE): the rest of its output is dropped; the run goes on\n',
    );
  });

  test('a usage error with stderr failing: exit 89, the warning on stdout; with both failing, still 89', async () => {
    const stdout = sink();
    assert.equal(await main([...USAGE, '-p', '0'], fakeIo({ stdout, stderr: sink('EIO') })), 89);
    await settled();
    assert.match(stdout.text(), /^Warning: cannot write to stderr \(EIO\)/);
    assert.equal(await main([...USAGE, '-p', '0'], fakeIo({ stdout: sink('EPIPE'), stderr: sink('EPIPE') })), 89);
  });

  test('with --json a failing stderr is not reported on stdout, which carries the JSON alone', async () => {
    const stdout = sink();
    assert.equal(await main([...USAGE, '-p', '0', '--json'], fakeIo({ stdout, stderr: sink('EPIPE') })), 89);
    assert.equal((JSON.parse(stdout.text()) as { exitCode: number }).exitCode, 89);
  });

  test('guardedOutput: an error event marks the stream broken once; later writes are dropped', () => {
    const stdout = new PassThrough();
    const stderr = sink();
    const output = guardedOutput(stdout, stderr);
    const told: string[] = [];
    output.onProblem((message) => told.push(message));
    stdout.emit('error', Object.assign(new Error('x'), { code: 'EPIPE' }));
    stdout.emit('error', Object.assign(new Error('x'), { code: 'EPIPE' }));
    output.out('dropped');
    assert.equal(output.broken('stdout'), true);
    assert.equal(told.length, 1);
    assert.equal(stderr.text().split('\n').filter(Boolean).length, 1);
  });
});

describe('main: --version', () => {
  const packageVersion = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
    .version;

  test('prints the version package.json gives, alone (without commander) and among other options (commander)', async () => {
    for (const args of [['--version'], ['-V'], ['-V', '--no-color']]) {
      const stdout = sink();
      assert.equal(await main(args, fakeIo({ stdout })), 0, args.join(' '));
      assert.equal(stdout.text(), `${packageVersion}\n`, args.join(' '));
    }
  });
});

describe('main: failures nobody foresaw while reading the options', () => {
  test('an exception that is not a PrepareError is one line and exit 89, never a stack', async () => {
    const stderr = sink();
    const env = new Proxy(
      {},
      {
        get: (_target, name) => {
          if (name === 'PES_BIND_PASSWORD') throw new TypeError('environment unreadable');
          return undefined;
        },
      },
    );
    const code = await main(USAGE, fakeIo({ env, stderr }));
    assert.equal(code, 89);
    const lines = stderr.text().split('\n').filter(Boolean);
    assert.equal(lines.length, 1, stderr.text());
    assert.match(lines[0]!, /^Error: Cannot use the options given: environment unreadable: check the options/);
  });

  test('exit statuses fit a byte: vendor result codes above 255 become 80', () => {
    assert.equal(exitStatus(49), 49);
    assert.equal(exitStatus(143), 143);
    assert.equal(exitStatus(16654), 80);
    assert.equal(exitStatus(256), 80);
    assert.equal(exitStatus(-1), 80);
  });
});

describe('main: signals', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`${signal} while a password is awaited on stdin: ${code}, one line`, async () => {
      const stdin = new PassThrough();
      const stderr = sink();
      const io = fakeIo({ stdin, stderr });
      const running = main([...USAGE, '-j', '-'], io);
      setTimeout(() => io.interrupt(signal), 50);
      assert.equal(await running, code);
      assert.match(
        stderr.text(),
        signal === 'SIGTERM'
          ? /^Error: Terminated \(SIGTERM\) while reading a password from stdin/
          : /^Error: Interrupted while reading a password from stdin/,
      );
    });
  }

  test('one line from stdin is the password; reading stops at the line feed', async () => {
    const stdin = new PassThrough();
    stdin.write('first\nsecond\n');
    const stderr = sink();
    // Port 1: nothing listens, so the run fails at the connection (91), after the password was read.
    assert.equal(await main([...USAGE, '-j', '-', '--syncServerBindPassword', 'x'], fakeIo({ stdin, stderr })), 91);
  });
});

describe('translateError: every result code is a sentence with a hint', () => {
  const context = { operation: 'delete', dn: 'ou=Team,dc=example,dc=com', boundDn: 'cn=admin', address: 'ds:389' };

  test('no code gives a bare "LDAP error N"; each names itself and says what to do', () => {
    for (const [code, meaning] of Object.entries(RESULT_CODE_MEANINGS)) {
      const error = translateError(new ServerError(Number(code), 'server text'), context);
      assert.equal(error.resultCode, Number(code));
      assert.doesNotMatch(error.message, /LDAP error/);
      assert.match(
        error.message,
        new RegExp(
          `^The server refused the delete of 'ou=Team,dc=example,dc=com': .*\\(${meaning.name}, LDAP result ${code}; server said: server text\\)$`,
        ),
      );
      assert.ok((error.hint ?? '').length > 10, `a hint for ${code}`);
    }
  });

  test('66 says the entry has entries below it and that the tool never deletes a subtree', () => {
    const error = translateError(new ServerError(66, 'subordinate objects must be deleted first'), context);
    assert.match(error.message, /it has entries below it/);
    assert.match(error.hint ?? '', /never deletes a subtree/);
  });

  test("a code that is no LDAP result, or that reads as one of the tool's own exits, exits 80 and names the code", () => {
    for (const code of [16654, 85, 89, 91, 130, 143, 9, 255]) {
      const error = translateError(new ServerError(code, ''), context);
      assert.equal(error.resultCode, 80, `server code ${code}`);
      assert.match(
        error.message,
        new RegExp(`^The server answered the delete of .* with result code ${code}, which is no LDAP result code`),
      );
      assert.match(error.hint ?? '', /error log/);
    }
  });

  test('19 on a write that sets a password is the password policy', () => {
    const error = translateError(
      new ServerError(19, 'invalid password syntax - password must be at least 20 characters long'),
      { ...context, operation: 'add', attributes: ['objectClass', 'userPassword'] },
    );
    assert.match(error.message, /refused the password of .*password policy.*at least 20 characters/);
  });

  test('Active Directory bind sub-codes: expired, locked, must change', () => {
    const bind = { ...context, operation: 'bind', dn: 'CN=Sync User,CN=Users,DC=example,DC=com' };
    assert.match(
      translateError(
        new ServerError(49, '80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563'),
        bind,
      ).message,
      /locked/,
    );
    assert.match(
      translateError(
        new ServerError(49, '80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 773, v4563'),
        bind,
      ).message,
      /must be changed/,
    );
    assert.match(translateError(new ServerError(49, 'Invalid credentials'), bind).message, /rejected the password/);
    // 389 DS answers the bind of a locked account with 19, OpenLDAP's ppolicy with 49 and the control's error.
    const locked = translateError(new ServerError(19, 'Exceed password retry limit. Please try later.'), bind);
    assert.match(locked.message, /the account is locked/);
    assert.deepEqual(locked.accountState, { locked: true });
    assert.match(
      translateError(new ServerError(49, 'Invalid credentials'), { ...bind, accountState: { expired: true } }).message,
      /the password has expired/,
    );
    // Not a bind: 19 keeps its usual meaning.
    assert.doesNotMatch(translateError(new ServerError(19, 'x'), context).message, /locked/);
  });
});
