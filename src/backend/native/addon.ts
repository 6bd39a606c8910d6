/**
 * Loading the compiled kernels: a binary built on this machine (build/Release, by the install script or
 * `npm run build:native`), else the prebuilt one shipped for this platform (prebuilds/<platform>-<arch>[-libc],
 * made by `npm run prebuild`). A local build comes first because it exists only when someone built these very
 * sources here — the install skips building when a prebuild loads — so a prebuild can never shadow a C++ change.
 * When neither loads, callers get null and one warning naming why, and the engine runs on the reference backend.
 *
 * The kernels use Node-API (ABI-stable), so one binary per platform, CPU architecture and C library serves
 * every Node version ≥ 20; that is all a loader needs to know, hence these few lines rather than a dependency.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Weight storage formats of the kernels (values match the C++ enum). */
export const enum NativeFormat {
  Bf16 = 0,
  Q8 = 1,
  Q4 = 2,
  /** ggml K-quant super-blocks, as a GGUF file stores them. */
  Q4K = 3,
  Q5K = 4,
  Q6K = 5,
  /** IEEE half rows (GGUF F16 tensors). */
  F16 = 6,
  /** q4 / q8 blocks of 16 rows interleaved for the AVX-512 panel kernels (made in place from rows at load). */
  Q4P = 7,
  Q8P = 8,
}

/** The kernel sets of the native registry, best first (what `--kernels` names). */
export type KernelLevel = 'amx' | 'avx512' | 'avx2' | 'portable';

export interface NativeFeatures {
  readonly avx2: boolean;
  readonly avx512f: boolean;
  readonly avx512vnni: boolean;
  readonly avx512bf16: boolean;
  readonly best: KernelLevel;
  readonly active: KernelLevel;
  /** Every level this CPU can run, best first. */
  readonly levels: readonly KernelLevel[];
  /** Intel AMX tiles present and granted by the kernel (the "amx" level). */
  readonly amx: boolean;
  readonly threads: number;
  /** How the weight loops prefetch, e.g. "l2:3072" (into L2, 3 KB ahead): chosen by CPU vendor, or PIXTRAL_PREFETCH. */
  readonly prefetch: string;
}

export interface BandwidthProbe {
  /** 1e9 bytes per second: the best pass and the median pass. */
  readonly bestGBps: number;
  readonly medianGBps: number;
  readonly threads: number;
  /** Width of the loads used: 64 (AVX-512), 32 (AVX2) or 16. */
  readonly vectorBytes: number;
}

export interface NativeAddon {
  features(): NativeFeatures;
  /** Switches every op to this kernel set; false when the CPU cannot run it. */
  setLevel(level: KernelLevel): boolean;
  setThreads(threads: number): number;
  matmul(
    format: NativeFormat,
    x: Float32Array,
    tokens: number,
    k: number,
    w: Uint8Array | Uint16Array,
    n: number,
    y: Float32Array,
    /** bf16 weights may meet activations rounded to bf16 (AMX): faster, results at bf16 precision. */
    bf16Activations?: boolean,
  ): void;
  /** Streaming read bandwidth of this machine: the pool's threads read a buffer of `bytes`, `passes` times. */
  probeBandwidth(bytes: number, passes: number): BandwidthProbe;
  quantize(format: NativeFormat, src: Float32Array, rows: number, k: number, out: Uint8Array): void;
  /** GGUF Q8_0 / Q4_0 blocks (format Q8 / Q4) rearranged into the kernels' rows: the same numbers, exactly. */
  repackGgml(format: NativeFormat, blocks: Uint8Array, rows: number, k: number, out: Uint8Array): void;
  /**
   * Q4 / Q8 rows [rows, k] rewritten in place as panels (Q4P / Q8P) where the active kernel level prefers them;
   * false (unchanged) otherwise — another level, rows not a multiple of 16, or a read-only mapped file.
   */
  packPanels(format: NativeFormat.Q4 | NativeFormat.Q8, w: Uint8Array, rows: number, k: number): boolean;
  /**
   * One token's activations as the active level's quantized matmuls see them: int8 blocks of 32 (in q4's split
   * order when `split`), a scale per block and, when `offsets` is given, each block's Σq·scale·8.
   */
  quantizeActivations(
    x: Float32Array,
    k: number,
    split: boolean,
    q: Int8Array,
    scales: Float32Array,
    offsets?: Float32Array,
  ): void;
  /** Zeroed memory for weights, on 2 MB pages where the kernel grants them (decode streams it every token). */
  allocateWeights(bytes: number): Uint8Array;
  rmsNorm(
    x: Float32Array,
    weight: Float32Array,
    out: Float32Array,
    rows: number,
    width: number,
    eps: number,
  ): void;
  rope(
    x: Float32Array,
    out: Float32Array,
    rows: number,
    heads: number,
    headDim: number,
    cos: Float32Array,
    sin: Float32Array,
  ): void;
  unary(op: 'gelu', x: Float32Array, out: Float32Array): void;
  binary(op: 'siluMul' | 'add', a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** dst[at + i] = IEEE half of src[i], round to nearest even. */
  toHalf(src: Float32Array, dst: Uint16Array, at: number): void;
  /** A byte range of a file, memory-mapped read-only (unmapped when collected). */
  mapFile(path: string, offset: number, length: number): Uint8Array;
  /**
   * Tiled attention with an online softmax; queryStart −1 = no mask. K/V (and q8 scales) are one array each,
   * or — with pagePositions > 0 — arrays of pages of that many positions (the KV cache's layout).
   */
  attention(
    q: Float32Array,
    k: KvData | readonly KvData[],
    v: KvData | readonly KvData[],
    out: Float32Array,
    queries: number,
    keys: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    scale: number,
    queryStart: number,
    kvFormat?: number,
    kScales?: Float32Array | readonly Float32Array[],
    vScales?: Float32Array | readonly Float32Array[],
    /** Unmasked float32 attention may run on AMX tiles with bf16 Q/K/V and weights. */
    bf16?: boolean,
    pagePositions?: number,
  ): void;
}

type KvData = Float32Array | Uint16Array | Int8Array;

let loaded: { addon: NativeAddon | null; reason: string; path?: string } | undefined;
let warned = false;

function projectRoot(): string {
  // dist/src/backend/native/addon.js or src/backend/native/addon.ts → the package root holding build/.
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

const ADDON_FILE = 'pixtral_native.node';

/** `linux-x64-glibc`, `linux-arm64-musl`, `darwin-arm64`, `win32-x64`: what a prebuilt binary must match. */
export function prebuildPlatform(): string {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return base;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return `${base}-${header?.glibcVersionRuntime ? 'glibc' : 'musl'}`;
}

/** Where this machine's prebuilt binary is (or would be) in the package. */
export function prebuildPath(root = projectRoot()): string {
  return join(root, 'prebuilds', prebuildPlatform(), ADDON_FILE);
}

/** The binaries to try, in order, that exist. */
function candidates(): string[] {
  const root = projectRoot();
  return [join(root, 'build', 'Release', ADDON_FILE), prebuildPath(root)].filter((path) => existsSync(path));
}

export function loadNativeAddon(): NativeAddon | null {
  if (!loaded) loaded = load();
  return loaded.addon;
}

function load(): NonNullable<typeof loaded> {
  if (process.env.PIXTRAL_NO_NATIVE) return { addon: null, reason: 'PIXTRAL_NO_NATIVE is set' };
  const paths = candidates();
  if (paths.length === 0)
    return { addon: null, reason: `no prebuilt binary for ${prebuildPlatform()} and none built from source` };
  const reasons: string[] = [];
  for (const path of paths) {
    try {
      return { addon: createRequire(import.meta.url)(path) as NativeAddon, reason: '', path };
    } catch (err) {
      reasons.push(`${path}: ${(err as Error).message.split('\n')[0]!}`);
    }
  }
  return { addon: null, reason: reasons.join('; ') };
}

/** Which binary loaded (null when none did). */
export function nativeAddonPath(): string | null {
  loadNativeAddon();
  return loaded!.path ?? null;
}

/** Why the addon is unavailable (empty when it loaded). */
export function nativeUnavailableReason(): string {
  loadNativeAddon();
  return loaded!.reason;
}

/** Says once per process that the fast kernels are missing. */
export function warnNativeMissing(log: (line: string) => void = (l) => process.emitWarning(l)): void {
  if (warned) return;
  warned = true;
  log(`pixtral: native kernels unavailable (${nativeUnavailableReason()}); using the reference backend`);
}
