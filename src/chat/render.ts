/**
 * Instruct-v3 prompt rendering (spec §8.6; mistral-common `InstructTokenizerV3.encode_instruct`): a
 * normalised {@link Conversation} → prompt token ids, generation starting right after the last id.
 *
 * Images are not decoded here: the caller decodes the images named by `imageUrlsInPromptOrder(conv)` and
 * passes their patch grids in that same order; the renderer only lays out their tokens.
 */
import { SpecialId, type Tokenizer } from '../tokenizer/index.js';
import { imageTokenLayout, type ImageGrid } from './image-tokens.js';
import type { AssistantTurn, Conversation, ToolTurn, UserTurn } from './normalize.js';
import { toolCallsJson, toolResultJson, toolsJson } from './payloads.js';
import { chunksInPromptOrder } from './prompt-order.js';

/** All the renderer needs from a tokenizer: plain text → ids (no BOS/EOS, never control ids). */
export type ChatTokenizer = Pick<Tokenizer, 'encode'>;

export interface RenderedPrompt {
  ids: number[];
  /** How many images were laid out (always `imageGrids.length`). */
  images: number;
}

class Renderer {
  readonly ids: number[] = [SpecialId.BOS];
  private nextImage = 0;

  constructor(
    private readonly conv: Conversation,
    private readonly tok: ChatTokenizer,
    private readonly grids: readonly ImageGrid[],
  ) {}

  text(s: string): void {
    for (const id of this.tok.encode(s)) this.ids.push(id);
  }

  image(): void {
    const grid = this.grids[this.nextImage];
    if (grid === undefined) {
      throw new RangeError(`prompt has more images than the ${this.grids.length} patch grid(s) given`);
    }
    this.nextImage++;
    for (const id of imageTokenLayout(grid.rows, grid.cols)) this.ids.push(id);
  }

  /** The tools and the system prompt ride on the LAST user message only (they move forward every turn). */
  user(m: UserTurn, isLastUser: boolean): void {
    const { tools, system } = this.conv;
    if (isLastUser && tools.length > 0) {
      this.ids.push(SpecialId.AVAILABLE_TOOLS);
      this.text(toolsJson(tools));
      this.ids.push(SpecialId.AVAILABLE_TOOLS_END);
    }
    this.ids.push(SpecialId.INST);
    const sys = isLastUser && system ? system : null;
    if (typeof m.content === 'string') {
      // One string: the system prompt and the message are encoded together (BPE may merge across "\n\n").
      this.text(sys ? `${sys}\n\n${m.content}` : m.content);
    } else {
      // Chunks: the system prompt is its own piece, before the first chunk whatever its type.
      if (sys) this.text(`${sys}\n\n`);
      for (const c of chunksInPromptOrder(m.content)) {
        if (c.type === 'text') this.text(c.text);
        else this.image();
      }
    }
    this.ids.push(SpecialId.INST_END);
  }

  assistant(m: AssistantTurn, isLast: boolean): void {
    if (m.toolCalls.length > 0) {
      this.ids.push(SpecialId.TOOL_CALLS);
      this.text(toolCallsJson(m.toolCalls));
    } else if (m.content) {
      // Only U+0020 is stripped (Python `rstrip(" ")`), and only on the right.
      this.text(m.content.replace(/ +$/, ''));
    } else {
      throw new Error('assistant message without content or tool calls'); // the validator prevents it
    }
    const continued = m.prefix || (isLast && this.conv.continueFinalMessage);
    if (!continued) this.ids.push(SpecialId.EOS);
  }

  tool(m: ToolTurn): void {
    this.ids.push(SpecialId.TOOL_RESULTS);
    this.text(toolResultJson(m));
    this.ids.push(SpecialId.TOOL_RESULTS_END);
  }

  run(): RenderedPrompt {
    const msgs = this.conv.messages;
    let lastUser = -1;
    msgs.forEach((m, i) => {
      if (m.role === 'user') lastUser = i;
    });
    msgs.forEach((m, i) => {
      if (m.role === 'user') this.user(m, i === lastUser);
      else if (m.role === 'assistant') this.assistant(m, i === msgs.length - 1);
      else this.tool(m);
    });
    if (this.nextImage !== this.grids.length) {
      throw new RangeError(
        `${this.grids.length} patch grid(s) given for ${this.nextImage} image(s) in the prompt`,
      );
    }
    return { ids: this.ids, images: this.nextImage };
  }
}

/**
 * Renders the prompt ids. `imageGrids[k]` is the patch grid of the k-th image in prompt order
 * (`imageUrlsInPromptOrder(conv)[k]`); the count must match exactly.
 */
export function renderPrompt(
  conv: Conversation,
  tokenizer: ChatTokenizer,
  imageGrids: readonly ImageGrid[] = [],
): RenderedPrompt {
  return new Renderer(conv, tokenizer, imageGrids).run();
}
