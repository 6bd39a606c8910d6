/** Documents attached to a prompt (`pixtral run --file`): text, Markdown, HTML and PDF text; sizes said up front. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { htmlToText } from '../src/documents/html-text.js';
import { documentPrompt, readDocument } from '../src/documents/read-document.js';
import { pixtral } from './helpers/cli.js';
import { scratchDir } from './helpers/scratch.js';
import { tinyPdf } from './helpers/tiny-pdf.js';

const scratch = scratchDir('pixtral-docs-');

describe('reading documents', () => {
  it('reduces HTML to the text a reader sees', () => {
    const html =
      '<html><head><title>Q3</title><style>p{color:red}</style><script>alert(1)</script></head>' +
      '<body><h1>Report</h1><!-- hidden --><p>Sales &amp; costs&nbsp;rose by &#x34;2&#37;.</p>' +
      '<table><tr><td>a</td><td>b</td></tr></table></body></html>';
    const text = htmlToText(html);
    assert.match(text, /^Q3\n+Report\n+Sales & costs rose by 42%\./);
    assert.doesNotMatch(text, /alert|color|hidden|</);
    assert.match(text, /a\s+b/);
  });

  it('reads txt, md, html and the text of every PDF page', async () => {
    const txt = join(scratch, 'notes.txt');
    writeFileSync(txt, 'plain words\nsecond line');
    assert.deepEqual(await readDocument(txt), { name: 'notes.txt', text: 'plain words\nsecond line' });
    const html = join(scratch, 'page.html');
    writeFileSync(html, '<p>Hello <b>web</b></p>');
    assert.equal((await readDocument(html)).text, 'Hello web');
    const pdf = join(scratch, 'two.pdf');
    writeFileSync(pdf, tinyPdf(['First page text', 'Second page text']));
    const doc = await readDocument(pdf);
    assert.match(doc.text, /First page text\s*\n\n\s*Second page text/);
    assert.match(
      documentPrompt([doc], 'What is on page 2?'),
      /^Document "two\.pdf":\n<document>\n[\s\S]*\n<\/document>\n\nWhat is on page 2\?$/,
    );
  });

  it('refuses binary, non-UTF-8 and unknown types with the file named', async () => {
    const bin = join(scratch, 'blob.txt');
    writeFileSync(bin, Buffer.from([0x41, 0x00, 0x42]));
    await assert.rejects(readDocument(bin), /blob\.txt is binary/);
    const latin1 = join(scratch, 'latin1.txt');
    writeFileSync(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    await assert.rejects(readDocument(latin1), /latin1\.txt is not valid UTF-8/);
    const docx = join(scratch, 'report.docx');
    writeFileSync(docx, 'x');
    await assert.rejects(readDocument(docx), /report\.docx: unsupported type "\.docx"/);
    await assert.rejects(
      readDocument(join(scratch, 'missing.md')),
      /cannot read document .*missing\.md: ENOENT/,
    );
  });
});

describe('pixtral run --file', () => {
  it('says how many tokens of the context the document takes, then answers', () => {
    const doc = join(scratch, 'story.md');
    writeFileSync(doc, '# A story\n\n' + 'Once upon a time there was a model. '.repeat(50));
    const result = pixtral([
      'run',
      '--model',
      'builtin:tiny',
      '--file',
      doc,
      '--max-tokens',
      '2',
      '--temperature',
      '0',
      'Summarise.',
    ]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /story\.md is [\d,]+ tokens of your [\d,]+-token context/);
  });

  it('a document over the context is refused in one line naming both sizes', () => {
    const doc = join(scratch, 'long.txt');
    writeFileSync(doc, 'word '.repeat(400));
    const result = pixtral([
      'run',
      '--model',
      'builtin:tiny',
      '--context',
      '128',
      '--file',
      doc,
      'Summarise.',
    ]);
    assert.equal(result.status, 1, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 2, result.stderr);
    assert.match(lines[0]!, /^long\.txt is [\d,]+ tokens of your 128-token context$/);
    assert.match(lines[1]!, /prompt has \d+ tokens but the model's context is 128 tokens/);
  });
});
