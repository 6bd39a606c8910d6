/** What a line typed into `pixtral chat` is: a slash command, an image path dragged in, or a message. */
import { existsSync } from 'node:fs';

export type ChatLine =
  | { kind: 'empty' }
  | { kind: 'command'; name: string; argument: string }
  | { kind: 'image'; path: string }
  | { kind: 'message'; text: string };

export const CHAT_COMMANDS: Record<string, string> = {
  '/image PATH|URL': 'attach an image to the next message (or drag the file into the terminal)',
  '/file PATH': 'attach a document (txt, md, html, pdf) to the next message',
  '/system [TEXT]': 'set the system prompt (empty: remove it)',
  '/reset': 'forget the conversation',
  '/save FILE': 'write the conversation as a chat-completion request (JSON)',
  '/load FILE': 'continue a saved conversation',
  '/help': 'this list',
  '/quit': 'leave (or Ctrl-D); Ctrl-C stops an answer',
};

const IMAGE_FILE = /\.(png|jpe?g|webp|gif|bmp|tiff?)$/i;

export function parseChatLine(line: string): ChatLine {
  const text = line.trim();
  if (text === '') return { kind: 'empty' };
  const command = /^(\/[a-z]+)(?:\s+([\s\S]*))?$/.exec(text);
  if (command) return { kind: 'command', name: command[1]!, argument: (command[2] ?? '').trim() };
  // Terminals paste a dragged file as its path: quoted ('…' or "…") or with backslash-escaped spaces.
  const unquoted = text
    .replace(/^'(.*)'$/, '$1')
    .replace(/^"(.*)"$/, '$1')
    .replace(/\\(.)/g, '$1');
  if (IMAGE_FILE.test(unquoted) && existsSync(unquoted)) return { kind: 'image', path: unquoted };
  return { kind: 'message', text: line };
}
