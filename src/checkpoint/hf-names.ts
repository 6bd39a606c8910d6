/**
 * Internal (Mistral) tensor name → the names a Hugging Face checkpoint may use for it (spec §2.2).
 * Both the legacy prefixes of the published shards and the newer Transformers prefixes are accepted.
 */
const RULES: ReadonlyArray<[RegExp, string]> = [
  [/^tok_embeddings\.weight$/, 'language_model.model.embed_tokens.weight'],
  [/^norm\.weight$/, 'language_model.model.norm.weight'],
  [/^output\.weight$/, 'language_model.lm_head.weight'],
  [/^layers\.(\d+)\.attention_norm\.weight$/, 'language_model.model.layers.$1.input_layernorm.weight'],
  [/^layers\.(\d+)\.ffn_norm\.weight$/, 'language_model.model.layers.$1.post_attention_layernorm.weight'],
  [
    /^layers\.(\d+)\.attention\.w([qkvo])\.weight$/,
    'language_model.model.layers.$1.self_attn.$2_proj.weight',
  ],
  [/^layers\.(\d+)\.feed_forward\.w1\.weight$/, 'language_model.model.layers.$1.mlp.gate_proj.weight'],
  [/^layers\.(\d+)\.feed_forward\.w2\.weight$/, 'language_model.model.layers.$1.mlp.down_proj.weight'],
  [/^layers\.(\d+)\.feed_forward\.w3\.weight$/, 'language_model.model.layers.$1.mlp.up_proj.weight'],
  [/^vision_encoder\.(patch_conv|ln_pre)\.weight$/, 'vision_tower.$1.weight'],
  [
    /^vision_encoder\.transformer\.layers\.(\d+)\.(attention_norm|ffn_norm)\.weight$/,
    'vision_tower.transformer.layers.$1.$2.weight',
  ],
  [
    /^vision_encoder\.transformer\.layers\.(\d+)\.attention\.w([qkvo])\.weight$/,
    'vision_tower.transformer.layers.$1.attention.$2_proj.weight',
  ],
  [
    /^vision_encoder\.transformer\.layers\.(\d+)\.feed_forward\.w1\.weight$/,
    'vision_tower.transformer.layers.$1.feed_forward.gate_proj.weight',
  ],
  [
    /^vision_encoder\.transformer\.layers\.(\d+)\.feed_forward\.w2\.weight$/,
    'vision_tower.transformer.layers.$1.feed_forward.down_proj.weight',
  ],
  [
    /^vision_encoder\.transformer\.layers\.(\d+)\.feed_forward\.w3\.weight$/,
    'vision_tower.transformer.layers.$1.feed_forward.up_proj.weight',
  ],
  [/^vision_language_adapter\.w_in\.(weight|bias)$/, 'multi_modal_projector.linear_1.$1'],
  [/^vision_language_adapter\.w_out\.(weight|bias)$/, 'multi_modal_projector.linear_2.$1'],
];

/** Newer Transformers releases save the same model under these prefixes. */
const NEW_PREFIXES: ReadonlyArray<[string, string]> = [
  ['language_model.model.', 'model.language_model.'],
  ['language_model.lm_head.', 'lm_head.'],
  ['vision_tower.', 'model.vision_tower.'],
  ['multi_modal_projector.', 'model.multi_modal_projector.'],
];

export function hfNamesFor(internalName: string): string[] {
  for (const [pattern, replacement] of RULES) {
    if (!pattern.test(internalName)) continue;
    const legacy = internalName.replace(pattern, replacement);
    const names = [legacy];
    for (const [oldPrefix, newPrefix] of NEW_PREFIXES)
      if (legacy.startsWith(oldPrefix)) names.push(newPrefix + legacy.slice(oldPrefix.length));
    return names;
  }
  return [];
}
