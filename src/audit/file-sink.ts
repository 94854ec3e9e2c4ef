import { mkdir, open, rename, unlink, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

import {
  DEFAULT_AUDIT_FSYNC,
  DEFAULT_AUDIT_MAX_FILE_BYTES,
  DEFAULT_AUDIT_MAX_FILES,
  type FsyncPolicy,
} from "./audit-defaults.js";
import type { AuditRecord } from "./audit-record.js";
import type { AuditSink } from "./audit-sink.js";

export interface FileSinkOptions {
  /** Path of the active file, such as /var/log/prism/audit.jsonl. */
  path: string;
  /** Default "file". */
  name?: string;
  /** Default DEFAULT_AUDIT_MAX_FILE_BYTES. */
  maxFileBytes?: number;
  /** Default DEFAULT_AUDIT_MAX_FILES; at least 1. */
  maxFiles?: number;
  /** Default DEFAULT_AUDIT_FSYNC. */
  fsync?: FsyncPolicy;
}

/** Errors of a file that is not there, which rotation expects for files not yet created. */
function isMissing(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "ENOENT";
}

/**
 * Appends JSON lines to a file and rotates it by size. Before a line that would take the
 * active file past maxFileBytes, the sink renames PATH.(n) to PATH.(n+1) from the oldest
 * down, deletes PATH.(maxFiles+1), renames PATH to PATH.1 and starts a new PATH, so
 * PATH.1 is always the newest rotated file. Rotation never splits a line, and a single
 * line longer than maxFileBytes gets a file of its own.
 *
 * A batch that fails part way is retried whole by the audit log, so after an I/O error
 * the file may hold some lines twice. The file is reopened after every error, and its
 * size is read again from the file system.
 */
export class FileSink implements AuditSink {
  readonly name: string;
  readonly target: string;
  readonly #path: string;
  readonly #maxFileBytes: number;
  readonly #maxFiles: number;
  readonly #fsync: FsyncPolicy;
  #file: FileHandle | undefined;
  #size = 0;
  #closed = false;

  constructor(options: FileSinkOptions) {
    this.#path = options.path;
    this.name = options.name ?? "file";
    this.target = `file://${options.path}`;
    this.#maxFileBytes = options.maxFileBytes ?? DEFAULT_AUDIT_MAX_FILE_BYTES;
    this.#maxFiles = options.maxFiles ?? DEFAULT_AUDIT_MAX_FILES;
    this.#fsync = options.fsync ?? DEFAULT_AUDIT_FSYNC;

    if (!Number.isInteger(this.#maxFileBytes) || this.#maxFileBytes < 1) {
      throw new RangeError(`max_file_bytes must be a whole number of bytes above 0, got ${this.#maxFileBytes}`);
    }
    if (!Number.isInteger(this.#maxFiles) || this.#maxFiles < 1) {
      throw new RangeError(`max_files must be an integer of at least 1, got ${this.#maxFiles}`);
    }
  }

  async write(records: readonly AuditRecord[]): Promise<void> {
    if (this.#closed) {
      throw new Error(`the audit file sink for ${this.#path} is closed`);
    }

    try {
      await this.#append(records);
    } catch (error) {
      await this.#discardHandle();
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    await this.#discardHandle();
  }

  async #append(records: readonly AuditRecord[]): Promise<void> {
    let file = await this.#openFile();
    let pending: Buffer[] = [];
    let pendingBytes = 0;

    for (const record of records) {
      const line = Buffer.from(`${record.json}\n`, "utf8");
      if (this.#size + pendingBytes > 0 && this.#size + pendingBytes + line.length > this.#maxFileBytes) {
        await this.#writeAll(file, pending);
        this.#size += pendingBytes;
        pending = [];
        pendingBytes = 0;
        file = await this.#rotate(file);
      }
      pending.push(line);
      pendingBytes += line.length;
    }

    await this.#writeAll(file, pending);
    this.#size += pendingBytes;
    if (this.#fsync === "batch") {
      await file.datasync();
    }
  }

  async #openFile(): Promise<FileHandle> {
    if (this.#file !== undefined) {
      return this.#file;
    }
    await mkdir(dirname(this.#path), { recursive: true });
    const file = await open(this.#path, "a", 0o640);
    this.#file = file;
    this.#size = (await file.stat()).size;
    return file;
  }

  /** Appends the chunks; appendFile repeats the write until every byte is written. */
  async #writeAll(file: FileHandle, chunks: Buffer[]): Promise<void> {
    if (chunks.length > 0) {
      await file.appendFile(Buffer.concat(chunks));
    }
  }

  async #rotate(file: FileHandle): Promise<FileHandle> {
    if (this.#fsync === "batch") {
      await file.datasync();
    }
    this.#file = undefined;
    await file.close();

    await this.#removeIfPresent(`${this.#path}.${this.#maxFiles}`);
    for (let index = this.#maxFiles - 1; index >= 1; index--) {
      await this.#renameIfPresent(`${this.#path}.${index}`, `${this.#path}.${index + 1}`);
    }
    await rename(this.#path, `${this.#path}.1`);

    const next = await this.#openFile();
    if (this.#fsync === "batch") {
      await this.#syncDirectory();
    }
    return next;
  }

  async #removeIfPresent(path: string): Promise<void> {
    try {
      await unlink(path);
    } catch (error) {
      if (!isMissing(error)) {
        throw error;
      }
    }
  }

  async #renameIfPresent(from: string, to: string): Promise<void> {
    try {
      await rename(from, to);
    } catch (error) {
      if (!isMissing(error)) {
        throw error;
      }
    }
  }

  /** Makes the renames durable: a rename is a change of the directory, not of the file. */
  async #syncDirectory(): Promise<void> {
    const directory = await open(dirname(this.#path), "r");
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }

  async #discardHandle(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    await file?.close().catch(() => undefined);
  }
}
