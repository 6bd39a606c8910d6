/**
 * How much quantization changes the model: the same fixed prompts (text, and text with an image) are run
 * teacher-forced through a full-precision model and a quantized one, and every position's next-token
 * distribution is compared — top-1 agreement and mean KL(full ‖ quantized).
 */
import type { Backend } from '../backend/types.js';
import { Engine } from '../engine/engine.js';
import { dataUriFetcher } from '../engine/fetchers.js';
import type { PreparedPrompt } from '../engine/prepare.js';

export interface QualityReport {
  readonly positions: number;
  readonly top1Agreement: number;
  readonly meanKl: number;
  readonly maxKl: number;
}

/** A fixed set: chat, code, numbers, several languages, and two image questions. */
export const QUALITY_PROMPTS: readonly string[] = [
  'Explain in two sentences why the sky is blue.',
  'def fibonacci(n):\n    """Return the n-th Fibonacci number."""',
  'The invoice total is 1,284.50 EUR including 19% VAT. What is the net amount?',
  'Traduis en anglais : « Le chat dort sur le canapé depuis ce matin. »',
  'Schreibe eine kurze Zusammenfassung über die Geschichte Berlins.',
  'List three differences between TCP and UDP.',
];

export interface QualityOptions {
  /** An image (data URI) asked about in two extra prompts, when the model has a vision encoder. */
  readonly imageDataUri?: string;
}

/** Log-softmax of every position's logits for the prompts, as one array per prompt. */
async function logProbs(engine: Engine, prompts: PreparedPrompt[]): Promise<Float32Array[]> {
  return prompts.map((prompt) => {
    const model = engine.model;
    const cache = model.newCache(prompt.ids.length);
    const imageRows = prompt.images.length > 0 ? model.imageEmbeddings(prompt.images) : undefined;
    const hidden = model.decoder.forward(
      model.decoder.embed(prompt.ids, model.imageTokenId, imageRows),
      cache,
    );
    cache.release();
    const logits = model.decoder.logitsAll(hidden);
    const vocab = logits.shape[1]!;
    for (let t = 0; t < prompt.ids.length; t++)
      logSoftmaxInPlace(logits.data.subarray(t * vocab, (t + 1) * vocab));
    return logits.data;
  });
}

function logSoftmaxInPlace(row: Float32Array): void {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < row.length; i++) row[i] = row[i]! - lse;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

async function preparedPrompts(engine: Engine, options: QualityOptions): Promise<PreparedPrompt[]> {
  const bodies: unknown[] = QUALITY_PROMPTS.map((text) => ({ messages: [{ role: 'user', content: text }] }));
  if (options.imageDataUri && engine.model.vision)
    for (const question of ['Describe this image.', 'What colours do you see, and where?'])
      bodies.push({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: options.imageDataUri },
              { type: 'text', text: question },
            ],
          },
        ],
      });
  return Promise.all(bodies.map((body) => engine.prepare(body, dataUriFetcher())));
}

/**
 * Compares `quantized` against `baseline` on the model at `location`. The two models are loaded one after the
 * other (a 12B model in full precision and a quantized copy need not fit in memory together).
 */
export async function measureQuality(
  location: string,
  baseline: () => Backend,
  quantized: () => Backend,
  options: QualityOptions = {},
): Promise<QualityReport> {
  let engine = Engine.load(location, { backend: baseline() });
  const prompts = await preparedPrompts(engine, options);
  const reference = await logProbs(engine, prompts);
  engine = Engine.load(location, { backend: quantized() });
  const candidate = await logProbs(engine, prompts);
  const vocab = reference[0]!.length / prompts[0]!.ids.length;
  let positions = 0;
  let agree = 0;
  let klSum = 0;
  let klMax = 0;
  prompts.forEach((prompt, p) => {
    for (let t = 0; t < prompt.ids.length; t++) {
      const a = reference[p]!.subarray(t * vocab, (t + 1) * vocab);
      const b = candidate[p]!.subarray(t * vocab, (t + 1) * vocab);
      if (argmax(a) === argmax(b)) agree++;
      let kl = 0;
      for (let i = 0; i < vocab; i++) kl += Math.exp(a[i]!) * (a[i]! - b[i]!);
      klSum += kl;
      klMax = Math.max(klMax, kl);
      positions++;
    }
  });
  return { positions, top1Agreement: agree / positions, meanKl: klSum / positions, maxKl: klMax };
}
