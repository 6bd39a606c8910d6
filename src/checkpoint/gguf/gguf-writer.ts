/**
 * Writes a GGUF file (version 3): the metadata entries in the order given, the tensor descriptions, then each
 * tensor's data at an aligned offset. The file is written under a temporary name and renamed when complete, so
 * a failed export never leaves a file that looks whole.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { type GgmlType, ggmlBytes } from './ggml-types.js';
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  type GgufEntry,
  type GgufScalar,
  GgufValueType,
  SCALAR_BYTES,
} from './gguf-file.js';

export interface GgufTensorToWrite {
  readonly name: string;
  /** ggml order: dims[0] is the row length. */
  readonly dims: readonly number[];
  readonly type: GgmlType;
  /** The bytes, or a function that makes them when they are written (one tensor in memory at a time). */
  readonly data: Uint8Array | (() => Uint8Array);
}

/** Helpers for the common entry types. */
export const gguf = {
  string: (value: string): GgufEntry => ({ type: GgufValueType.STRING, value }),
  u32: (value: number): GgufEntry => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufEntry => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufEntry => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufEntry => ({ type: GgufValueType.BOOL, value }),
  strings: (value: readonly string[]): GgufEntry => ({
    type: GgufValueType.ARRAY,
    elementType: GgufValueType.STRING,
    value,
  }),
  array: (
    elementType: Exclude<GgufValueType, GgufValueType.ARRAY>,
    value: readonly GgufScalar[],
  ): GgufEntry => ({
    type: GgufValueType.ARRAY,
    elementType,
    value,
  }),
};

export function writeGguf(
  path: string,
  metadata: ReadonlyMap<string, GgufEntry> | readonly (readonly [string, GgufEntry])[],
  tensors: readonly GgufTensorToWrite[],
): void {
  const entries = [...metadata] as [string, GgufEntry][];
  const alignmentEntry = entries.find(([key]) => key === 'general.alignment');
  const alignment = alignmentEntry ? Number(alignmentEntry[1].value) : GGUF_DEFAULT_ALIGNMENT;
  const header = new ByteWriter();
  header.u32(GGUF_MAGIC);
  header.u32(3);
  header.u64(tensors.length);
  header.u64(entries.length);
  for (const [key, entry] of entries) {
    header.string(key);
    header.u32(entry.type);
    if (entry.type === GgufValueType.ARRAY) {
      header.u32(entry.elementType);
      header.u64(entry.value.length);
      for (const value of entry.value) header.scalar(entry.elementType, value);
    } else header.scalar(entry.type, entry.value);
  }
  let offset = 0;
  const offsets: number[] = [];
  const sizes = tensors.map((tensor) =>
    ggmlBytes(
      tensor.type,
      tensor.dims.reduce((a, b) => a * b, 1),
    ),
  );
  for (const [i, tensor] of tensors.entries()) {
    header.string(tensor.name);
    header.u32(tensor.dims.length);
    for (const d of tensor.dims) header.u64(d);
    header.u32(tensor.type.id);
    header.u64(offset);
    offsets.push(offset);
    offset = Math.ceil((offset + sizes[i]!) / alignment) * alignment;
  }
  const head = header.bytes();
  const dataOffset = Math.ceil(head.length / alignment) * alignment;
  const temporary = `${path}.partial`;
  const fd = openSync(temporary, 'w');
  try {
    writeAll(fd, head, 0);
    tensors.forEach((tensor, i) => {
      const data = typeof tensor.data === 'function' ? tensor.data() : tensor.data;
      if (data.length !== sizes[i])
        throw new Error(
          `gguf: tensor ${tensor.name} has ${data.length} bytes, ${tensor.type.name} ${tensor.dims.join('×')} needs ${sizes[i]}`,
        );
      writeAll(fd, data, dataOffset + offsets[i]!);
    });
    // Pad the data to its aligned end, as ggml's writer does (readers may read the whole padded blob).
    const written = tensors.length > 0 ? dataOffset + offsets.at(-1)! + sizes.at(-1)! : head.length;
    const end = dataOffset + offset;
    if (end > written) writeAll(fd, new Uint8Array(end - written), written);
    closeSync(fd);
    renameSync(temporary, path);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(temporary, { force: true });
    throw err;
  }
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length;)
    done += writeSync(fd, data, done, data.length - done, position + done);
}

/** Little-endian bytes, growing as written. */
class ByteWriter {
  private buffer = Buffer.alloc(1 << 16);
  private length = 0;

  private room(bytes: number): number {
    if (this.length + bytes > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + bytes));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    const at = this.length;
    this.length += bytes;
    return at;
  }

  /** The buffer with `bytes` more room, and where they start (the buffer may be replaced: use it after). */
  private at(bytes: number): [Buffer, number] {
    const at = this.room(bytes);
    return [this.buffer, at];
  }

  u32(value: number): void {
    const [b, at] = this.at(4);
    b.writeUInt32LE(value, at);
  }

  u64(value: number | bigint): void {
    const [b, at] = this.at(8);
    b.writeBigUInt64LE(BigInt(value), at);
  }

  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.u64(bytes.length);
    const [b, at] = this.at(bytes.length);
    bytes.copy(b, at);
  }

  scalar(type: Exclude<GgufValueType, GgufValueType.ARRAY>, value: GgufScalar): void {
    if (type === GgufValueType.STRING) return this.string(String(value));
    const [b, at] = this.at(SCALAR_BYTES[type]!);
    switch (type) {
      case GgufValueType.UINT8:
        return void b.writeUInt8(Number(value), at);
      case GgufValueType.INT8:
        return void b.writeInt8(Number(value), at);
      case GgufValueType.UINT16:
        return void b.writeUInt16LE(Number(value), at);
      case GgufValueType.INT16:
        return void b.writeInt16LE(Number(value), at);
      case GgufValueType.UINT32:
        return void b.writeUInt32LE(Number(value), at);
      case GgufValueType.INT32:
        return void b.writeInt32LE(Number(value), at);
      case GgufValueType.FLOAT32:
        return void b.writeFloatLE(Number(value), at);
      case GgufValueType.BOOL:
        return void b.writeUInt8(value ? 1 : 0, at);
      case GgufValueType.UINT64:
        return void b.writeBigUInt64LE(BigInt(value as number | bigint), at);
      case GgufValueType.INT64:
        return void b.writeBigInt64LE(BigInt(value as number | bigint), at);
      case GgufValueType.FLOAT64:
        return void b.writeDoubleLE(Number(value), at);
    }
  }

  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}
