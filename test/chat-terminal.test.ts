/**
 * `pixtral chat` in a real terminal: tmux (Debian's) gives it a pseudo-terminal, the test types keys into it and
 * reads the screen — readline's line editing, the prompt that shows what is attached, a streamed answer,
 * Ctrl-C stopping an answer without leaving, Ctrl-D leaving with status 0.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { validateCompletionRequest } from '../src/chat/completion-request.js';

const scratch = mkdtempSync(join(tmpdir(), 'pixtral-chat-tty-'));
const SOCKET = `pixtral-test-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });
}

/** One `pixtral chat` in its own tmux window; the shell line after it prints the exit status. */
class Terminal {
  constructor(readonly name: string) {}

  static open(name: string, args: string[]): Terminal {
    const command = [process.execPath, resolve('bin/pixtral.js'), 'chat', ...args]
      .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
      .join(' ');
    tmux('new-session', '-d', '-s', name, '-x', '150', '-y', '50', `${command}; echo "EXIT:$?"; sleep 60`);
    return new Terminal(name);
  }

  /** Types text literally, then presses the named keys (Enter, C-c, C-d …). */
  type(text: string, ...keys: string[]): void {
    if (text) tmux('send-keys', '-t', this.name, '-l', text);
    if (keys.length > 0) tmux('send-keys', '-t', this.name, ...keys);
  }

  screen(): string {
    return tmux('capture-pane', '-p', '-J', '-t', this.name, '-S', '-500');
  }

  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`the screen never showed ${pattern}:\n${screen}`);
      await sleep(100);
    }
  }
}

describe('pixtral chat in a terminal (tmux)', () => {
  after(() => {
    rmSync(scratch, { recursive: true, force: true });
    try {
      tmux('kill-server');
    } catch {
      // no server left
    }
  });

  it('attaches an image, streams the demo model’s answer, /save writes a valid request, Ctrl-D leaves', async () => {
    const saved = join(scratch, 'conversation.json');
    const term = Terminal.open('demo', ['--temperature', '0']);
    await term.waitFor(/Ctrl-D leaves[\s\S]*> $/m);
    term.type('/image examples/demo/shapes.png', 'Enter');
    await term.waitFor(/attached examples\/demo\/shapes\.png\s*\n\[1 image\] > $/m);
    term.type('How many shapes are in this picture?', 'Enter');
    const truth = (
      JSON.parse(readFileSync('examples/demo/truth.json', 'utf8')) as Record<string, { answer: string }>
    )['shapes.png']!.answer;
    await term.waitFor(new RegExp(`${truth.replace(/\./g, '\\.')}\\s*\\n\\[\\d+ tokens, [\\d.]+ tok/s`));
    await term.waitFor(/tok\/s[^\n]*\n> $/m); // the prompt is back, with nothing attached
    term.type(`/save ${saved}`, 'Enter');
    await term.waitFor(/saved 1 turn\(s\)/);
    term.type('', 'C-d');
    await term.waitFor(/EXIT:0/);
    const request = JSON.parse(readFileSync(saved, 'utf8')) as { messages: { role: string }[] };
    // The API takes it as the history of a next question (a request cannot end on the assistant's turn).
    validateCompletionRequest({
      ...request,
      messages: [...request.messages, { role: 'user', content: 'And?' }],
    });
    assert.deepEqual(
      request.messages.map((m) => m.role),
      ['user', 'assistant'],
    );
    assert.match(JSON.stringify(request), /data:image\/png;base64,/);
  });

  it('streams a long answer, Ctrl-C stops it and the chat goes on', async () => {
    const saved = join(scratch, 'stopped.json');
    const term = Terminal.open('tiny', ['--model', 'builtin:tiny', '--max-tokens', '100000']);
    await term.waitFor(/Ctrl-D leaves[\s\S]*> $/m);
    term.type('Tell me a very long story.', 'Enter');
    // Streamed: the answer is on screen, and more of it a moment later.
    const answered = (screen: string) => screen.split('story.')[1]?.replace(/\s/g, '').length ?? 0;
    await term.waitFor(/story\.\n(?:\s*\S){3}/); // three visible characters, whatever the words
    const early = answered(term.screen());
    await sleep(300);
    assert.ok(answered(term.screen()) > early, 'the answer did not grow on screen while it was written');
    term.type('', 'C-c');
    await term.waitFor(/\[stopped\]\s*\n> $/m);
    // Still chatting: line editing works (Ctrl-U clears what was typed), commands answer.
    term.type('garbage', 'C-u');
    term.type(`/save ${saved}`, 'Enter');
    await term.waitFor(/saved 1 turn\(s\)/);
    term.type('', 'C-d');
    await term.waitFor(/EXIT:0/);
    const body = JSON.parse(readFileSync(saved, 'utf8')) as { messages: { role: string; content: string }[] };
    assert.deepEqual(
      body.messages.map((m) => m.role),
      ['user', 'assistant'],
    );
    assert.ok(body.messages[1]!.content.length > 0, 'what was shown before Ctrl-C is kept');
  });
});
