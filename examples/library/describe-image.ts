/**
 * Describe an image, streaming the answer as it is generated.
 *   npx tsx examples/library/describe-image.ts [IMAGE] [MODEL]
 * MODEL: a folder, an alias such as pixtral-12b, org/name from the Hugging Face cache, or nothing for the
 * demo model (random weights: it runs everything, but its answers are noise).
 */
import { loadModel } from 'pixtral-ts';

const image = process.argv[2] ?? new URL('../shapes.png', import.meta.url);
const model = await loadModel(process.argv[3], {
  onProgress: (done, total) => process.stderr.write(`\rloading ${done}/${total}`),
});
process.stderr.write('\n');

for await (const event of model.chat({
  messages: 'Describe this picture in two sentences.',
  images: [image],
  temperature: 0,
  maxTokens: 120,
})) {
  if (event.type === 'text') process.stdout.write(event.text);
  if (event.type === 'usage')
    console.error(`\n[${event.usage.promptTokens} + ${event.usage.completionTokens} tokens]`);
}
await model.close();
