/**
 * Reading what the user names as input: password files, the trust store, the properties file, and `-`
 * (stdin) for one password. Only regular files are read, and never more than a cap: /dev/zero, a FIFO with
 * no writer, a folder, a socket or a device is refused at once instead of hanging the run or filling memory.
 * The file is opened non-blocking (so opening a FIFO cannot wait for a writer) and checked with fstat on the
 * open descriptor, so what is checked is what is read.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** A password file's first line is the password: far less than this. */
export const PASSWORD_FILE_MAX_BYTES = 64 * 1024;
/** The system CA bundle is about 200 KiB; a trust store of a few thousand certificates still fits. */
export const TRUST_STORE_MAX_BYTES = 16 * 1024 * 1024;
export const PROPERTIES_FILE_MAX_BYTES = 1024 * 1024;

export type InputProblem = 'missing' | 'unreadable' | 'not-a-file' | 'too-large';

export class InputFileError extends Error {
  public override readonly name = 'InputFileError';
  public constructor(
    public readonly problem: InputProblem,
    message: string,
  ) {
    super(message);
  }
}

export interface RegularFile {
  readonly bytes: Buffer;
  /** fstat of the descriptor that was read (permission bits for the "readable by others" warning). */
  readonly mode: number;
}

/** What a non-regular file is, in words. */
function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}

/**
 * The bytes of a regular file of at most `maxBytes`. Throws InputFileError whose message completes
 * "Cannot read --option 'path': ...".
 */
export function readRegularFile(path: string, maxBytes: number): RegularFile {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new InputFileError('missing', 'it does not exist');
    // A UNIX socket cannot be opened at all (ENXIO); a FIFO opened for reading never fails this way.
    if (code === 'ENXIO' || code === 'ENODEV')
      throw new InputFileError('not-a-file', 'it is not a regular file (a socket or a device)');
    throw new InputFileError('unreadable', `it cannot be read${code === undefined ? '' : ` (${code})`}`);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new InputFileError('not-a-file', `it is ${kindOf(stats)}, not a regular file`);
    if (stats.size > maxBytes) throw new InputFileError('too-large', `it is larger than ${formatBytes(maxBytes)}`);
    // Chunk by chunk up to one byte past the cap: a file that grows while it is read (or a /proc file whose
    // size says 0) is bounded all the same.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - length));
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
      length += read;
      if (length > maxBytes) throw new InputFileError('too-large', `it is larger than ${formatBytes(maxBytes)}`);
    }
    return { bytes: Buffer.concat(chunks, length), mode: stats.mode };
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputFileError('unreadable', `it cannot be read${code === undefined ? '' : ` (${code})`}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * One line from a stream (stdin for `-`): the bytes up to the first line feed, or to the end of the stream.
 * Stops reading at the line feed, refuses more than `maxBytes` without one (stdin from /dev/zero), and
 * rejects with `onAbort()`'s error when `signal` is aborted (Ctrl-C while waiting for a pipe).
 */
export function readLine(
  stream: NodeJS.ReadableStream & { isTTY?: boolean; destroy?: () => void },
  maxBytes: number,
  signal: AbortSignal,
  onAbort: () => Error,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = (outcome: () => void): void => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      signal.removeEventListener('abort', onAbortEvent);
      stream.pause();
      // A terminal stays usable for prompts; a pipe or file is not read again.
      if (stream.isTTY !== true) stream.destroy?.();
      outcome();
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      const newline = bytes.indexOf(0x0a);
      const part = newline === -1 ? bytes : bytes.subarray(0, newline + 1);
      chunks.push(part);
      length += part.length;
      const lineLength = newline === -1 ? length : length - 1;
      if (lineLength > maxBytes) {
        finish(() =>
          reject(new InputFileError('too-large', `it sent more than ${formatBytes(maxBytes)} without a line break`)),
        );
      } else if (newline !== -1) {
        finish(() => resolve(Buffer.concat(chunks)));
      }
    };
    const onEnd = (): void => finish(() => resolve(Buffer.concat(chunks)));
    const onError = (error: Error): void => {
      const code = (error as NodeJS.ErrnoException).code;
      finish(() =>
        reject(new InputFileError('unreadable', `it cannot be read${code === undefined ? '' : ` (${code})`}`)),
      );
    };
    const onAbortEvent = (): void => finish(() => reject(onAbort()));
    if (signal.aborted) {
      reject(onAbort());
      return;
    }
    signal.addEventListener('abort', onAbortEvent, { once: true });
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}
