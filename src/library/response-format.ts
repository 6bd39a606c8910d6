/**
 * Structured output: what the answer must be (any JSON object, a JSON Schema, or a zod schema) as the
 * Mistral `response_format` the validator compiles into an output grammar, and how `json()` reads it back —
 * through the zod schema when there is one, so the result is typed and checked.
 *
 * zod is a peer dependency, imported only when a zod schema is given: the application's own copy converts
 * its own schemas (`z.toJSONSchema`, zod ≥ 4), and an application without zod carries nothing.
 */
import { InvalidRequestError } from './errors.js';

/** A JSON Schema document (the subset the output grammar compiles: see the README). */
export type JsonSchema = Record<string, unknown>;

/** What a zod v4 schema looks like from here: something that parses into T (and knows it is zod). */
export interface ZodSchemaLike<T> {
  parse(data: unknown): T;
  readonly _zod: unknown;
}

export type ResponseFormat<T = unknown> =
  | { readonly type: 'text' }
  | { readonly type: 'json_object' }
  | { readonly type: 'json_schema'; readonly schema: JsonSchema; readonly name?: string }
  | ZodSchemaLike<T>;

export interface ReadResponseFormat<T> {
  /** The `response_format` of the Mistral body, or undefined for free text. */
  readonly body: unknown;
  /** Turns the answer's parsed JSON into the typed result (identity without a zod schema). */
  readonly parse: (value: unknown) => T;
}

export async function readResponseFormat<T>(
  format: ResponseFormat<T> | undefined,
): Promise<ReadResponseFormat<T>> {
  const untyped = (value: unknown) => value as T;
  if (format === undefined) return { body: undefined, parse: untyped };
  if (isZodSchema(format)) {
    const schema = withoutMetaKeys(await zodToJsonSchema(format));
    return {
      body: { type: 'json_schema', json_schema: { name: 'response', schema, strict: true } },
      parse: (value) => format.parse(value),
    };
  }
  if (format.type === 'json_schema')
    return {
      body: {
        type: 'json_schema',
        json_schema: { name: format.name ?? 'response', schema: format.schema, strict: true },
      },
      parse: untyped,
    };
  return { body: { type: format.type }, parse: untyped };
}

function isZodSchema<T>(format: ResponseFormat<T>): format is ZodSchemaLike<T> {
  return (
    typeof format === 'object' && format !== null && '_zod' in format && typeof format.parse === 'function'
  );
}

async function zodToJsonSchema(schema: ZodSchemaLike<unknown>): Promise<JsonSchema> {
  let zod: { toJSONSchema?: (schema: unknown) => JsonSchema };
  try {
    zod = await import('zod');
  } catch (err) {
    throw new InvalidRequestError(
      'a zod responseFormat needs the zod package (npm install zod)',
      'zod_missing',
      [],
      {
        cause: err,
      },
    );
  }
  if (typeof zod.toJSONSchema !== 'function')
    throw new InvalidRequestError(
      'a zod responseFormat needs zod 4 or newer (z.toJSONSchema)',
      'zod_too_old',
    );
  return zod.toJSONSchema(schema);
}

/** `$schema` and `$id` say what a document is, not what it allows: the grammar has no use for them. */
function withoutMetaKeys(schema: JsonSchema): JsonSchema {
  return Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema' && key !== '$id'));
}
