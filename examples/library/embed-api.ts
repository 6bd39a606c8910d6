/**
 * The Mistral-compatible API (/v1/chat/completions, /v1/models, …) started by an existing service beside its
 * own routes, on the model the service already loaded; any Mistral or OpenAI SDK — or pixtral-ts's
 * `connect()` — can then talk to it. (`pixtral.inject(…)` reaches it without a port, too.)
 *   npx tsx examples/library/embed-api.ts
 */
import Fastify from 'fastify';
import { connect, createServer, loadModel } from 'pixtral-ts';

const model = await loadModel(process.env.MODEL);
const pixtral = await createServer({ model }); // the service in front authenticates; pass auth: true and db for keys
await pixtral.listen({ host: '127.0.0.1', port: 8080 });

const service = Fastify();
service.get('/caption', async () => {
  const remote = connect('http://127.0.0.1:8080', { model: model.id });
  return { caption: await remote.chat({ messages: 'Say hello.', maxTokens: 20 }).text() };
});
service.addHook('onClose', async () => {
  await pixtral.close();
  await model.close();
});
await service.listen({ port: 3000 });
