/**
 * An application that installed pixtral-ts from its tarball: type-checked against the published types, then
 * run. It prints one JSON line for the test to check.
 */
import { AbortError, loadModel } from 'pixtral-ts';
import { z } from 'zod';

const image = new URL('./node_modules/pixtral-ts/examples/shapes.png', `file://${process.cwd()}/`);
const warnings: string[] = [];
const model = await loadModel(undefined, { onWarning: (line) => warnings.push(line) });

// 1. Stream an answer about an image.
let streamed = '';
let deltas = 0;
for await (const event of model.chat({
  messages: 'What shapes and colours are in this picture?',
  images: [image],
  temperature: 0,
  maxTokens: 12,
})) {
  if (event.type === 'text') {
    streamed += event.text;
    deltas++;
  }
}

// 2. A receipt as a typed object.
const Receipt = z.object({
  merchant: z.enum(['ACME', 'Globex']),
  totalCents: z.number().int(),
  paid: z.boolean(),
});
const receipt: z.infer<typeof Receipt> = await model
  .chat({ messages: 'Extract the receipt.', responseFormat: Receipt, temperature: 0, maxTokens: 200 })
  .json();
const merchant: 'ACME' | 'Globex' = receipt.merchant;

// 3. A generation cancelled with an AbortSignal.
const controller = new AbortController();
let aborted = '';
try {
  for await (const event of model.chat({ messages: 'Talk.', maxTokens: 500, signal: controller.signal }))
    if (event.type === 'text') controller.abort();
} catch (err) {
  if (err instanceof AbortError) aborted = err.code;
  else throw err;
}

await model.close();
console.log(
  JSON.stringify({ backend: model.backend, warnings, deltas, streamed, merchant, receipt, aborted }),
);
