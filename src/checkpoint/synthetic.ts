/**
 * Random weights with a real Pixtral structure, made in memory from a seed: the embedded demo model and the
 * benchmarks' "12B dimensions, few layers" model use this instead of a 25 GB download. Values are drawn so
 * activations stay in a sane range (normal, std 0.02 for matrices; norms 1) and stored as bf16.
 */
import type { RawTensor } from './checkpoint.js';
import type { PixtralConfig, TextConfig, VisionConfig } from './config.js';
import { DEFAULT_MAX_CONTEXT } from './config.js';
import { f32ToBf16Bits } from './dtype.js';
import { expectedTensors, type ExpectedTensor } from './inventory.js';
import type { WeightSource } from './weight-source.js';

export class SyntheticWeights implements WeightSource {
  private readonly inventory: Map<string, ExpectedTensor>;

  constructor(
    readonly config: PixtralConfig,
    private readonly seed = 1,
  ) {
    this.inventory = new Map(expectedTensors(config).map((t) => [t.name, t]));
  }

  names(): string[] {
    return [...this.inventory.keys()];
  }

  info(name: string): { dtype: 'BF16'; shape: readonly number[] } {
    const t = this.inventory.get(name);
    if (!t) throw new Error(`synthetic model has no tensor "${name}"`);
    return { dtype: 'BF16', shape: t.shape };
  }

  readRaw(name: string): RawTensor {
    const t = this.inventory.get(name);
    if (!t) throw new Error(`synthetic model has no tensor "${name}"`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    const kind = /norm|ln_pre/.test(name) ? 'norm' : name.endsWith('.bias') ? 'bias' : 'matrix';
    const pool = this.pool(kind);
    // Tensors are cut from a shared random pool at a per-name offset: billions of draws would take minutes,
    // and the values only need a realistic scale, not independence.
    const bits = new Uint16Array(count);
    let at = hash(name) % pool.length;
    for (let done = 0; done < count;) {
      const n = Math.min(count - done, pool.length - at);
      bits.set(pool.subarray(at, at + n), done);
      done += n;
      at = 0;
    }
    return { name, dtype: 'BF16', shape: t.shape, data: new Uint8Array(bits.buffer) };
  }

  private readonly pools = new Map<string, Uint16Array>();

  /** bf16 draws: norms near 1, biases and matrices small, like a trained model's scale (not its values). */
  private pool(kind: 'norm' | 'bias' | 'matrix'): Uint16Array {
    let pool = this.pools.get(kind);
    if (!pool) {
      const random = gaussian(hash(kind) ^ this.seed);
      const scale = kind === 'norm' ? 0.1 : kind === 'bias' ? 0.01 : 0.02;
      pool = new Uint16Array((1 << 20) | 17); // odd length so consecutive rows do not repeat in lockstep
      for (let i = 0; i < pool.length; i++)
        pool[i] = f32ToBf16Bits((kind === 'norm' ? 1 : 0) + scale * random());
      this.pools.set(kind, pool);
    }
    return pool;
  }
}

/** Pixtral-12B's exact sizes (spec §1.1–§1.2), optionally with fewer layers. */
export function pixtral12bConfig(layers = 40, visionLayers = 24): PixtralConfig {
  const text: TextConfig = {
    dim: 5120,
    nLayers: layers,
    headDim: 128,
    hiddenDim: 14336,
    nHeads: 32,
    nKvHeads: 8,
    ropeTheta: 1e9,
    normEps: 1e-5,
    vocabSize: 131072,
  };
  const vision: VisionConfig = {
    hiddenSize: 1024,
    numChannels: 3,
    imageSize: 1024,
    patchSize: 16,
    ropeTheta: 10000,
    intermediateSize: 4096,
    nLayers: visionLayers,
    nHeads: 16,
    headDim: 64,
    imageTokenId: 10,
    imageBreakTokenId: 12,
    imageEndTokenId: 13,
    adapterBias: true,
  };
  return { text, vision, maxContext: DEFAULT_MAX_CONTEXT };
}

/** The small embedded demo model: real vocabulary and structure, tiny widths. */
export function tinyDemoConfig(): PixtralConfig {
  const text: TextConfig = {
    dim: 64,
    nLayers: 2,
    headDim: 16,
    hiddenDim: 160,
    nHeads: 4,
    nKvHeads: 2,
    ropeTheta: 1e9,
    normEps: 1e-5,
    vocabSize: 131072,
  };
  const vision: VisionConfig = {
    hiddenSize: 32,
    numChannels: 3,
    imageSize: 1024,
    patchSize: 16,
    ropeTheta: 10000,
    intermediateSize: 64,
    nLayers: 2,
    nHeads: 2,
    headDim: 16,
    imageTokenId: 10,
    imageBreakTokenId: 12,
    imageEndTokenId: 13,
    adapterBias: true,
  };
  return { text, vision, maxContext: 8192 };
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Standard normal draws (Box–Muller over a xorshift32 stream). */
function gaussian(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}
