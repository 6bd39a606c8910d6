/**
 * The GGUF container (ggml's `docs/gguf.md`, versions 2 and 3): a header of typed metadata key/values and tensor
 * descriptions, then the tensor data, each tensor at an aligned offset. This module reads and writes the
 * container only; what the keys and tensor names mean for Pixtral is the loader's business. Reading parses the
 * header with a growing window over the file (a Tekken vocabulary makes it a few MB) and never reads tensor data;
 * `tensorBytes` hands a tensor out when asked, memory-mapped where the caller can map files.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { type GgmlType, describeGgmlType, ggmlBytes, ggmlTypeById } from './ggml-types.js';
import { readFileRange } from '../read-fully.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (gguf.md `gguf_metadata_value_type`). */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

export type GgufScalar = number | bigint | boolean | string;

/** One metadata entry, with its stored type so a copy writes it back the same. */
export type GgufEntry =
  | { readonly type: Exclude<GgufValueType, GgufValueType.ARRAY>; readonly value: GgufScalar }
  | {
      readonly type: GgufValueType.ARRAY;
      readonly elementType: Exclude<GgufValueType, GgufValueType.ARRAY>;
      readonly value: readonly GgufScalar[];
    };

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml order: dims[0] is the row length (the fastest-varying index). */
  readonly dims: readonly number[];
  readonly type: GgmlType;
  /** Absolute byte offset of the data in the file. */
  readonly offset: number;
  readonly bytes: number;
}

export interface GgufFile {
  readonly path: string;
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufEntry>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  readonly dataOffset: number;
  readonly fileBytes: number;
}

/** A file that is not a GGUF this reader takes: names the file and the problem. */
export class GgufError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'GgufError';
  }
}

/** Reads a GGUF file's header: its metadata and tensor descriptions, checked against the file's size. */
export function readGguf(path: string): GgufFile {
  const fd = openSync(path, 'r');
  try {
    const fileBytes = fstatSync(fd).size;
    const cursor = new HeaderCursor(fd, fileBytes, path);
    if (cursor.u32() !== GGUF_MAGIC) throw new GgufError(path, 'not a GGUF file (no GGUF magic)');
    const version = cursor.u32();
    if (version !== 2 && version !== 3)
      throw new GgufError(path, `GGUF version ${version} is not supported (2 and 3 are)`);
    const tensorCount = cursor.count('tensor count');
    const kvCount = cursor.count('metadata count');
    const metadata = new Map<string, GgufEntry>();
    for (let i = 0; i < kvCount; i++) {
      const key = cursor.string();
      metadata.set(key, cursor.entry(key));
    }
    const alignmentEntry = metadata.get('general.alignment');
    const alignment = alignmentEntry ? Number(alignmentEntry.value) : GGUF_DEFAULT_ALIGNMENT;
    if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0)
      throw new GgufError(path, `general.alignment ${String(alignmentEntry?.value)} is not a multiple of 8`);
    const raw: { name: string; dims: number[]; typeId: number; offset: number }[] = [];
    for (let i = 0; i < tensorCount; i++) {
      const name = cursor.string();
      const nDims = cursor.u32();
      if (nDims < 1 || nDims > 4) throw new GgufError(path, `tensor ${name} has ${nDims} dimensions`);
      const dims = Array.from({ length: nDims }, () => cursor.count(`a dimension of ${name}`));
      raw.push({ name, dims, typeId: cursor.u32(), offset: cursor.count(`the offset of ${name}`) });
    }
    const dataOffset = Math.ceil(cursor.position / alignment) * alignment;
    const tensors = raw.map(({ name, dims, typeId, offset }): GgufTensorInfo => {
      const type = ggmlTypeById(typeId);
      if (!type)
        throw new GgufError(
          path,
          `tensor ${name} is stored as ${describeGgmlType(typeId)}, which is not supported`,
        );
      if (dims[0]! % type.blockValues !== 0)
        throw new GgufError(
          path,
          `tensor ${name}: rows of ${dims[0]} values are not whole ${type.name} blocks`,
        );
      if (offset % alignment !== 0)
        throw new GgufError(path, `tensor ${name} is not aligned to ${alignment} bytes`);
      const bytes = ggmlBytes(
        type,
        dims.reduce((a, b) => a * b, 1),
      );
      const start = dataOffset + offset;
      if (start + bytes > fileBytes)
        throw new GgufError(
          path,
          `tensor ${name} needs bytes ${start}..${start + bytes} but the file has ${fileBytes}: truncated`,
        );
      return { name, dims, type, offset: start, bytes };
    });
    return { path, version, metadata, tensors, alignment, dataOffset, fileBytes };
  } finally {
    closeSync(fd);
  }
}

/** A tensor's bytes: mapped by `map` (no copy) where given, else read. */
export function tensorBytes(
  file: GgufFile,
  tensor: GgufTensorInfo,
  map?: (path: string, offset: number, length: number, streamed: boolean) => Uint8Array,
  streamed = false,
): Uint8Array {
  if (map) return map(file.path, tensor.offset, tensor.bytes, streamed);
  const out = new Uint8Array(tensor.bytes);
  if (readFileRange(file.path, out, tensor.offset) < out.length)
    throw new GgufError(file.path, `tensor ${tensor.name} is truncated`);
  return out;
}

/** A metadata value by key, or undefined. */
export function ggufValue(file: GgufFile, key: string): GgufScalar | readonly GgufScalar[] | undefined {
  return file.metadata.get(key)?.value;
}

/** Bytes of each fixed-size metadata value type. */
export const SCALAR_BYTES: Readonly<Record<number, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

/** Reads the header through a window over the file that grows as parsing needs more of it. */
class HeaderCursor {
  private buffer = Buffer.alloc(0);
  private start = 0; // file position of buffer[0]
  position = 0;

  constructor(
    private readonly fd: number,
    private readonly fileBytes: number,
    private readonly path: string,
  ) {}

  private need(bytes: number): number {
    const end = this.position + bytes;
    if (end > this.fileBytes) throw new GgufError(this.path, 'the header is truncated');
    if (end > this.start + this.buffer.length) {
      const size = Math.min(this.fileBytes - this.position, Math.max(bytes, 1 << 20, this.buffer.length * 2));
      const buffer = Buffer.alloc(size);
      readSync(this.fd, buffer, 0, size, this.position);
      this.buffer = buffer;
      this.start = this.position;
    }
    const at = this.position - this.start;
    this.position = end;
    return at;
  }

  // Each read takes its offset first: need() may replace the buffer.
  u32(): number {
    const at = this.need(4);
    return this.buffer.readUInt32LE(at);
  }

  /** A uint64 that must be a safe integer (counts, sizes, offsets). */
  count(what: string): number {
    const at = this.need(8);
    const value = this.buffer.readBigUInt64LE(at);
    if (value > BigInt(Number.MAX_SAFE_INTEGER))
      throw new GgufError(this.path, `${what} is ${value}: too large`);
    return Number(value);
  }

  string(): string {
    const length = this.count('a string length');
    const at = this.need(length);
    return this.buffer.toString('utf8', at, at + length);
  }

  entry(key: string): GgufEntry {
    const type = this.u32();
    if (type === GgufValueType.ARRAY) {
      const elementType = this.u32();
      if (elementType === GgufValueType.ARRAY || !(elementType in GgufValueType))
        throw new GgufError(this.path, `metadata ${key}: arrays of type ${elementType} are not supported`);
      const length = this.count(`the length of ${key}`);
      const value = new Array<GgufScalar>(length);
      for (let i = 0; i < length; i++) value[i] = this.scalar(elementType, key);
      return { type, elementType, value } as GgufEntry;
    }
    return { type, value: this.scalar(type, key) } as GgufEntry;
  }

  private scalar(type: number, key: string): GgufScalar {
    if (type === GgufValueType.STRING) return this.string();
    const size = SCALAR_BYTES[type];
    if (size === undefined) throw new GgufError(this.path, `metadata ${key} has unknown value type ${type}`);
    const at = this.need(size);
    const b = this.buffer;
    switch (type) {
      case GgufValueType.UINT8:
        return b.readUInt8(at);
      case GgufValueType.INT8:
        return b.readInt8(at);
      case GgufValueType.UINT16:
        return b.readUInt16LE(at);
      case GgufValueType.INT16:
        return b.readInt16LE(at);
      case GgufValueType.UINT32:
        return b.readUInt32LE(at);
      case GgufValueType.INT32:
        return b.readInt32LE(at);
      case GgufValueType.FLOAT32:
        return shortestFloat32(b.readFloatLE(at));
      case GgufValueType.BOOL:
        return b.readUInt8(at) !== 0;
      case GgufValueType.UINT64:
        return safe(b.readBigUInt64LE(at));
      case GgufValueType.INT64:
        return safe(b.readBigInt64LE(at));
      default:
        return b.readDoubleLE(at);
    }
  }
}

/**
 * A float32 as the shortest decimal that rounds to it (1e-5, not 9.99999974e-6): what the writer meant, and the
 * same float32 again when written back.
 */
function shortestFloat32(value: number): number {
  for (let digits = 1; digits < 9; digits++) {
    const short = Number(value.toPrecision(digits));
    if (Math.fround(short) === value) return short;
  }
  return value;
}

/** 64-bit integers as numbers where exact, else bigint. */
function safe(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}
