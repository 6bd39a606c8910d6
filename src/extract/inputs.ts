/**
 * The command line's INPUTS as the units a batch works through: an image file is one input, a folder is its
 * images and PDFs (sorted, not recursive), a PDF is one input per page. Each has the source name written on
 * its rows — the path, and `#page=N` for a PDF page — which is also how a rerun recognises it as done.
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import type { ImageSource } from '../library/images.js';
import { pdfPageCount, renderPdfPage } from '../documents/pdf.js';

export interface ExtractInput {
  readonly source: string;
  /** The image (a path, or a rendered page's PNG bytes), read or rendered when its turn comes. */
  image(): Promise<ImageSource>;
}

/** An input that could not even be listed (an unreadable PDF): it goes to the errors file. */
export interface InputFailure {
  readonly source: string;
  readonly reason: string;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.bmp']);

export async function listInputs(
  paths: readonly string[],
): Promise<{ inputs: ExtractInput[]; failures: InputFailure[] }> {
  const inputs: ExtractInput[] = [];
  const failures: InputFailure[] = [];
  for (const path of await expandFolders(paths)) {
    if (extname(path).toLowerCase() !== '.pdf') {
      inputs.push({ source: path, image: async () => (isTiff(path) ? tiffToPng(path) : path) });
      continue;
    }
    let pages: number;
    try {
      pages = await pdfPageCount(path);
    } catch (err) {
      failures.push({ source: path, reason: `not a readable PDF: ${(err as Error).message}` });
      continue;
    }
    for (let page = 1; page <= pages; page++)
      inputs.push({
        source: `${path}#page=${page}`,
        image: () => renderPdfPage(path, page),
      });
  }
  return { inputs, failures };
}

/** Files stay as named (whatever their extension: the model says if it is not an image). */
async function expandFolders(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    if (!(await stat(path)).isDirectory()) {
      files.push(path);
      continue;
    }
    const names = (await readdir(path)).sort();
    for (const name of names) {
      const ext = extname(name).toLowerCase();
      if (ext === '.pdf' || IMAGE_EXTENSIONS.has(ext)) files.push(join(path, name));
    }
  }
  return files;
}

/** The model reads PNG, JPEG, WebP, GIF and BMP; a scan's TIFF (its first page) is converted to PNG here. */
function isTiff(path: string): boolean {
  return /^\.tiff?$/i.test(extname(path));
}

function tiffToPng(path: string): Promise<Buffer> {
  return sharp(path, { page: 0 }).png().toBuffer();
}
