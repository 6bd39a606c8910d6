/** GET /v1/models and /v1/models/{id}: the served model as a Mistral `BaseModelCard`. */
import type { FastifyInstance } from 'fastify';
import type { EngineClient } from '../../engine/engine.js';
import type { ServerConfig } from '../config.js';
import { notFound } from '../errors.js';
import { DEFAULT_TEMPERATURE } from '../../chat/completion-request.js';
import { PIXTRAL_12B_NAME } from '../../engine/model-source.js';

export function registerModels(app: FastifyInstance, config: ServerConfig, engine: EngineClient): void {
  const created = Math.floor(Date.now() / 1000);
  // Only the 12B itself is described (and owned) as Mistral's model; a demo or test model says what it is.
  const isPixtral12b = config.modelName === PIXTRAL_12B_NAME;
  const card = () => ({
    id: config.modelName,
    object: 'model',
    created,
    owned_by: isPixtral12b ? 'mistralai' : 'pixtral-ts',
    type: 'base',
    name: config.modelName,
    description: isPixtral12b
      ? 'Pixtral 12B: a 12B-parameter multimodal model (text and images) served by Pixtral TS'
      : `${config.modelName}: a model of Pixtral's architecture (not Pixtral 12B) served by Pixtral TS`,
    max_context_length: engine.maxContext,
    aliases: [...config.modelAliases],
    deprecation: null,
    default_model_temperature: DEFAULT_TEMPERATURE,
    capabilities: {
      completion_chat: true,
      completion_fim: false,
      function_calling: true,
      fine_tuning: false,
      vision: engine.vision,
      classification: false,
    },
  });

  app.get('/v1/models', async () => ({ object: 'list', data: [card()] }));

  app.get<{ Params: { id: string } }>(
    '/v1/models/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 200 } }, required: ['id'] },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (id !== config.modelName && !config.modelAliases.includes(id))
        throw notFound(`Model '${id}' not found`);
      return card();
    },
  );
}
