/**
 * Writes a safetensors file. The file appears atomically (written to a temporary name, then renamed), so a
 * crash never leaves a half-written checkpoint behind under the real name. Tensors can be produced one at a
 * time while writing, so a checkpoint larger than memory can be written.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface TensorHeader {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

export function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata?: Record<string, string>,
): void {
  const headers = tensors.map((t) => ({ ...t, byteLength: t.data.byteLength }));
  writeSafetensorsStreamed(path, headers, (i) => tensors[i]!.data, metadata);
}

/** Writes tensors whose sizes are known up front; `produce(i)` makes tensor i's bytes when it is its turn. */
export function writeSafetensorsStreamed(
  path: string,
  tensors: readonly TensorHeader[],
  produce: (index: number) => Uint8Array,
  metadata?: Record<string, string>,
): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  // Pad the header with spaces so tensor data starts 8-byte aligned, as the reference writer does.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerBytes.byteLength));

  const tmp = `${path}.partial-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeAll(fd, length);
    writeAll(fd, headerBytes);
    tensors.forEach((t, i) => {
      const data = produce(i);
      if (data.byteLength !== t.byteLength)
        throw new Error(`${t.name}: produced ${data.byteLength} bytes, header says ${t.byteLength}`);
      writeAll(fd, data);
    });
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.byteLength) done += writeSync(fd, data, done, data.byteLength - done);
}
