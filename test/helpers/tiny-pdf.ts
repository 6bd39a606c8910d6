/** A hand-written PDF: one page per text, each with the text in Helvetica and a filled rectangle. */
import { pdfString, writePdf } from '../../src/devtools/pdf-writer.js';

export function tinyPdf(texts: readonly string[]): Buffer {
  return writePdf(
    texts.map(
      (text) => `0.2 0.4 0.8 rg 20 20 120 50 re f 0 0 0 rg BT /F1 18 Tf 20 150 Td ${pdfString(text)} Tj ET`,
    ),
    [300, 200],
  );
}
