/**
 * The reference backend: every operation of the Backend interface in plain TypeScript, written to be read and
 * trusted rather than to be fast. Sums accumulate in float64 (JavaScript numbers) and are stored as float32.
 */
import {
  type AttentionShape,
  type Backend,
  type RawWeight,
  type RopeAngles,
  type Tensor,
  output,
  rowsOf,
  tensor,
} from '../types.js';
import { encodeHalves, type KvTensor, kvToFloat32 } from '../kv-format.js';
import { erf, sigmoid } from './math.js';
import { ReferenceWeight } from './weights.js';

export class ReferenceBackend implements Backend {
  readonly name = 'reference';

  weight(raw: RawWeight): ReferenceWeight {
    return new ReferenceWeight(raw);
  }

  matmul(x: Tensor, w: ReferenceWeight, bias?: ReferenceWeight, into?: Tensor): Tensor {
    const inDim = w.cols;
    const outDim = w.rows;
    const rows = rowsOf(x);
    if (x.shape[x.shape.length - 1] !== inDim)
      throw new Error(`matmul: input width ${x.shape[x.shape.length - 1]} ≠ weight width ${inDim}`);
    const y = output([...x.shape.slice(0, -1), outDim], into);
    const b = bias?.toFloat32();
    const wRow = new Float32Array(inDim);
    for (let o = 0; o < outDim; o++) {
      w.row(o, wRow);
      for (let t = 0; t < rows; t++) {
        const xOff = t * inDim;
        let sum = 0;
        for (let i = 0; i < inDim; i++) sum += x.data[xOff + i]! * wRow[i]!;
        y.data[t * outDim + o] = b ? sum + b[o]! : sum;
      }
    }
    return y;
  }

  embed(ids: ArrayLike<number>, table: ReferenceWeight): Tensor {
    const width = table.cols;
    const out = tensor([ids.length, width]);
    for (let t = 0; t < ids.length; t++) {
      const id = ids[t]!;
      if (!(id >= 0 && id < table.rows))
        throw new RangeError(`embedding id ${id} outside 0..${table.rows - 1}`);
      table.row(id, out.data.subarray(t * width, (t + 1) * width));
    }
    return out;
  }

  rmsNorm(x: Tensor, weight: ReferenceWeight, eps: number, into?: Tensor): Tensor {
    const width = x.shape[x.shape.length - 1]!;
    const w = weight.toFloat32();
    const out = output(x.shape, into);
    for (let r = 0; r < rowsOf(x); r++) {
      const off = r * width;
      let squares = 0;
      for (let i = 0; i < width; i++) squares += x.data[off + i]! ** 2;
      const inv = Math.fround(1 / Math.sqrt(Math.fround(squares / width) + eps));
      // As the reference: normalise in float32, then scale by the weight.
      for (let i = 0; i < width; i++) out.data[off + i] = Math.fround(x.data[off + i]! * inv) * w[i]!;
    }
    return out;
  }

  rope(x: Tensor, heads: number, angles: RopeAngles, into?: Tensor): Tensor {
    const width = x.shape[x.shape.length - 1]!;
    const headDim = width / heads;
    const pairs = headDim / 2;
    if (pairs !== angles.pairs)
      throw new Error(`rope: head_dim ${headDim} needs ${pairs} pairs, table has ${angles.pairs}`);
    if (rowsOf(x) !== angles.positions)
      throw new Error(`rope: ${rowsOf(x)} rows but ${angles.positions} positions`);
    const out = output(x.shape, into);
    for (let t = 0; t < angles.positions; t++) {
      for (let h = 0; h < heads; h++) {
        const base = t * width + h * headDim;
        for (let p = 0; p < pairs; p++) {
          const c = angles.cos[t * pairs + p]!;
          const s = angles.sin[t * pairs + p]!;
          const a = x.data[base + 2 * p]!;
          const b = x.data[base + 2 * p + 1]!;
          out.data[base + 2 * p] = a * c - b * s;
          out.data[base + 2 * p + 1] = a * s + b * c;
        }
      }
    }
    return out;
  }

  attention(q: Tensor, kStored: KvTensor, vStored: KvTensor, shape: AttentionShape, into?: Tensor): Tensor {
    const { nHeads, nKvHeads, headDim, scale, queryStart } = shape;
    // A compressed KV cache is read back to float32 first: the reference stays one plain loop.
    const k = { shape: kStored.shape, data: kvToFloat32(kStored) };
    const v = { shape: vStored.shape, data: kvToFloat32(vStored) };
    const queries = rowsOf(q);
    const keys = rowsOf(k);
    const qWidth = nHeads * headDim;
    const kvWidth = nKvHeads * headDim;
    const group = nHeads / nKvHeads;
    const out = output([queries, qWidth], into);
    const scores = new Float64Array(keys);
    for (let t = 0; t < queries; t++) {
      // Causal: the query at absolute position queryStart + t sees keys 0..queryStart + t.
      const visible = queryStart === undefined ? keys : Math.min(keys, queryStart + t + 1);
      for (let h = 0; h < nHeads; h++) {
        const kvHead = Math.floor(h / group);
        const qOff = t * qWidth + h * headDim;
        let max = -Infinity;
        for (let s = 0; s < visible; s++) {
          const kOff = s * kvWidth + kvHead * headDim;
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += q.data[qOff + d]! * k.data[kOff + d]!;
          scores[s] = Math.fround(dot * scale);
          if (scores[s]! > max) max = scores[s]!;
        }
        let total = 0;
        for (let s = 0; s < visible; s++) {
          scores[s] = Math.exp(scores[s]! - max);
          total += scores[s]!;
        }
        for (let d = 0; d < headDim; d++) {
          let acc = 0;
          for (let s = 0; s < visible; s++) acc += scores[s]! * v.data[s * kvWidth + kvHead * headDim + d]!;
          out.data[qOff + d] = acc / total;
        }
      }
    }
    return out;
  }

  siluMul(gate: Tensor, up: Tensor, into?: Tensor): Tensor {
    const out = output(gate.shape, into);
    for (let i = 0; i < out.data.length; i++) {
      const g = gate.data[i]!;
      out.data[i] = Math.fround(g * sigmoid(g)) * up.data[i]!;
    }
    return out;
  }

  gelu(x: Tensor): Tensor {
    const out = tensor(x.shape);
    for (let i = 0; i < out.data.length; i++) {
      const v = x.data[i]!;
      out.data[i] = 0.5 * v * (1 + erf(v / Math.SQRT2));
    }
    return out;
  }

  add(a: Tensor, b: Tensor, into?: Tensor): Tensor {
    if (a.data.length !== b.data.length) throw new Error(`add: shapes [${a.shape}] and [${b.shape}] differ`);
    const out = output(a.shape, into);
    for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[i]! + b.data[i]!;
    return out;
  }

  toHalf(src: Float32Array, dst: Uint16Array, at: number): void {
    encodeHalves(src, dst, at);
  }

  kvPageMemory(bytes: number): Uint8Array {
    return new Uint8Array(bytes);
  }
}
