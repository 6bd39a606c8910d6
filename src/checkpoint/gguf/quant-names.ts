/**
 * GGUF quantization names as llama.cpp's files spell them in their file names (`pixtral-12b-Q4_K_M.gguf`,
 * `model-Q8_0.gguf`): which quant a file is, and which files of a folder or repository are a given one.
 */

/** A quantization name (Q4_K_M, Q8_0, IQ4_XS, F16, BF16, F32). */
export const GGUF_QUANT = /^(I?Q\d[\w]*|F16|BF16|F32)$/i;

export const isProjectorFile = (name: string) => /mmproj/i.test(name);
const isGgufFile = (name: string) => name.toLowerCase().endsWith('.gguf');

/** The quantization a text-model file name carries, or undefined. */
export function quantOfFile(name: string): string | undefined {
  return /[-._]((?:I?Q\d\w*)|F16|BF16|F32)\.gguf$/i.exec(name)?.[1];
}

/** The text-model GGUF files among `names` that are quantization `quant` (case-insensitive). */
export function textFilesOfQuant(names: readonly string[], quant: string): string[] {
  const pattern = new RegExp(`(^|[^A-Za-z0-9])${quant.replace(/[^\w]/g, '')}([^A-Za-z0-9]|$)`, 'i');
  return names.filter((n) => isGgufFile(n) && !isProjectorFile(n) && pattern.test(n)).sort();
}

/** The quantizations the text-model GGUF files among `names` come in. */
export function quantsOf(names: readonly string[]): string[] {
  const found = names
    .filter((n) => isGgufFile(n) && !isProjectorFile(n))
    .map(quantOfFile)
    .filter((q): q is string => q !== undefined);
  return [...new Set(found)].sort();
}
