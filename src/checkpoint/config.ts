/**
 * One model description for both checkpoint layouts (spec §1, §2.1, §2.2). Every size comes from the files;
 * defaults for keys the files omit live here and nowhere else.
 */
import { CheckpointError } from './errors.js';

export interface TextConfig {
  readonly dim: number;
  readonly nLayers: number;
  readonly headDim: number;
  readonly hiddenDim: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly ropeTheta: number;
  readonly normEps: number;
  readonly vocabSize: number;
}

export interface VisionConfig {
  readonly hiddenSize: number;
  readonly numChannels: number;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly ropeTheta: number;
  readonly intermediateSize: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly headDim: number;
  readonly imageTokenId: number;
  readonly imageBreakTokenId: number;
  readonly imageEndTokenId: number;
  readonly adapterBias: boolean;
}

export interface PixtralConfig {
  readonly text: TextConfig;
  readonly vision: VisionConfig | null;
  /** Longest context the engine will allocate for (spec §1.1 judgement: 131072). */
  readonly maxContext: number;
}

export const DEFAULT_MAX_CONTEXT = 131072;

type Json = Record<string, unknown>;

/** Mistral `params.json`. */
export function configFromParams(params: Json, file: string): PixtralConfig {
  const get = reader(params, file);
  const text: TextConfig = {
    dim: get.int('dim'),
    nLayers: get.int('n_layers'),
    hiddenDim: get.int('hidden_dim'),
    nHeads: get.int('n_heads'),
    nKvHeads: get.int('n_kv_heads', get.int('n_heads')),
    headDim: get.int('head_dim', get.int('dim') / get.int('n_heads')),
    ropeTheta: get.num('rope_theta', 1e6),
    normEps: get.num('norm_eps', 1e-5),
    vocabSize: get.int('vocab_size'),
  };
  const venc = params.vision_encoder;
  let vision: VisionConfig | null = null;
  if (venc !== undefined && venc !== null) {
    if (typeof venc !== 'object') throw new CheckpointError(file, 'vision_encoder must be an object');
    const v = reader(venc as Json, `${file} (vision_encoder)`);
    vision = {
      hiddenSize: v.int('hidden_size'),
      numChannels: v.int('num_channels', 3),
      imageSize: v.int('max_image_size', v.int('image_size')),
      patchSize: v.int('patch_size'),
      ropeTheta: v.num('rope_theta', 10000),
      intermediateSize: v.int('intermediate_size'),
      nLayers: v.int('num_hidden_layers'),
      nHeads: v.int('num_attention_heads'),
      headDim: v.int('hidden_size') / v.int('num_attention_heads'),
      imageTokenId: v.int('image_token_id', 10),
      imageBreakTokenId: v.int('image_break_token_id', 12),
      imageEndTokenId: v.int('image_end_token_id', 13),
      adapterBias: v.bool('adapter_bias', true),
    };
    checkVisionSupported(venc as Json, file);
  }
  return validate({ text, vision, maxContext: DEFAULT_MAX_CONTEXT }, file);
}

/** Hugging Face `config.json` (LlavaForConditionalGeneration); fills gaps with Pixtral's values, not HF's. */
export function configFromHf(config: Json, file: string): PixtralConfig {
  const textJson = config.text_config;
  if (typeof textJson !== 'object' || textJson === null)
    throw new CheckpointError(file, 'missing text_config');
  const t = reader(textJson as Json, `${file} (text_config)`);
  const nHeads = t.int('num_attention_heads', 32);
  const text: TextConfig = {
    dim: t.int('hidden_size'),
    nLayers: t.int('num_hidden_layers'),
    hiddenDim: t.int('intermediate_size'),
    nHeads,
    nKvHeads: t.int('num_key_value_heads', nHeads),
    headDim: t.int('head_dim', 128), // HF's own default would be hidden/heads = 160 for Pixtral: wrong
    ropeTheta: t.num('rope_theta', 1e9),
    normEps: t.num('rms_norm_eps', 1e-5), // HF Mistral's default 1e-6 is wrong here
    vocabSize: t.int('vocab_size', 131072),
  };
  let vision: VisionConfig | null = null;
  const visionJson = config.vision_config;
  if (typeof visionJson === 'object' && visionJson !== null) {
    const v = reader(visionJson as Json, `${file} (vision_config)`);
    const hiddenSize = v.int('hidden_size', 1024);
    const nHeadsV = v.int('num_attention_heads', 16);
    // vision hidden_act is always SiLU-gated for Pixtral, whatever the file says (spec §1.2: "gelu" was a bug).
    vision = {
      hiddenSize,
      numChannels: v.int('num_channels', 3),
      imageSize: v.int('image_size', 1024),
      patchSize: v.int('patch_size', 16),
      ropeTheta: v.num('rope_theta', 10000),
      intermediateSize: v.int('intermediate_size', 4096),
      nLayers: v.int('num_hidden_layers', 24),
      nHeads: nHeadsV,
      headDim: v.int('head_dim', hiddenSize / nHeadsV),
      imageTokenId: reader(config, file).int('image_token_index', 10),
      imageBreakTokenId: 12,
      imageEndTokenId: 13,
      adapterBias: reader(config, file).bool('multimodal_projector_bias', true),
    };
    if (config.projector_hidden_act !== undefined && config.projector_hidden_act !== 'gelu')
      throw new CheckpointError(
        file,
        `projector_hidden_act "${config.projector_hidden_act}" is not supported (gelu)`,
      );
  }
  return validate({ text, vision, maxContext: DEFAULT_MAX_CONTEXT }, file);
}

function checkVisionSupported(venc: Json, file: string): void {
  const merge = venc.spatial_merge_size ?? 1;
  if (merge !== 1)
    throw new CheckpointError(file, `spatial_merge_size ${merge} is not supported (Pixtral-12B uses 1)`);
  if (venc.add_pre_mm_projector_layer_norm === true || (venc.mm_projector_id ?? '') !== '')
    throw new CheckpointError(file, 'patch-merger / pre-projector norm variants are not supported');
}

function validate(config: PixtralConfig, file: string): PixtralConfig {
  const { text, vision } = config;
  if (text.nHeads % text.nKvHeads !== 0)
    throw new CheckpointError(
      file,
      `n_heads ${text.nHeads} is not a multiple of n_kv_heads ${text.nKvHeads}`,
    );
  if (text.headDim % 2 !== 0 || !Number.isInteger(text.headDim))
    throw new CheckpointError(file, `head_dim ${text.headDim} must be an even integer`);
  if (vision) {
    if (!Number.isInteger(vision.headDim) || vision.headDim % 4 !== 0)
      throw new CheckpointError(file, `vision head_dim ${vision.headDim} must be a multiple of 4 (2-D RoPE)`);
    if (vision.imageSize % vision.patchSize !== 0)
      throw new CheckpointError(file, `image_size ${vision.imageSize} is not a multiple of patch_size`);
  }
  return config;
}

function reader(json: Json, file: string) {
  const value = (key: string, fallback: unknown) => {
    const v = json[key];
    if (v === undefined || v === null) {
      if (fallback === undefined) throw new CheckpointError(file, `missing required key "${key}"`);
      return fallback;
    }
    return v;
  };
  return {
    int(key: string, fallback?: number): number {
      const v = value(key, fallback);
      if (!Number.isInteger(v) || (v as number) <= 0)
        throw new CheckpointError(file, `"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
      return v as number;
    },
    num(key: string, fallback?: number): number {
      const v = value(key, fallback);
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
        throw new CheckpointError(file, `"${key}" must be a positive number, got ${JSON.stringify(v)}`);
      return v;
    },
    bool(key: string, fallback?: boolean): boolean {
      const v = value(key, fallback);
      if (typeof v !== 'boolean') throw new CheckpointError(file, `"${key}" must be true or false`);
      return v;
    },
  };
}
