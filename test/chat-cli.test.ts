/** `pixtral chat`: a conversation on stdin, answers on stdout, attachments, save/load, Ctrl-C stops an answer. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { validateCompletionRequest } from '../src/chat/completion-request.js';
import { scratchDir } from './helpers/scratch.js';

const scratch = scratchDir('pixtral-chat-');

interface Session {
  write(line: string): void;
  end(): void;
  /** Resolves once stderr (or stdout) has shown `pattern`. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp): Promise<void>;
  signal(name: NodeJS.Signals): void;
  done: Promise<{ status: number | null; stdout: string; stderr: string }>;
}

function chat(args: string[]): Session {
  const child = spawn(process.execPath, [resolve('bin/pixtral.js'), 'chat', ...args], {
    env: { ...process.env, PIXTRAL_DEBUG: '' },
  });
  const out = { stdout: '', stderr: '' };
  const waiters: { stream: 'stdout' | 'stderr'; pattern: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters])
      if (w.pattern.test(out[w.stream])) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  };
  child.stdout.on('data', (d: Buffer) => ((out.stdout += d.toString()), check()));
  child.stderr.on('data', (d: Buffer) => ((out.stderr += d.toString()), check()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return {
    write: (line) => child.stdin.write(`${line}\n`),
    end: () => child.stdin.end(),
    waitFor: (stream, pattern) =>
      new Promise((resolveWait) => (waiters.push({ stream, pattern, resolve: resolveWait }), check())),
    signal: (name) => child.kill(name),
    done: new Promise((resolveDone) =>
      child.on('close', (status) => {
        clearTimeout(timer);
        resolveDone({ status, ...out });
      }),
    ),
  };
}

describe('pixtral chat', () => {
  it('answers about an attached image with the demo model, and saves/loads the conversation', async () => {
    const saved = join(scratch, 'conversation.json');
    const first = chat(['--temperature', '0']);
    first.write('/image examples/demo/shapes.png');
    first.write('How many shapes are in this picture?');
    first.write(`/save ${saved}`);
    first.end();
    const { status, stdout, stderr } = await first.done;
    assert.equal(status, 0, stderr);
    assert.match(stderr, /embedded demo model pixtral-demo/);
    assert.match(stderr, /attached examples\/demo\/shapes\.png/);
    assert.match(stderr, /\[\d+ tokens, [\d.]+ tok\/s · prompt \d+ tokens · stop\]/);
    const count = /(\d+) shapes/.exec(
      JSON.parse(readFileSync('examples/demo/truth.json', 'utf8'))['shapes.png'].answer,
    )![1]!;
    assert.match(stdout, new RegExp(`\\b${count}\\b`));

    // The saved file is a chat-completion request: the image, the question and the answer.
    const body = JSON.parse(readFileSync(saved, 'utf8')) as {
      messages: { role: string; content: unknown }[];
    };
    validateCompletionRequest({ ...body, messages: [...body.messages, { role: 'user', content: 'And?' }] });
    assert.deepEqual(
      body.messages.map((m) => m.role),
      ['user', 'assistant'],
    );
    assert.equal(body.messages[1]!.content, stdout.trim());

    const second = chat(['--temperature', '0']);
    second.write(`/load ${saved}`);
    second.write('Hello!');
    second.write(`/save ${saved}`);
    second.end();
    const again = await second.done;
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /loaded 1 turn\(s\)/);
    assert.ok(again.stdout.trim().length > 0);
    const after = JSON.parse(readFileSync(saved, 'utf8')) as { messages: unknown[] };
    assert.equal(after.messages.length, 4);
  });

  it('Ctrl-C stops the answer, keeps what was shown, and the chat goes on', async () => {
    const saved = join(scratch, 'stopped.json');
    const session = chat(['--model', 'builtin:tiny', '--max-tokens', '100000', '--temperature', '0']);
    session.write('Tell me a very long story.');
    await session.waitFor('stdout', /\S{3}/);
    session.signal('SIGINT');
    await session.waitFor('stderr', /\[stopped\]/);
    session.write('/bogus');
    session.write(`/file ${join(scratch, 'missing.txt')}`);
    session.write(`/save ${saved}`);
    session.end();
    const { status, stderr } = await session.done;
    assert.equal(status, 0, stderr);
    assert.match(stderr, /error: unknown command \/bogus/);
    assert.match(stderr, /error: cannot read document .*missing\.txt: ENOENT/);
    const body = JSON.parse(readFileSync(saved, 'utf8')) as { messages: { role: string; content: string }[] };
    assert.deepEqual(
      body.messages.map((m) => m.role),
      ['user', 'assistant'],
    );
    assert.ok(body.messages[1]!.content.length > 0);
  });
});
