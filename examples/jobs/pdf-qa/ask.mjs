// Questions over a PDF: its text (pdfjs-dist) in the prompt, the answer streamed with the official Mistral SDK.
// Needs the real model for a sensible answer (pixtral serve --model pixtral-12b); long documents fit its 128K context.
//   PIXTRAL_URL=http://localhost:8080 PIXTRAL_API_KEY=sk-... node examples/jobs/pdf-qa/ask.mjs [PDF] ["question"]
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Mistral } from '@mistralai/mistralai';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

const path = process.argv[2] ?? 'examples/jobs/pdf-qa/report.pdf';
const question = process.argv[3] ?? 'What revenue does the report expect for Q4?';

const pdf = await getDocument({ data: new Uint8Array(await readFile(path)), verbosity: 0 }).promise;
const pages = [];
for (let n = 1; n <= pdf.numPages; n++) {
  const { items } = await (await pdf.getPage(n)).getTextContent();
  pages.push(items.map((item) => item.str + (item.hasEOL ? '\n' : '')).join(''));
}
await pdf.destroy();

const client = new Mistral({
  apiKey: process.env.PIXTRAL_API_KEY ?? 'none',
  serverURL: process.env.PIXTRAL_URL ?? 'http://localhost:8080',
});
const stream = await client.chat.stream({
  model: process.env.PIXTRAL_MODEL ?? 'pixtral-12b-2409',
  temperature: 0,
  maxTokens: Number(process.env.MAX_TOKENS ?? 400),
  messages: [
    {
      role: 'user',
      content: `Document "${basename(path)}":\n<document>\n${pages.join('\n\n')}\n</document>\n\n${question}`,
    },
  ],
});
for await (const event of stream) process.stdout.write(event.data.choices[0]?.delta?.content ?? '');
process.stdout.write('\n');
