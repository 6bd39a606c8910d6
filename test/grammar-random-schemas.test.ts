/**
 * Random schemas of the supported subset, answered by the random-weight fixture model at temperature 1 with
 * max_tokens 400: every answer parses and validates with ajv, and (every string bounded, every array at most
 * five items) nearly all of them finish on their own rather than being closed at the budget.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { Engine } from '../src/engine/engine.js';
import { SeededRandom } from '../src/generate/random.js';
import { validator } from './helpers/ajv.js';
import { collect, prepare } from './helpers/engine.js';
import { SchemaGenerator } from './helpers/random-schema.js';
import { fixtureLocation } from './helpers/server.js';

const SCHEMAS = 80;
const engine = Engine.load(fixtureLocation());
after(() => engine.close());

it(`answers to ${SCHEMAS} random schemas parse and validate; ≥ 95% finish on their own`, async () => {
  const generator = new SchemaGenerator(new SeededRandom(2024));
  let stopped = 0;
  const tokens: number[] = [];
  for (let i = 0; i < SCHEMAS; i++) {
    const schema = generator.schema();
    const body = {
      messages: [{ role: 'user', content: 'Answer as JSON.' }],
      temperature: 1,
      seed: i,
      max_tokens: 400,
      response_format: { type: 'json_schema', json_schema: { name: `s${i}`, schema } },
    };
    const { deltas, done } = await collect(engine.generate(await prepare(engine, body)));
    const text = deltas.join('');
    const what = `schema ${JSON.stringify(schema)}\nanswer ${text}`;
    let answer: unknown;
    assert.doesNotThrow(() => (answer = JSON.parse(text)), what);
    assert.equal(validator(schema)(answer), null, what);
    if (done.finishReason === 'stop') stopped++;
    tokens.push(done.usage.completionTokens);
  }
  const share = stopped / SCHEMAS;
  const mean = tokens.reduce((a, b) => a + b, 0) / tokens.length;
  console.log(
    `random schemas: ${stopped}/${SCHEMAS} finished on their own (${(100 * share).toFixed(1)}%), ` +
      `${mean.toFixed(0)} tokens on average, longest ${Math.max(...tokens)}`,
  );
  assert.ok(share >= 0.95, `${(100 * share).toFixed(1)}% finished on their own`);
});
