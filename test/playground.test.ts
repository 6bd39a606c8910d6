/**
 * The web playground in a real browser (Debian's chromium through playwright-core), against real servers on
 * loopback: the embedded demo model with API keys, and the fixture model without (its answers run long, so a
 * generation can be stopped). Screenshots of the main states land in test-artifacts/playground/.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import axe from 'axe-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { imageTokenCount } from '../src/chat/image-tokens.js';
import { demoModelDir } from '../src/demo/embedded-model.js';
import { targetPatchGrid } from '../src/image/target-size.js';
import { PLAYGROUND_CSP } from '../src/server/routes/playground.js';
import { validator } from './helpers/ajv.js';
import { launchChromium, screenshot, tabTo } from './helpers/browser.js';
import { scratchDir } from './helpers/scratch.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const TRUTH = JSON.parse(readFileSync('examples/demo/truth.json', 'utf8')) as Record<
  string,
  { question: string; answer: string }
>;
const SHAPES = 'examples/demo/shapes.png';
const RECEIPT = 'examples/demo/receipt.png';
const IMAGE_LIMIT = 64 * 1024;
const execFileAsync = promisify(execFile);
const scratch = scratchDir('pixtral-playground-');

describe('web playground', () => {
  let browser: Browser;
  let demo: TestServer;
  let fixture: TestServer;
  let key: string;
  const contexts: BrowserContext[] = [];

  before(async () => {
    browser = await launchChromium();
    demo = await startTestServer(
      {
        modelName: 'pixtral-demo',
        images: { maxBytes: IMAGE_LIMIT, timeoutMs: 10_000, allowPrivate: false },
      },
      { location: demoModelDir() },
    );
    key = await demo.key('paid');
    fixture = await startTestServer({ auth: false });
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await demo?.stop();
    await fixture?.stop();
  });

  /** A fresh page (own storage) on a server, with the console's errors collected. */
  async function open(
    server: TestServer,
    options: Parameters<Browser['newContext']>[0] = {},
  ): Promise<{ page: Page; consoleErrors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 820 }, ...options });
    contexts.push(context);
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.goto(server.url + '/');
    await page.locator('#model-name', { hasText: /\w/ }).waitFor();
    return { page, consoleErrors };
  }

  async function attach(page: Page, ...files: string[]): Promise<void> {
    const before = await page.locator('#attachments li').count();
    await page.locator('#file-input').setInputFiles(files);
    await page
      .locator('#attachments li')
      .nth(before + files.length - 1)
      .waitFor();
  }

  /** Sends what is in the composer and waits for answer number `nth` to finish (or an error). */
  async function sendAndWait(page: Page, nth = 1): Promise<void> {
    await page.locator('#send').click();
    await page
      .locator(`#error:not([hidden]), #log li.message.assistant:nth-of-type(${2 * nth}) p.meta:not(:empty)`)
      .first()
      .waitFor();
  }

  const lastAnswer = (page: Page) => page.locator('#log li.message.assistant pre.text').last().textContent();

  it('is served at / under a strict Content-Security-Policy, and --no-playground turns it off', async () => {
    const response = await fetch(demo.url + '/');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-security-policy'), PLAYGROUND_CSP);
    assert.match(PLAYGROUND_CSP, /script-src 'self'/);
    assert.doesNotMatch(PLAYGROUND_CSP, /unsafe-inline|unsafe-eval/);
    assert.match(await response.text(), /<script type="module" src="\/playground.js">/);
    const config = (await (await fetch(demo.url + '/playground/config.json')).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(config, {
      model: 'pixtral-demo',
      auth: true,
      prices: { inputPerMillion: 0.25, outputPerMillion: 1.25 },
      image: { patchSize: 16, maxImageSize: 1024 },
      maxImageBytes: IMAGE_LIMIT,
    });
    const off = await startTestServer({ playground: false });
    try {
      assert.equal((await fetch(off.url + '/')).status, 404);
    } finally {
      await off.stop();
    }
  });

  it('answers a question about an attached image, streamed, with the image priced before sending', async () => {
    const { page, consoleErrors } = await open(demo);
    const sent: { url: string; auth: string | undefined; body: string | null }[] = [];
    page.on('request', (request) =>
      sent.push({ url: request.url(), auth: request.headers()['authorization'], body: request.postData() }),
    );
    await page.fill('#api-key', key);
    await page.fill('#temperature', '0');
    await attach(page, SHAPES);
    // The token cost the page shows is the engine's: rows·(cols+1) of the image's patch grid.
    const { width, height } = await sharp(SHAPES).metadata();
    const tokens = imageTokenCount(targetPatchGrid(width!, height!));
    assert.equal(await page.locator('#attachments li .cost').textContent(), `${tokens} tokens`);
    await page.fill('#prompt', TRUTH['shapes.png']!.question);
    await sendAndWait(page);
    assert.equal(
      await page.locator('#error').isHidden(),
      true,
      (await page.locator('#error').textContent()) ?? '',
    );
    assert.equal(await lastAnswer(page), TRUTH['shapes.png']!.answer);
    const meta = await page.locator('#log li.message.assistant p.meta').last().textContent();
    assert.match(meta!, /^\d+ prompt tokens \+ \d+ completion tokens · \$0\.\d{6}/);
    assert.equal(await page.locator('#attachments li').count(), 0, 'the sent image left the composer');
    assert.deepEqual(consoleErrors, []);
    await screenshot(page, 'answer-light');
    // The key went to the API only, and stays in this tab unless remembered.
    const withKey = sent.filter((r) => r.auth !== undefined);
    assert.ok(withKey.length > 0);
    for (const r of withKey) {
      assert.equal(r.auth, `Bearer ${key}`);
      assert.ok(r.url.startsWith(`${demo.url}/v1/`), r.url);
    }
    const storageKey = 'pixtral-playground-api-key';
    assert.equal(await page.evaluate(`sessionStorage.getItem('${storageKey}')`), key);
    assert.equal(await page.evaluate(`localStorage.getItem('${storageKey}')`), null);
    await page.locator('#remember-key').check();
    assert.equal(await page.evaluate(`localStorage.getItem('${storageKey}')`), key);
    assert.equal(await page.evaluate(`sessionStorage.getItem('${storageKey}')`), null);

    // The copied curl command is the same request, and it runs.
    await page.locator('button[data-snippet="curl"]').click();
    const code = await page.locator('#snippet').inputValue();
    assert.doesNotMatch(code, new RegExp(key), 'the key never goes into a snippet');
    // Asynchronously: the server runs in this process.
    const run = await execFileAsync('bash', ['-c', code], {
      env: { ...process.env, PIXTRAL_API_KEY: key },
      timeout: 60_000,
    });
    const body = JSON.parse(run.stdout) as { choices?: { message: { content: string } }[] };
    assert.ok(body.choices, run.stdout.slice(0, 500));
    assert.equal(body.choices[0]!.message.content, TRUTH['shapes.png']!.answer);
    // The same code for the SDKs, reading the key from the environment too.
    await page.locator('button[data-snippet="python"]').click();
    assert.match(await page.locator('#snippet').inputValue(), /client\.chat\.complete\(\*\*request\)/);

    // A follow-up carries the conversation; after New chat, only the new message goes.
    const chatBodies = () =>
      sent
        .filter((r) => r.url.endsWith('/v1/chat/completions'))
        .map((r) => JSON.parse(r.body!) as { messages: { role: string }[] });
    await page.fill('#prompt', 'Hello!');
    await sendAndWait(page, 2);
    assert.deepEqual(
      chatBodies()
        .at(-1)!
        .messages.map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
    await page.locator('#new-chat').click();
    assert.equal(await page.locator('#log li').count(), 0);
    await page.fill('#prompt', 'Hello!');
    await sendAndWait(page);
    assert.deepEqual(
      chatBodies()
        .at(-1)!
        .messages.map((m) => m.role),
      ['user'],
    );
  });

  it('takes images dropped on the page and pasted into the message, several per message', async () => {
    const { page } = await open(demo);
    const png = (path: string) => readFileSync(path).toString('base64');
    const dataTransfer = (files: [string, string][]) =>
      `(() => { const dt = new DataTransfer(); for (const [name, b64] of ${JSON.stringify(files)}) ` +
      `dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: 'image/png' })); ` +
      `return dt; })()`;
    const dropped = await page.evaluateHandle(dataTransfer([['shapes.png', png(SHAPES)]]));
    await page.dispatchEvent('#log', 'drop', { dataTransfer: dropped });
    await page.locator('#attachments li').first().waitFor();
    await page.evaluate(
      `document.getElementById('prompt').dispatchEvent(new ClipboardEvent('paste', ` +
        `{ clipboardData: ${dataTransfer([['receipt.png', png(RECEIPT)]])}, bubbles: true, cancelable: true }))`,
    );
    await page.locator('#attachments li').nth(1).waitFor();
    assert.deepEqual(
      await page.locator('#attachments li img').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('alt'))),
      ['shapes.png', 'receipt.png'],
    );
    assert.match((await page.locator('#pending-cost').textContent())!, /^2 images: \d+ prompt tokens$/);
    // A phone photo's EXIF rotation is not applied by the engine, so its price is that of the stored pixels.
    const rotated = join(scratch, 'rotated.jpg');
    writeFileSync(
      rotated,
      await sharp({ create: { width: 64, height: 32, channels: 3, background: '#88aacc' } })
        .jpeg()
        .withMetadata({ orientation: 6 })
        .toBuffer(),
    );
    await attach(page, rotated);
    const stored = imageTokenCount(targetPatchGrid(64, 32));
    assert.equal(await page.locator('#attachments li .cost').nth(2).textContent(), `${stored} tokens`);
    // A file that is not an image is refused with a reason, and nothing else changes.
    const text = await page.evaluateHandle(
      `(() => { const dt = new DataTransfer(); dt.items.add(new File(['hi'], 'notes.txt', { type: 'text/plain' })); return dt; })()`,
    );
    await page.dispatchEvent('#composer', 'drop', { dataTransfer: text });
    await page.locator('#error:not([hidden])').waitFor();
    assert.match(
      (await page.locator('#error').textContent())!,
      /notes\.txt is not a PNG, JPEG, WebP, GIF or BMP image/,
    );
    assert.equal(await page.locator('#attachments li').count(), 3);
  });

  it('JSON-schema output with a system prompt validates against the schema', async () => {
    const { page } = await open(demo);
    await page.fill('#api-key', key);
    await page.fill('#temperature', '0');
    await page.fill('#system', 'You read receipts.');
    await page.locator('input[name="format"][value="json_schema"]').check();
    const schema = readFileSync('examples/schemas/demo-receipt.json', 'utf8');
    await page.fill('#schema', schema);
    await attach(page, RECEIPT);
    await page.fill('#prompt', TRUTH['receipt.png']!.question);
    await sendAndWait(page);
    const answer = JSON.parse((await lastAnswer(page))!) as unknown;
    assert.equal(validator(JSON.parse(schema) as object)(answer), null);
  });

  it('JSON mode answers JSON', async () => {
    const { page } = await open(demo);
    await page.fill('#api-key', key);
    await page.fill('#temperature', '0');
    await page.locator('input[name="format"][value="json_object"]').check();
    await attach(page, RECEIPT);
    await page.fill('#prompt', TRUTH['receipt.png']!.question);
    await sendAndWait(page);
    const answer = JSON.parse((await lastAnswer(page))!) as unknown;
    assert.equal(typeof answer, 'object');
    assert.ok(answer !== null && !Array.isArray(answer));
  });

  it('works from the keyboard alone: key, image (file picker), question, Enter', async () => {
    const { page } = await open(demo);
    // Listening from the start: playwright turns file-chooser interception on asynchronously, and a chooser
    // opened before that would be the browser's own (invisible) dialog.
    const chooser = page.waitForEvent('filechooser', { timeout: 60_000 });
    chooser.catch(() => {}); // awaited below; a test that fails before then must not leave it unhandled
    await page.locator('body').click({ position: { x: 5, y: 5 } }); // nothing focused: start from the top
    await page.keyboard.press('Tab');
    await tabTo(page, 'api-key');
    await page.keyboard.type(key);
    await tabTo(page, 'temperature');
    await page.keyboard.press('Control+a');
    await page.keyboard.type('0');
    await tabTo(page, 'attach');
    await page.keyboard.press('Enter');
    await (await chooser).setFiles(SHAPES);
    await page.locator('#attachments li').waitFor();
    await tabTo(page, 'prompt', true);
    await page.keyboard.type(TRUTH['shapes.png']!.question);
    await page.keyboard.press('Enter');
    await page.locator('#log li.message.assistant p.meta:not(:empty)').waitFor();
    assert.equal(await lastAnswer(page), TRUTH['shapes.png']!.answer);
  });

  it('Stop ends a long answer where it is and keeps what arrived', async () => {
    const { page } = await open(fixture);
    assert.equal(
      await page.locator('#key-group').isHidden(),
      true,
      'no key field when keys are not required',
    );
    await page.fill('#max-tokens', '100000');
    await page.fill('#prompt', 'Tell me everything.');
    await page.locator('#send').click();
    await page.locator('#log li.message.assistant pre.text:not(:empty)').waitFor();
    assert.equal(await page.locator('#stop').isEnabled(), true);
    await page.locator('#stop').click();
    const meta = page.locator('#log li.message.assistant p.meta');
    await meta.filter({ hasText: 'stopped' }).waitFor();
    assert.ok((await lastAnswer(page))!.length > 0);
    assert.equal(await page.locator('#stop').isEnabled(), false);
    assert.equal(await page.locator('#send').isEnabled(), true);
    await screenshot(page, 'stopped');
  });

  it('a wrong key shows the 401 message and keeps the message to send again', async () => {
    const { page } = await open(demo);
    await page.fill('#api-key', 'sk-not-a-key');
    await page.fill('#prompt', 'Hello!');
    await sendAndWait(page);
    assert.match((await page.locator('#error').textContent())!, /API key is invalid or revoked/);
    assert.equal(await page.locator('#prompt').inputValue(), 'Hello!');
    assert.equal(await page.locator('#log li').count(), 0);
    await screenshot(page, 'wrong-key');
  });

  it('a too-large image shows the 413 message and stays attached', async () => {
    const noisy = join(scratch, 'noise.png');
    const pixels = randomBytes(256 * 256 * 3); // noise: PNG cannot shrink it below the limit
    writeFileSync(
      noisy,
      await sharp(pixels, { raw: { width: 256, height: 256, channels: 3 } })
        .png()
        .toBuffer(),
    );
    const { page } = await open(demo);
    await page.fill('#api-key', key);
    await attach(page, noisy);
    await page.fill('#prompt', 'What is this?');
    await sendAndWait(page);
    assert.match(
      (await page.locator('#error').textContent())!,
      new RegExp(`larger than the ${IMAGE_LIMIT}-byte`),
    );
    assert.equal(await page.locator('#attachments li').count(), 1);
    assert.equal(await page.locator('#prompt').inputValue(), 'What is this?');
  });

  it('has no serious accessibility violations (axe-core), light and dark', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      const { page } = await open(demo, { colorScheme });
      await page.fill('#api-key', key);
      await page.fill('#temperature', '0');
      await attach(page, SHAPES);
      await page.fill('#prompt', TRUTH['shapes.png']!.question);
      await sendAndWait(page);
      await attach(page, RECEIPT);
      // Evaluated through the DevTools protocol, which the page's CSP does not govern.
      await page.evaluate(axe.source);
      const result = await page.evaluate<axe.AxeResults>('axe.run(document)');
      const violations = result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
      assert.deepEqual(violations, [], colorScheme);
      await screenshot(page, `playground-${colorScheme}`);
    }
  });

  it('is usable 390 px wide: no sideways scrolling, the composer within reach', async () => {
    const { page } = await open(demo, {
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    await page.fill('#api-key', key);
    await page.fill('#temperature', '0');
    await attach(page, SHAPES);
    await page.fill('#prompt', TRUTH['shapes.png']!.question);
    await sendAndWait(page);
    assert.equal(await lastAnswer(page), TRUTH['shapes.png']!.answer);
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(overflow <= 390, `the page is ${overflow} px wide`);
    for (const id of ['prompt', 'send', 'attach']) {
      const box = await page.locator(`#${id}`).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `#${id} is outside the screen`);
    }
    await screenshot(page, 'phone-390');
  });
});
