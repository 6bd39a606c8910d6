/**
 * The control tokens of Tekken v3 (spec §8.2). Ids below `numSpecial` (1000) are control tokens; the chat
 * renderer inserts them, text never produces them.
 */
export const SpecialId = {
  UNK: 0,
  BOS: 1,
  EOS: 2,
  INST: 3,
  INST_END: 4,
  AVAILABLE_TOOLS: 5,
  AVAILABLE_TOOLS_END: 6,
  TOOL_RESULTS: 7,
  TOOL_RESULTS_END: 8,
  TOOL_CALLS: 9,
  IMG: 10,
  PAD: 11,
  IMG_BREAK: 12,
  IMG_END: 13,
  PREFIX: 14,
  MIDDLE: 15,
  SUFFIX: 16,
  SYSTEM_PROMPT: 17,
  SYSTEM_PROMPT_END: 18,
  TOOL_CONTENT: 19,
} as const;

/** Names of the v3 control tokens by id. Ids 20..numSpecial-1 are unused fillers. */
const V3_NAMES: readonly string[] = [
  '<unk>',
  '<s>',
  '</s>',
  '[INST]',
  '[/INST]',
  '[AVAILABLE_TOOLS]',
  '[/AVAILABLE_TOOLS]',
  '[TOOL_RESULTS]',
  '[/TOOL_RESULTS]',
  '[TOOL_CALLS]',
  '[IMG]',
  '<pad>',
  '[IMG_BREAK]',
  '[IMG_END]',
  '[PREFIX]',
  '[MIDDLE]',
  '[SUFFIX]',
  '[SYSTEM_PROMPT]',
  '[/SYSTEM_PROMPT]',
  '[TOOL_CONTENT]',
];

/** The fixed v3 table, used when a tokenizer file carries no explicit `special_tokens` list. */
export function defaultSpecialTokenNames(numSpecial: number): string[] {
  const names: string[] = [];
  for (let id = 0; id < numSpecial; id++) names.push(V3_NAMES[id] ?? `<SPECIAL_${id}>`);
  return names;
}
