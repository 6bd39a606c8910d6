/**
 * PDFs through pdfjs-dist (its legacy build is the one for Node): pages as PNG images (drawn on @napi-rs/canvas,
 * a prebuilt binary) for the vision model, and their text for documents attached to a prompt. Loaded only when
 * a PDF is among the inputs.
 */
import { readFile } from 'node:fs/promises';
import { CliError } from '../cli/errors.js';

/** Pages are rendered at 150 DPI: small print stays legible and a letter page is ~1275×1650 pixels. */
export const PDF_DPI = 150;
const POINTS_PER_INCH = 72;

type PdfDocument = Awaited<
  ReturnType<typeof import('pdfjs-dist/legacy/build/pdf.mjs').getDocument>['promise']
>;

async function openPdf(path: string): Promise<PdfDocument> {
  let pdfjs;
  try {
    pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  } catch (err) {
    throw new CliError(`cannot read PDFs here: pdfjs-dist does not load (${(err as Error).message})`);
  }
  const data = new Uint8Array(await readFile(path));
  // No font loading from the network or the system: pdfjs draws the standard fonts with its built-in glyphs.
  return pdfjs.getDocument({ data, verbosity: 0, isEvalSupported: false, useSystemFonts: false }).promise;
}

export async function pdfPageCount(path: string): Promise<number> {
  const doc = await openPdf(path);
  try {
    return doc.numPages;
  } finally {
    await doc.destroy();
  }
}

/** Page `number` (from 1) as PNG bytes. */
export async function renderPdfPage(path: string, number: number, dpi = PDF_DPI): Promise<Buffer> {
  const doc = await openPdf(path);
  try {
    const page = await doc.getPage(number);
    const viewport = page.getViewport({ scale: dpi / POINTS_PER_INCH });
    // pdfjs types its canvas factory as Object; in Node it is the @napi-rs/canvas one.
    const factory = doc.canvasFactory as {
      create(w: number, h: number): { canvas: unknown; context: unknown };
    };
    const { canvas, context } = factory.create(Math.ceil(viewport.width), Math.ceil(viewport.height));
    type RenderParameters = Parameters<typeof page.render>[0];
    await page.render({
      canvasContext: context as RenderParameters['canvasContext'],
      viewport,
      canvas: canvas as RenderParameters['canvas'],
    }).promise;
    return (canvas as unknown as { toBuffer(mime: 'image/png'): Buffer }).toBuffer('image/png');
  } finally {
    await doc.destroy();
  }
}

/** The text of every page, in reading order as pdfjs gives it; pages separated by a blank line. */
export async function pdfText(path: string): Promise<string> {
  const doc = await openPdf(path);
  try {
    const pages: string[] = [];
    for (let number = 1; number <= doc.numPages; number++) {
      const content = await (await doc.getPage(number)).getTextContent();
      let text = '';
      for (const item of content.items) {
        if (!('str' in item)) continue;
        text += item.str + (item.hasEOL ? '\n' : '');
      }
      pages.push(text.trim());
    }
    return pages.join('\n\n');
  } finally {
    await doc.destroy();
  }
}
