/**
 * `pixtral chat [--model NAME|DIR | --url SERVER [--key KEY]]`: a conversation in the terminal — answers streamed
 * as they are written, images and documents attached by slash commands (or an image dragged in), the
 * conversation saved and loaded as a chat-completion request. Ctrl-C stops an answer, Ctrl-D leaves.
 * Line editing and history are Node's readline (arrow keys, Ctrl-A/E/W/U, ↑/↓ through earlier lines).
 */
import { createInterface } from 'node:readline';
import { DEFAULT_TEMPERATURE, validateCompletionRequest } from '../../chat/completion-request.js';
import { readDocument } from '../../documents/read-document.js';
import type { EngineClient } from '../../engine/engine.js';
import { PIXTRAL_12B_NAME } from '../../engine/model-source.js';
import { UpstreamEngine } from '../../server/upstream.js';
import { parseCommandArgs } from '../args.js';
import { BACKEND_OPTIONS } from '../backend-options.js';
import { CHAT_COMMANDS, parseChatLine } from '../chat/chat-line.js';
import { Conversation } from '../chat/conversation.js';
import { UsageError } from '../errors.js';
import { cliImageFetcher, imageUrl } from '../image-input.js';
import type { CliIO } from '../io.js';
import { loadLocalEngine } from '../local-engine.js';
import { MODEL_OPTIONS } from '../model-option.js';
import { numberOption } from '../options.js';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      model: { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
      system: { type: 'string' },
      temperature: { type: 'string' },
      'top-p': { type: 'string' },
      'max-tokens': { type: 'string' },
      ...BACKEND_OPTIONS,
      ...MODEL_OPTIONS,
    },
    { min: 0, max: 0, names: '' },
  );
  if (values.key && !values.url) throw new UsageError('--key goes with --url');
  const maxTokens = values['max-tokens'];
  const conversation = new Conversation({
    temperature: numberOption(values.temperature, 'temperature', DEFAULT_TEMPERATURE, 0, 2),
    top_p: numberOption(values['top-p'], 'top-p', 1, 0, 1),
    ...(maxTokens !== undefined && { max_tokens: numberOption(maxTokens, 'max-tokens', 512, 1, 1 << 20) }),
  });
  if (values.system) conversation.setSystem(values.system);

  const engine = values.url
    ? remoteEngine(values.url, values.model, values.key)
    : await loadLocalEngine(values, io);
  io.err(`${engine.id} (${engine.description}) — /help for commands, Ctrl-C stops an answer, Ctrl-D leaves`);
  try {
    await converse(engine, conversation, io);
  } finally {
    await engine.close({ cancel: true });
  }
  return 0;
}

function remoteEngine(url: string, model: string | undefined, apiKey: string | undefined): EngineClient {
  return new UpstreamEngine({
    url,
    model: model ?? PIXTRAL_12B_NAME,
    ...(apiKey !== undefined && { apiKey }),
  });
}

async function converse(engine: EngineClient, conversation: Conversation, io: CliIO): Promise<void> {
  const terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal, historySize: 1000 });
  let answering: AbortController | null = null;
  const interrupt = () => {
    if (answering) answering.abort(new Error('stopped'));
    else if (terminal) process.stdout.write('\n(Ctrl-D or /quit to leave)\n');
  };
  rl.on('SIGINT', interrupt); // a terminal's Ctrl-C
  process.on('SIGINT', interrupt); // a signal from elsewhere (or Ctrl-C when stdin is not a terminal)
  const prompt = () => {
    if (!terminal) return; // piped input: only the answers on stdout
    const { images, documents } = conversation.attached;
    const pending = [
      images && `${images} image${images > 1 ? 's' : ''}`,
      documents && `${documents} document${documents > 1 ? 's' : ''}`,
    ]
      .filter(Boolean)
      .join(', ');
    rl.setPrompt(pending ? `[${pending}] > ` : '> ');
    rl.prompt();
  };
  try {
    prompt();
    for await (const line of rl) {
      const parsed = parseChatLine(line);
      try {
        if (parsed.kind === 'command') {
          if (parsed.name === '/quit' || parsed.name === '/exit') break;
          await command(parsed.name, parsed.argument, conversation, io);
        } else if (parsed.kind === 'image') {
          conversation.attachImage(await imageUrl(parsed.path));
          io.err(`attached ${parsed.path}`);
        } else if (parsed.kind === 'message') {
          answering = new AbortController();
          await answer(engine, conversation, parsed.text, answering.signal, io);
        }
      } catch (err) {
        // A bad command, file or request is one line; the conversation goes on.
        io.err(`error: ${(err as Error).message}`);
      } finally {
        answering = null;
      }
      prompt();
    }
  } finally {
    process.off('SIGINT', interrupt);
    rl.close();
  }
}

async function command(name: string, argument: string, conversation: Conversation, io: CliIO): Promise<void> {
  const need = (what: string) => {
    if (!argument) throw new UsageError(`${name} needs ${what}`);
    return argument;
  };
  switch (name) {
    case '/image':
      conversation.attachImage(await imageUrl(need('a path or URL')));
      return io.err(`attached ${argument}`);
    case '/file': {
      const doc = await readDocument(need('a path'));
      conversation.attachDocument(doc);
      return io.err(`attached ${doc.name} (${doc.text.length.toLocaleString('en-US')} characters)`);
    }
    case '/system':
      conversation.setSystem(argument || null);
      return io.err(argument ? 'system prompt set' : 'system prompt removed');
    case '/reset':
      conversation.reset();
      return io.err('conversation cleared');
    case '/save':
      await conversation.save(need('a file name'));
      return io.err(`saved ${conversation.turns} turn(s) to ${argument}`);
    case '/load':
      await conversation.load(need('a file name'));
      return io.err(`loaded ${conversation.turns} turn(s) from ${argument}`);
    case '/help':
      return io.err(
        Object.entries(CHAT_COMMANDS)
          .map(([c, what]) => `  ${c.padEnd(18)} ${what}`)
          .join('\n'),
      );
    default:
      throw new UsageError(`unknown command ${name} (/help lists them)`);
  }
}

async function answer(
  engine: EngineClient,
  conversation: Conversation,
  text: string,
  signal: AbortSignal,
  io: CliIO,
): Promise<void> {
  let shown = '';
  const started = Date.now();
  try {
    const prompt = await engine.prepare(validateCompletionRequest(conversation.ask(text)), cliImageFetcher);
    for await (const event of engine.generate(prompt, 0, signal)) {
      if (event.type === 'text') {
        process.stdout.write(event.text);
        shown += event.text;
      } else {
        const seconds = (Date.now() - started) / 1000;
        const { promptTokens, completionTokens } = event.usage;
        process.stdout.write('\n');
        io.err(
          `[${completionTokens} tokens, ${(completionTokens / Math.max(seconds, 1e-3)).toFixed(1)} tok/s · prompt ${promptTokens} tokens · ${event.finishReason}]`,
        );
      }
    }
  } catch (err) {
    if (!signal.aborted) {
      conversation.answered('');
      throw err;
    }
    process.stdout.write('\n');
    io.err('[stopped]');
  }
  conversation.answered(shown);
}
