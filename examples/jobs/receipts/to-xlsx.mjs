// A folder of receipt scans → receipts.xlsx, one row per item, through the API with the official OpenAI SDK.
// Works against any Pixtral TS server (`pixtral serve`, the embedded demo model by default):
//   PIXTRAL_URL=http://localhost:8080 PIXTRAL_API_KEY=sk-... node examples/jobs/receipts/to-xlsx.mjs [FOLDER] [OUT.xlsx]
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import ExcelJS from 'exceljs';
import OpenAI from 'openai';

const folder = process.argv[2] ?? 'examples/jobs/receipts/scans';
const out = process.argv[3] ?? 'receipts.xlsx';
const client = new OpenAI({
  baseURL: `${process.env.PIXTRAL_URL ?? 'http://localhost:8080'}/v1`,
  apiKey: process.env.PIXTRAL_API_KEY ?? 'none',
});
const schema = JSON.parse(await readFile('examples/schemas/demo-receipt.json', 'utf8'));

const workbook = new ExcelJS.Workbook();
const sheet = workbook.addWorksheet('rows');
sheet.addRow(['source', 'items.name', 'items.price', 'total']);
for (const file of (await readdir(folder)).filter((f) => /\.(png|jpe?g|webp)$/i.test(f)).sort()) {
  const bytes = await readFile(join(folder, file));
  const mime = extname(file) === '.png' ? 'image/png' : 'image/jpeg';
  const response = await client.chat.completions.create({
    model: process.env.PIXTRAL_MODEL ?? 'pixtral-demo',
    temperature: 0,
    response_format: { type: 'json_schema', json_schema: { name: 'receipt', schema } },
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: `data:${mime};base64,${bytes.toString('base64')}` } },
          { type: 'text', text: 'Extract the items and total as JSON.' },
        ],
      },
    ],
  });
  const receipt = JSON.parse(response.choices[0].message.content);
  for (const item of receipt.items) sheet.addRow([file, item.name, item.price, receipt.total]);
  console.log(`${file}: ${receipt.items.length} items, total ${receipt.total}`);
}
await workbook.xlsx.writeFile(out);
console.log(`wrote ${out}`);
