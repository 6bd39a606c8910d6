/**
 * The embedded demo model: `models/pixtral-demo/` in the package, a 7M-parameter Pixtral (same architecture,
 * same checkpoint layout, a 4096-id Tekken vocabulary) trained on the synthetic pictures of src/demo
 * (`npm run train-demo`). It is what every command and the library use when no model is named.
 */
import { fileURLToPath } from 'node:url';

export const DEMO_MODEL = 'pixtral-demo';

/** The folder of the shipped checkpoint (from dist/src/demo/ three levels up to the package root). */
export function demoModelDir(): string {
  return fileURLToPath(new URL('../../../models/pixtral-demo/', import.meta.url));
}

/** Said once when a command falls back to the demo model. */
export const DEMO_MODEL_NOTICE =
  `no --model given: using the embedded demo model ${DEMO_MODEL} (a tiny Pixtral trained on synthetic shapes, ` +
  'words and receipts); run "pixtral pull pixtral-12b" and pass --model pixtral-12b for the real one';
