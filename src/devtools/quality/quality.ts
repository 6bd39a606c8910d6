/**
 * How much quantization changes the model: the same fixed prompts (text, and text with an image) are run
 * teacher-forced through a full-precision model and a quantized one, and every position's next-token
 * distribution is compared — top-1 agreement and mean KL(full ‖ quantized).
 */
import type { BackendSpec } from '../../backend/select.js';
import { validateCompletionRequest } from '../../chat/completion-request.js';
import { dataUriFetcher } from '../../engine/fetchers.js';
import { type LoadedModel, loadModel } from '../../engine/load-model.js';
import { preparePrompt, type Prompt } from '../../engine/prepare.js';
import { positionLogits } from '../../engine/probes.js';
import { argmax } from '../../generate/sampler.js';

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
function logProbs({ model }: LoadedModel, prompts: Prompt[]): Float32Array[] {
  return prompts.map((prompt) => {
    const logits = positionLogits(model, prompt.ids, prompt.images);
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

async function preparedPrompts(loaded: LoadedModel, options: QualityOptions): Promise<Prompt[]> {
  const bodies: unknown[] = QUALITY_PROMPTS.map((text) => ({ messages: [{ role: 'user', content: text }] }));
  if (options.imageDataUri && loaded.image)
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
  const rules = { ...loaded, maxContext: loaded.model.config.maxContext };
  return Promise.all(
    bodies.map((body) => preparePrompt(validateCompletionRequest(body), rules, dataUriFetcher())),
  );
}

/**
 * Compares `quantized` against `baseline` on the model at `location`. The two models are loaded one after the
 * other (a 12B model in full precision and a quantized copy need not fit in memory together).
 */
export async function measureQuality(
  location: string,
  baseline: BackendSpec,
  quantized: BackendSpec,
  /** versus: another copy of the model to score instead of `location` itself (a GGUF quantization of it). */
  options: QualityOptions & { onWarning?: (line: string) => void; versus?: string } = {},
): Promise<QualityReport> {
  const hooks = options.onWarning ? { onWarning: options.onWarning } : {};
  const full = loadModel(location, { backend: baseline }, hooks);
  const prompts = await preparedPrompts(full, options);
  const reference = logProbs(full, prompts);
  const candidate = logProbs(loadModel(options.versus ?? location, { backend: quantized }, hooks), prompts);
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
