/**
 * The current request as code to paste: curl, Python (the official `mistralai` SDK) and JavaScript (the
 * official `openai` SDK). The key is never written into a snippet: each reads PIXTRAL_API_KEY from the
 * environment. Snippets ask for the whole answer at once (no stream), which prints readably.
 */
import type { ChatRequestBody } from './request.js';

export type SnippetKind = 'curl' | 'python' | 'javascript';

export function snippet(kind: SnippetKind, body: ChatRequestBody, origin: string, auth: boolean): string {
  const request: ChatRequestBody = { ...body };
  delete request.stream;
  const json = JSON.stringify(request, null, 2);
  switch (kind) {
    case 'curl':
      return [
        `curl -sS --globoff '${origin}/v1/chat/completions' \\`,
        `  -H 'Content-Type: application/json' \\`,
        ...(auth ? [`  -H "Authorization: Bearer $PIXTRAL_API_KEY" \\`] : []),
        `  --data-binary @- <<'JSON'`,
        json,
        'JSON',
      ].join('\n');
    case 'python':
      return [
        '# pip install mistralai',
        'import json, os',
        'from mistralai import Mistral',
        '',
        `client = Mistral(api_key=os.environ.get("PIXTRAL_API_KEY", "none"), server_url=${JSON.stringify(origin)})`,
        `request = json.loads(r"""${json}""")`,
        'response = client.chat.complete(**request)',
        'print(response.choices[0].message.content)',
      ].join('\n');
    case 'javascript':
      return [
        '// npm install openai; save as ask.mjs and run: node ask.mjs',
        "import OpenAI from 'openai';",
        '',
        `const client = new OpenAI({ baseURL: ${JSON.stringify(`${origin}/v1`)}, apiKey: process.env.PIXTRAL_API_KEY ?? 'none' });`,
        `const response = await client.chat.completions.create(${json});`,
        'console.log(response.choices[0].message.content);',
      ].join('\n');
  }
}
