/**
 * Engine benchmark on the reference backend: prefill tokens/s, decode tokens/s and vision-encode time, for the
 * fixture model and for a model with Pixtral-12B's real widths but only a few layers (random weights made in
 * memory). These figures are the baseline the fast backend is measured against.
 *
 *   npm run bench -- engine [--layers=1] [--prompt=64] [--decode=8] [--image=512] [--fixture=DIR]
 *                           [--backend=reference|native|auto] [--quant=none|q8|q4]
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ReferenceBackend } from '../../backend/reference/reference-backend.js';
import type { Quantization } from '../../backend/native/native-weight.js';
import { type BackendChoice, selectBackend } from '../../backend/select.js';
import type { Backend } from '../../backend/types.js';
import { Checkpoint, pixtral12bConfig, SyntheticWeights, type WeightSource } from '../../checkpoint/index.js';
import { prefillPrompt, stepToken } from '../../engine/probes.js';
import { argmax } from '../../generate/sampler.js';
import { PixtralModel } from '../../model/pixtral.js';
import { mulberry32 } from './corpus.js';

interface Figures {
  model: string;
  load_s: number;
  prefill_tokens: number;
  prefill_tok_s: number;
  decode_tokens: number;
  decode_tok_s: number;
  image: string;
  vision_s: number;
}

function option(args: string[], name: string, fallback: number): number {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.slice(name.length + 3)) : fallback;
}

function measure(
  name: string,
  source: WeightSource,
  backend: Backend,
  prompt: number,
  decode: number,
  imageSide: number,
): Figures {
  let started = performance.now();
  const model = PixtralModel.fromCheckpoint(source, backend);
  const loadS = (performance.now() - started) / 1000;

  const random = mulberry32(5);
  const ids = [1, 3, ...Array.from({ length: prompt - 2 }, () => 1000 + Math.floor(random() * 120000))];
  started = performance.now();
  const prefilled = prefillPrompt(model, ids, [], decode);
  const { cache } = prefilled;
  let logits = prefilled.logits;
  const prefillS = (performance.now() - started) / 1000;

  started = performance.now();
  for (let i = 0; i < decode; i++) logits = stepToken(model, argmax(logits), cache);
  const decodeS = (performance.now() - started) / 1000;
  cache.release();

  const patches = imageSide / 16;
  const pixels = new Float32Array(3 * imageSide * imageSide).map(() => random() * 2 - 1);
  started = performance.now();
  model.imageEmbeddings([{ pixels, rows: patches, cols: patches }]);
  const visionS = (performance.now() - started) / 1000;

  return {
    model: name,
    load_s: loadS,
    prefill_tokens: prompt,
    prefill_tok_s: prompt / prefillS,
    decode_tokens: decode,
    decode_tok_s: decode / decodeS,
    image: `${imageSide}×${imageSide} (${patches * patches} patches)`,
    vision_s: visionS,
  };
}

export async function run(args: string[]): Promise<void> {
  const layers = option(args, 'layers', 1);
  const prompt = option(args, 'prompt', 64);
  const decode = option(args, 'decode', 4);
  const imageSide = option(args, 'image', 512);
  const fixtureArg = args.find((a) => a.startsWith('--fixture='))?.slice(10);
  const fixture = resolve(fixtureArg ?? '../shared/fixtures/tiny-pixtral');
  const choice = (args.find((a) => a.startsWith('--backend='))?.slice(10) ?? 'reference') as BackendChoice;
  const quant = (args.find((a) => a.startsWith('--quant='))?.slice(8) ?? 'none') as Quantization;
  const backend =
    choice === 'reference' && quant === 'none'
      ? new ReferenceBackend()
      : selectBackend({ backend: choice, quant });
  const rows: Figures[] = [];

  const fixtureModel = join(fixture, 'model-consolidated');
  if (existsSync(fixtureModel)) {
    const checkpoint = Checkpoint.open(fixtureModel);
    rows.push(measure('fixture (tiny-pixtral)', checkpoint, backend, prompt, 32, imageSide));
    checkpoint.close();
  } else console.log(`(no fixture model at ${fixtureModel}; skipping it)`);

  const config = pixtral12bConfig(layers, layers);
  rows.push(
    measure(
      `12B widths, ${layers} decoder + ${layers} vision layer(s)`,
      new SyntheticWeights(config),
      backend,
      prompt,
      decode,
      imageSide,
    ),
  );

  console.log(`engine benchmark — backend ${backend.name}, node ${process.version}`);
  console.table(
    rows.map((r) => ({
      model: r.model,
      'load s': r.load_s.toFixed(2),
      [`prefill ${prompt} tok/s`]: r.prefill_tok_s.toFixed(2),
      'decode tok/s': r.decode_tok_s.toFixed(3),
      [`vision ${imageSide}² s`]: r.vision_s.toFixed(2),
    })),
  );
  console.log(
    'vision time covers the encoder layers given plus the adapter (5120-wide, the larger part at 1 layer).',
  );
}
