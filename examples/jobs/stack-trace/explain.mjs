// A screenshot of a stack trace → what went wrong and how to fix it, streamed, with the official Mistral SDK.
// Needs the real model for a sensible answer (pixtral serve --model pixtral-12b); the demo model only runs it.
//   PIXTRAL_URL=http://localhost:8080 PIXTRAL_API_KEY=sk-... node examples/jobs/stack-trace/explain.mjs [SCREENSHOT]
import { readFile } from 'node:fs/promises';
import { Mistral } from '@mistralai/mistralai';

const screenshot = process.argv[2] ?? 'examples/jobs/stack-trace/error.png';
const client = new Mistral({
  apiKey: process.env.PIXTRAL_API_KEY ?? 'none',
  serverURL: process.env.PIXTRAL_URL ?? 'http://localhost:8080',
});
const image = `data:image/png;base64,${(await readFile(screenshot)).toString('base64')}`;
const stream = await client.chat.stream({
  model: process.env.PIXTRAL_MODEL ?? 'pixtral-12b-2409',
  temperature: 0.2,
  maxTokens: Number(process.env.MAX_TOKENS ?? 600),
  messages: [
    {
      role: 'system',
      content: 'You are a senior engineer. Be concrete: name the cause, then show the fixed code.',
    },
    {
      role: 'user',
      content: [
        { type: 'image_url', imageUrl: image },
        { type: 'text', text: 'Explain this error and suggest a fix.' },
      ],
    },
  ],
});
for await (const event of stream) process.stdout.write(event.data.choices[0]?.delta?.content ?? '');
process.stdout.write('\n');
