/**
 * Stream an answer into an HTTP route (Server-Sent Events), and stop generating the moment the client hangs
 * up: the request's close aborts the signal, and the model stops before its next token.
 *   npx tsx examples/library/fastify-route.ts
 *   curl -N -X POST localhost:3000/describe -H 'content-type: application/json' -d '{"imageUrl":"https://…"}'
 *
 * Express is the same: `req.on('close', …)`, `res.write(…)`.
 */
import Fastify from 'fastify';
import { AbortError, InvalidRequestError, loadModel } from 'pixtral-ts';

// In a worker thread, forward passes never hold up this server's other requests.
const model = await loadModel(process.env.MODEL, { worker: true });
const app = Fastify({ logger: true });

app.post<{ Body: { imageUrl: string; question?: string } }>('/describe', async (request, reply) => {
  const controller = new AbortController();
  request.raw.on('close', () => controller.abort()); // the client went away
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  try {
    for await (const event of model.chat({
      messages: request.body.question ?? 'What is in this picture?',
      images: [request.body.imageUrl],
      maxTokens: 300,
      signal: controller.signal,
    })) {
      if (event.type === 'text') reply.raw.write(`data: ${JSON.stringify(event.text)}\n\n`);
    }
    reply.raw.write('event: done\ndata: {}\n\n');
  } catch (err) {
    if (err instanceof AbortError) return; // nobody is listening any more
    const message = err instanceof InvalidRequestError ? err.message : 'generation failed';
    reply.raw.write(`event: error\ndata: ${JSON.stringify(message)}\n\n`);
  } finally {
    reply.raw.end();
  }
});

app.addHook('onClose', () => model.close());
await app.listen({ port: 3000 });
