/**
 * A document attached to a prompt (`pixtral run --file DOC`): plain text, Markdown, HTML (reduced to its text)
 * or PDF (the text of its pages). The model reads the text; pictures inside a PDF are not looked at here.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { CliError } from '../cli/errors.js';
import { htmlToText } from './html-text.js';
import { pdfText } from './pdf.js';

export interface AttachedDocument {
  readonly name: string;
  readonly text: string;
}

/** 64 MiB: a whole 128K-token context is well under 1 MiB of text; a bigger file is not a prompt. */
const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;
const TEXT_TYPES = new Set(['.txt', '.text', '.md', '.markdown', '.csv', '.tsv', '.json', '.log', '']);

export async function readDocument(path: string): Promise<AttachedDocument> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new CliError(
      `cannot read document ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if (size > MAX_DOCUMENT_BYTES)
    throw new CliError(`document ${path} is ${size} bytes, over the ${MAX_DOCUMENT_BYTES}-byte limit`);
  const type = extname(path).toLowerCase();
  const name = basename(path);
  if (type === '.pdf') {
    try {
      return { name, text: await pdfText(path) };
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(`cannot read the PDF ${path}: ${(err as Error).message}`);
    }
  }
  const bytes = await readFile(path);
  if (type === '.html' || type === '.htm') return { name, text: htmlToText(decodeText(bytes, path)) };
  if (TEXT_TYPES.has(type)) return { name, text: decodeText(bytes, path) };
  throw new CliError(`document ${path}: unsupported type "${type}" (txt, md, csv, json, html or pdf)`);
}

function decodeText(bytes: Uint8Array, path: string): string {
  if (bytes.includes(0)) throw new CliError(`document ${path} is binary, not text`);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new CliError(`document ${path} is not valid UTF-8 text`);
  }
}

/** How a document is put in front of the question: its name, then its text between fences. */
export function documentPrompt(documents: readonly AttachedDocument[], question: string): string {
  const parts = documents.map((d) => `Document "${d.name}":\n<document>\n${d.text}\n</document>`);
  return [...parts, question].join('\n\n');
}
