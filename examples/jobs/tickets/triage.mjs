// Support-ticket screenshots → one triage record per ticket (JSON lines), under a JSON schema, with the OpenAI SDK.
// Needs the real model for sensible fields (pixtral serve --model pixtral-12b); the demo model fills them blindly.
//   PIXTRAL_URL=http://localhost:8080 PIXTRAL_API_KEY=sk-... node examples/jobs/tickets/triage.mjs [FOLDER]
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';

const folder = process.argv[2] ?? 'examples/jobs/tickets/screens';
const client = new OpenAI({
  baseURL: `${process.env.PIXTRAL_URL ?? 'http://localhost:8080'}/v1`,
  apiKey: process.env.PIXTRAL_API_KEY ?? 'none',
});
const schema = JSON.parse(await readFile('examples/schemas/support-ticket.json', 'utf8'));
delete schema.$comment;

for (const file of (await readdir(folder)).filter((f) => f.endsWith('.png')).sort()) {
  const image = `data:image/png;base64,${(await readFile(join(folder, file))).toString('base64')}`;
  const response = await client.chat.completions.create({
    model: process.env.PIXTRAL_MODEL ?? 'pixtral-12b-2409',
    temperature: 0,
    max_tokens: 400,
    response_format: { type: 'json_schema', json_schema: { name: 'ticket', schema } },
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: image } },
          {
            type: 'text',
            text: `Triage this support ticket as JSON following this schema: ${JSON.stringify(schema)}`,
          },
        ],
      },
    ],
  });
  console.log(JSON.stringify({ source: file, ...JSON.parse(response.choices[0].message.content) }));
}
