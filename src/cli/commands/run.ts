/**
 * `pixtral run [--model DIR] [--image PATH_OR_URL ...] [--file DOC ...] [--system STR] [--json] "prompt"`: one chat turn,
 * streamed to stdout as it is generated (or printed whole with usage under --json).
 */
import { DEFAULT_TEMPERATURE, validateCompletionRequest } from '../../chat/completion-request.js';
import { documentPrompt, readDocument } from '../../documents/read-document.js';
import { parseCommandArgs } from '../args.js';
import { formatCount } from '../format.js';
import { BACKEND_OPTIONS } from '../backend-options.js';
import { cliImageFetcher, imageUrl } from '../image-input.js';
import type { CliIO } from '../io.js';
import { loadLocalEngine } from '../local-engine.js';
import { numberOption } from '../options.js';
import { MODEL_OPTIONS } from '../model-option.js';
import { usageBody } from '../../server/completion-format.js';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      model: { type: 'string' },
      image: { type: 'string', multiple: true },
      file: { type: 'string', multiple: true },
      system: { type: 'string' },
      json: { type: 'boolean' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
      stop: { type: 'string', multiple: true },
      ...BACKEND_OPTIONS,
      ...MODEL_OPTIONS,
    },
    { min: 1, max: 1, names: 'the prompt' },
  );
  const content: unknown[] = [];
  for (const image of values.image ?? [])
    content.push({ type: 'image_url', image_url: await imageUrl(image) });
  const documents = await Promise.all((values.file ?? []).map(readDocument));
  content.push({ type: 'text', text: documentPrompt(documents, positionals[0]!) });
  const messages: unknown[] = [];
  if (values.system) messages.push({ role: 'system', content: values.system });
  messages.push({ role: 'user', content });
  // The command line becomes an ordinary chat-completion request, validated like any other.
  const request = validateCompletionRequest({
    messages,
    temperature: numberOption(values.temperature, 'temperature', DEFAULT_TEMPERATURE, 0, 2),
    top_p: numberOption(values['top-p'], 'top-p', 1, 0, 1),
    max_tokens: numberOption(values['max-tokens'], 'max-tokens', 512, 1, 1 << 20),
    ...(values.seed !== undefined && { random_seed: numberOption(values.seed, 'seed', 0, 0, 2 ** 53) }),
    ...(values.stop && { stop: values.stop }),
  });

  const engine = await loadLocalEngine(values, io);

  for (const doc of documents)
    io.err(
      `${doc.name} is ${formatCount(engine.tokenizer.encode(doc.text).length)} tokens of your ${formatCount(engine.maxContext)}-token context`,
    );
  const prompt = await engine.prepare(request, cliImageFetcher);
  const started = Date.now();
  let done;
  try {
    for await (const event of engine.generate(prompt)) {
      if (event.type === 'text' && !values.json) process.stdout.write(event.text);
      if (event.type === 'done') done = event;
    }
  } finally {
    await engine.close();
  }
  if (!done) return 1;
  if (values.json) {
    io.out(
      JSON.stringify(
        {
          model: engine.id,
          backend: engine.settings.backend,
          content: done.text,
          tool_calls: done.toolCalls,
          finish_reason: done.finishReason,
          usage: usageBody(done.usage),
          seconds: (Date.now() - started) / 1000,
        },
        null,
        2,
      ),
    );
  } else process.stdout.write('\n');
  return 0;
}
