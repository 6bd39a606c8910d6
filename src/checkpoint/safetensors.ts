/**
 * A validating, lazy safetensors reader (spec §2.0). The header is checked up front — length bounds, known
 * dtypes, offsets inside the file, sizes matching shapes, no overlapping tensors — and tensor bytes are read
 * only when asked for, so a 25 GB checkpoint is never loaded whole.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CheckpointError } from './errors.js';
import { DTYPE_BYTES, type DType, isDType } from './dtype.js';
import { readFully } from './read-fully.js';
import { parseJsonText } from './json-syntax.js';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Absolute byte offset of the tensor data in the file. */
  readonly offset: number;
  readonly byteLength: number;
}

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export class SafetensorsFile {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly fileSize: number;
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    tensors: Map<string, TensorInfo>,
    metadata: Record<string, string>,
    fileSize: number,
  ) {
    this.fd = fd;
    this.tensors = tensors;
    this.metadata = metadata;
    this.fileSize = fileSize;
  }

  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new CheckpointError(
        path,
        `cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    try {
      const fileSize = fstatSync(fd).size;
      const { tensors, metadata } = readHeader(path, fd, fileSize);
      return new SafetensorsFile(path, fd, tensors, metadata, fileSize);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new CheckpointError(this.path, 'not in this file', name);
    return info;
  }

  /** Reads one tensor's raw bytes. */
  read(name: string): Uint8Array {
    const info = this.info(name);
    if (this.fd === null) throw new CheckpointError(this.path, 'file already closed', name);
    const out = new Uint8Array(info.byteLength);
    if (readFully(this.fd, out, info.offset) < out.length)
      throw new CheckpointError(this.path, 'file ended while reading (truncated?)', name);
    return out;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function readHeader(path: string, fd: number, fileSize: number) {
  if (fileSize < 8) throw new CheckpointError(path, `too small to be safetensors (${fileSize} bytes)`);
  const lengthBytes = Buffer.alloc(8);
  readSync(fd, lengthBytes, 0, 8, 0);
  const headerLength = Number(lengthBytes.readBigUInt64LE(0));
  if (headerLength < 2 || headerLength > MAX_HEADER_BYTES)
    throw new CheckpointError(
      path,
      `header length ${headerLength} is out of bounds (2..${MAX_HEADER_BYTES})`,
    );
  if (8 + headerLength > fileSize)
    throw new CheckpointError(
      path,
      `header (${headerLength} bytes) runs past the end of the file (${fileSize} bytes)`,
    );

  const headerBytes = Buffer.alloc(headerLength);
  readSync(fd, headerBytes, 0, headerLength, 8);
  let header: unknown;
  try {
    header = parseJsonText(headerBytes.toString('utf8'));
  } catch (err) {
    throw new CheckpointError(path, `header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new CheckpointError(path, 'header must be a JSON object');

  const dataStart = 8 + headerLength;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = readMetadata(path, entry);
      continue;
    }
    tensors.set(name, readEntry(path, name, entry, dataStart, dataSize));
  }
  checkNoOverlap(path, [...tensors.values()]);
  return { tensors, metadata };
}

function readEntry(
  path: string,
  name: string,
  entry: unknown,
  dataStart: number,
  dataSize: number,
): TensorInfo {
  const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof entry !== 'object' || entry === null)
    throw new CheckpointError(path, 'header entry is not an object', name);
  if (!isDType(e.dtype))
    throw new CheckpointError(
      path,
      `unsupported dtype ${JSON.stringify(e.dtype)} (expected BF16, F16 or F32)`,
      name,
    );
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new CheckpointError(path, 'shape must be a list of non-negative integers', name);
  const offsets = e.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  )
    throw new CheckpointError(path, 'data_offsets must be [begin, end]', name);
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw new CheckpointError(path, `data_offsets end ${end} is before begin ${begin}`, name);
  if (end > dataSize)
    throw new CheckpointError(
      path,
      `data ends at ${end}, past the end of the data section (${dataSize} bytes; truncated file?)`,
      name,
    );
  const expected = shape.reduce((a: number, b: number) => a * b, 1) * DTYPE_BYTES[e.dtype];
  if (end - begin !== expected)
    throw new CheckpointError(
      path,
      `holds ${end - begin} bytes but shape [${shape}] of ${e.dtype} needs ${expected}`,
      name,
    );
  return { name, dtype: e.dtype, shape, offset: dataStart + begin, byteLength: end - begin };
}

function readMetadata(path: string, entry: unknown): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw new CheckpointError(path, '__metadata__ must be an object of strings');
  for (const [key, value] of Object.entries(entry))
    if (typeof value !== 'string') throw new CheckpointError(path, `__metadata__.${key} must be a string`);
  return entry as Record<string, string>;
}

function checkNoOverlap(path: string, infos: TensorInfo[]): void {
  const sorted = infos.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.offset < prev.offset + prev.byteLength)
      throw new CheckpointError(path, `overlaps the data of tensor "${prev.name}"`, cur.name);
  }
}
