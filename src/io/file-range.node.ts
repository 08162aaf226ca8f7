// Positioned reads of byte ranges of a file, shared by the safetensors and PyTorch zip readers:
// opening a file for reading (one clear error when it cannot be opened, the descriptor closed again
// if setting up the reader fails) and reading a range fully in bounded chunks, a short read being a
// FormatError. No whole-file buffers, no mmap; writing stays with its caller.

import * as fs from 'node:fs';
import { FormatError } from '../util/errors.js';

/** Largest byte count passed to one readSync/writeSync call. */
export const IO_CHUNK_BYTES = 1 << 30;

/**
 * Opens file for reading and runs init(fd, size). The descriptor stays open for what init returns;
 * if init throws, it is closed and the error propagates.
 */
export function openForRead<T>(file: string, init: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new FormatError(`${file}: cannot open (${(e as Error).message})`);
  }
  try {
    return init(fd, fs.fstatSync(fd).size);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Positioned reads into dest in chunks of at most `chunk` bytes (no whole-file buffers); a short read is a FormatError. */
export function readFully(fd: number, dest: Uint8Array, position: number, file: string, what: string, chunk = IO_CHUNK_BYTES): void {
  let done = 0;
  while (done < dest.byteLength) {
    const want = Math.min(chunk, dest.byteLength - done);
    const n = fs.readSync(fd, dest, done, want, position + done);
    if (n <= 0) {
      throw new FormatError(
        `${file}: ${what}: short read at byte ${position + done} (got ${done} of ${dest.byteLength} bytes; file truncated?)`,
      );
    }
    done += n;
  }
}
