/**
 * Pixtral's tensors in GGUF as llama.cpp's converter names them: the text model as a `llama` architecture file
 * (`token_embd`, `blk.N.attn_q`, …) and the vision encoder and adapter as a `clip` mmproj file (`v.patch_embd`,
 * `v.blk.N.attn_q`, `mm.1`, …). Query and key rows keep the Mistral layout (interleaved RoPE pairs): the
 * converter permutes only Hugging Face checkpoints into it, so no permutation is needed here.
 */
export type GgufPart = 'text' | 'mmproj';

const TEXT_LAYER: Record<string, string> = {
  'attention_norm.weight': 'attn_norm.weight',
  'attention.wq.weight': 'attn_q.weight',
  'attention.wk.weight': 'attn_k.weight',
  'attention.wv.weight': 'attn_v.weight',
  'attention.wo.weight': 'attn_output.weight',
  'ffn_norm.weight': 'ffn_norm.weight',
  'feed_forward.w1.weight': 'ffn_gate.weight',
  'feed_forward.w2.weight': 'ffn_down.weight',
  'feed_forward.w3.weight': 'ffn_up.weight',
};
const TEXT_TOP: Record<string, string> = {
  'tok_embeddings.weight': 'token_embd.weight',
  'norm.weight': 'output_norm.weight',
  'output.weight': 'output.weight',
};
const VISION_LAYER: Record<string, string> = {
  'attention_norm.weight': 'ln1.weight',
  'attention.wq.weight': 'attn_q.weight',
  'attention.wk.weight': 'attn_k.weight',
  'attention.wv.weight': 'attn_v.weight',
  'attention.wo.weight': 'attn_out.weight',
  'ffn_norm.weight': 'ln2.weight',
  'feed_forward.w1.weight': 'ffn_gate.weight',
  'feed_forward.w2.weight': 'ffn_down.weight',
  'feed_forward.w3.weight': 'ffn_up.weight',
};
const VISION_TOP: Record<string, string> = {
  'vision_encoder.patch_conv.weight': 'v.patch_embd.weight',
  'vision_encoder.ln_pre.weight': 'v.pre_ln.weight',
  'vision_language_adapter.w_in.weight': 'mm.1.weight',
  'vision_language_adapter.w_in.bias': 'mm.1.bias',
  'vision_language_adapter.w_out.weight': 'mm.2.weight',
  'vision_language_adapter.w_out.bias': 'mm.2.bias',
};
/** The [IMG_BREAK] row of the token embeddings, which the mmproj carries for llama.cpp's image layout. */
export const IMG_BREAK_TENSOR = 'v.token_embd.img_break';

const invert = (map: Record<string, string>) =>
  Object.fromEntries(Object.entries(map).map(([a, b]) => [b, a]));
const TEXT_LAYER_BACK = invert(TEXT_LAYER);
const TEXT_TOP_BACK = invert(TEXT_TOP);
const VISION_LAYER_BACK = invert(VISION_LAYER);
const VISION_TOP_BACK = invert(VISION_TOP);

/** The GGUF file and name of an internal (Mistral) tensor name, or null for a name GGUF has no place for. */
export function ggufName(internal: string): { part: GgufPart; name: string } | null {
  if (TEXT_TOP[internal]) return { part: 'text', name: TEXT_TOP[internal] };
  if (VISION_TOP[internal]) return { part: 'mmproj', name: VISION_TOP[internal] };
  let m = /^layers\.(\d+)\.(.+)$/.exec(internal);
  if (m && TEXT_LAYER[m[2]!]) return { part: 'text', name: `blk.${m[1]}.${TEXT_LAYER[m[2]!]}` };
  m = /^vision_encoder\.transformer\.layers\.(\d+)\.(.+)$/.exec(internal);
  if (m && VISION_LAYER[m[2]!]) return { part: 'mmproj', name: `v.blk.${m[1]}.${VISION_LAYER[m[2]!]}` };
  return null;
}

/** The internal name of a tensor of a GGUF part, or null for one Pixtral does not use. */
export function internalName(part: GgufPart, name: string): string | null {
  if (part === 'text') {
    if (TEXT_TOP_BACK[name]) return TEXT_TOP_BACK[name];
    const m = /^blk\.(\d+)\.(.+)$/.exec(name);
    return m && TEXT_LAYER_BACK[m[2]!] ? `layers.${m[1]}.${TEXT_LAYER_BACK[m[2]!]}` : null;
  }
  if (VISION_TOP_BACK[name]) return VISION_TOP_BACK[name];
  const m = /^v\.blk\.(\d+)\.(.+)$/.exec(name);
  return m && VISION_LAYER_BACK[m[2]!]
    ? `vision_encoder.transformer.layers.${m[1]}.${VISION_LAYER_BACK[m[2]!]}`
    : null;
}
