/**
 * The conversation of `pixtral chat`, kept as the messages of a Mistral chat-completion request — so `/save`
 * writes a request any client can send, `/load` reads one, and every turn is validated like an API request.
 * Images and documents attached with /image and /file ride on the next user message.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { validateCompletionRequest } from '../../chat/completion-request.js';
import { ChatValidationError } from '../../chat/validation-error.js';
import { type AttachedDocument, documentPrompt } from '../../documents/read-document.js';
import { CliError } from '../errors.js';

type Chunk = { type: 'text'; text: string } | { type: 'image_url'; image_url: string };
export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string | Chunk[] }
  | { role: 'assistant'; content: string };

export interface GenerationSettings {
  readonly temperature: number;
  readonly top_p: number;
  readonly max_tokens?: number;
}

export class Conversation {
  private system: string | null = null;
  private messages: ChatMessage[] = [];
  private images: string[] = [];
  private documents: AttachedDocument[] = [];

  constructor(private readonly settings: GenerationSettings) {}

  /** Pending attachments, for the prompt line ("2 images, 1 document attached"). */
  get attached(): { images: number; documents: number } {
    return { images: this.images.length, documents: this.documents.length };
  }

  get turns(): number {
    return this.messages.filter((m) => m.role === 'user').length;
  }

  setSystem(text: string | null): void {
    this.system = text && text.trim() ? text : null;
  }

  attachImage(url: string): void {
    this.images.push(url);
  }

  attachDocument(doc: AttachedDocument): void {
    this.documents.push(doc);
  }

  reset(): void {
    this.messages = [];
    this.images = [];
    this.documents = [];
  }

  /** Adds the user's message (with what was attached) and returns the request to send. */
  ask(text: string): unknown {
    const body = documentPrompt(this.documents, text);
    const content: string | Chunk[] =
      this.images.length === 0
        ? body
        : [
            ...this.images.map((url): Chunk => ({ type: 'image_url', image_url: url })),
            { type: 'text', text: body },
          ];
    this.messages.push({ role: 'user', content });
    this.images = [];
    this.documents = [];
    return this.request();
  }

  /** The answer to the last question; an answer cut short (Ctrl-C) is kept as far as it was shown. */
  answered(text: string): void {
    if (text) this.messages.push({ role: 'assistant', content: text });
    else this.messages.pop(); // nothing was said: the question goes too, so turns keep alternating
  }

  /** The whole conversation as a chat-completion request body. */
  request(): Record<string, unknown> {
    const messages: ChatMessage[] = this.system
      ? [{ role: 'system', content: this.system }, ...this.messages]
      : this.messages;
    return { messages, ...this.settings };
  }

  async save(path: string): Promise<void> {
    await writeFile(path, `${JSON.stringify(this.request(), null, 2)}\n`);
  }

  /** Replaces the conversation with the messages of a saved request (checked as the API checks requests). */
  async load(path: string): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw new CliError(
        `cannot load ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    try {
      // A saved conversation ends with the assistant's answer: it is checked as the request of the next turn.
      const messages = (body as { messages?: unknown }).messages;
      const next = Array.isArray(messages) ? [...messages, { role: 'user', content: '…' }] : messages;
      validateCompletionRequest({ ...(body as object), messages: next });
    } catch (err) {
      if (err instanceof ChatValidationError)
        throw new CliError(`${path} is not a chat-completion request: ${err.message}`);
      throw err;
    }
    const messages = (body as { messages: ChatMessage[] }).messages;
    this.reset();
    this.system = null;
    for (const m of messages) {
      if (m.role === 'system') this.system = typeof m.content === 'string' ? m.content : this.system;
      else if (m.role === 'user' || m.role === 'assistant') this.messages.push(m);
    }
  }
}
