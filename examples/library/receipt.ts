/**
 * Extract a receipt into a typed object: the zod schema becomes the output grammar (the model can only write
 * a document of that shape) and `json()` returns the parsed, checked, typed value.
 *   npx tsx examples/library/receipt.ts RECEIPT.jpg [MODEL]
 */
import { loadModel, OutputParseError } from 'pixtral-ts';
import { z } from 'zod';

const Receipt = z.object({
  merchant: z.string().max(60),
  date: z.string().describe('YYYY-MM-DD'),
  currency: z.enum(['EUR', 'USD', 'GBP']),
  items: z.array(z.object({ name: z.string().max(60), cents: z.number().int() })).max(30),
  totalCents: z.number().int(),
});
type Receipt = z.infer<typeof Receipt>;

const model = await loadModel(process.argv[3]);
try {
  const receipt: Receipt = await model
    .chat({
      messages: 'Extract this receipt. Amounts in cents.',
      images: [process.argv[2] ?? new URL('../shapes.png', import.meta.url)],
      responseFormat: Receipt,
      temperature: 0,
      maxTokens: 800,
    })
    .json();
  console.log(receipt.merchant, receipt.totalCents / 100, receipt.currency);
} catch (err) {
  // An answer cut short by maxTokens is not a complete document.
  if (err instanceof OutputParseError) console.error(err.message, err.text);
  else throw err;
} finally {
  await model.close();
}
