/**
 * Chat-completion request fields → engine generation options, with the server defaults of spec §9
 * (temperature 0.7, top_p 1.0, max_tokens = the rest of the context; temperature 0 is greedy).
 */
import type { ChatRequest } from '../chat/index.js';
import type { GenerateOptions } from '../generate/sequence.js';
import { responseSchema, toolCallSchema } from './output-format.js';

export const DEFAULT_TEMPERATURE = 0.7;

export function generateOptions(
  request: ChatRequest,
  seed: number | undefined,
  signal: AbortSignal,
  parallelToolCalls = true,
): GenerateOptions {
  const responseFormat = responseSchema(request);
  const toolSchema = toolCallSchema(request, parallelToolCalls);
  const stop =
    request.stop === null || request.stop === undefined
      ? []
      : typeof request.stop === 'string'
        ? [request.stop]
        : request.stop;
  return {
    ...(typeof request.max_tokens === 'number' && { maxTokens: request.max_tokens }),
    sampling: {
      temperature: request.temperature ?? DEFAULT_TEMPERATURE,
      topP: request.top_p ?? 1,
      presencePenalty: request.presence_penalty ?? 0,
      frequencyPenalty: request.frequency_penalty ?? 0,
      ...(seed !== undefined && { seed }),
    },
    stop,
    tools: toolMode(request),
    signal,
    ...(responseFormat && { responseSchema: responseFormat }),
    ...(toolSchema && { toolSchema }),
  };
}

function toolMode(request: ChatRequest): GenerateOptions['tools'] {
  if (!request.tools || request.tools.length === 0) return 'none';
  const choice = request.tool_choice ?? 'auto';
  if (choice === 'none') return 'none';
  if (choice === 'auto') return 'auto';
  return 'required'; // 'any', 'required' or a named function
}
