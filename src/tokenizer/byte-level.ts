/**
 * GPT-2's byte-level alphabet (`bytes_to_unicode`): how Hugging Face `tokenizer.json` files and llama.cpp's GGUF
 * vocabularies spell byte sequences as text. Printable bytes stand for themselves; the other 68 map, in order, to
 * U+0100 onwards (so the space byte is "Ġ").
 */

const printable = (b: number) =>
  (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);

function buildTables(): { charOf: string[]; byteOf: Map<number, number> } {
  const charOf: string[] = [];
  const byteOf = new Map<number, number>();
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const code = printable(b) ? b : next++;
    charOf[b] = String.fromCharCode(code);
    byteOf.set(code, b);
  }
  return { charOf, byteOf };
}

const tables = buildTables();

/** A byte sequence in the byte-level alphabet. */
export function byteLevelString(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += tables.charOf[b];
  return out;
}

/** The bytes a byte-level string spells, or null when it has a character outside the alphabet. */
export function byteLevelBytes(piece: string): Uint8Array | null {
  const bytes = new Uint8Array(piece.length);
  for (let i = 0; i < piece.length; i++) {
    const b = tables.byteOf.get(piece.charCodeAt(i));
    if (b === undefined) return null;
    bytes[i] = b;
  }
  return bytes;
}
