/**
 * The order in which a user message's chunks appear in the prompt, and hence the order in which the caller
 * must decode images and pass their patch grids to the renderer. Both the renderer and
 * {@link imageUrlsInPromptOrder} use {@link chunksInPromptOrder}, so the two cannot disagree.
 */
import type { Conversation, PromptChunk } from './normalize.js';

/**
 * Instruct v3's image-first rule (mistral-common `force_img_first`): a normalised user content of exactly
 * `[text, image]` is rendered `[image, text]` — the model was trained with the image before the question.
 * Normalisation has already merged adjacent texts, so this is the raw `[text…, image]` case; every other
 * order (`[image, image]`, `[text, image, text]`, …) is kept as given.
 */
export function chunksInPromptOrder(content: PromptChunk[]): PromptChunk[] {
  if (content.length === 2 && content[0]!.type === 'text' && content[1]!.type === 'image') {
    return [content[1]!, content[0]!];
  }
  return content;
}

/** Every image URL of the conversation, in the order its tokens appear in the rendered prompt. */
export function imageUrlsInPromptOrder(conv: Conversation): string[] {
  const urls: string[] = [];
  for (const m of conv.messages) {
    if (m.role !== 'user' || typeof m.content === 'string') continue;
    for (const c of chunksInPromptOrder(m.content)) if (c.type === 'image') urls.push(c.url);
  }
  return urls;
}
