/**
 * JSON Schema → the small grammar the JSON constraint enforces while decoding: types (with unions), object
 * properties (declared keys only, unless additionalProperties says otherwise; required keys before `}`), array
 * items and length bounds, enum/const as literal texts, anyOf/oneOf, and local $refs. Keywords that do not
 * shape the token stream (descriptions, formats, patterns, numeric bounds) are not enforced — the result is
 * always valid JSON of the right shape, and the caller may validate finer rules afterwards.
 */

export type SchemaNode =
  | { readonly kind: 'any' }
  | {
      readonly kind: 'object';
      readonly properties: ReadonlyMap<string, SchemaNode>;
      readonly required: ReadonlySet<string>;
      /** Schema of undeclared keys, or null when only declared keys may appear. */
      readonly additional: SchemaNode | null;
    }
  | {
      readonly kind: 'array';
      readonly items: SchemaNode;
      readonly minItems: number;
      readonly maxItems: number;
    }
  | { readonly kind: 'string' }
  | { readonly kind: 'number'; readonly integer: boolean }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'null' }
  /** enum/const: the exact JSON texts allowed. */
  | { readonly kind: 'literals'; readonly texts: readonly string[] }
  | { readonly kind: 'union'; readonly options: readonly SchemaNode[] };

export const ANY: SchemaNode = { kind: 'any' };

/** Any JSON object (response_format json_object). */
export const ANY_OBJECT: SchemaNode = {
  kind: 'object',
  properties: new Map(),
  required: new Set(),
  additional: ANY,
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

/** Compiles a plain-JSON schema (objects, not Maps). */
export function compileSchema(schema: unknown): SchemaNode {
  if (!isObj(schema) && typeof schema !== 'boolean') throw new SchemaError('a JSON schema must be an object');
  return compile(schema as Json, schema as Json, 0);
}

function compile(schema: Json, root: Json, depth: number): SchemaNode {
  if (depth > 32) throw new SchemaError('the JSON schema nests (or refers to itself) too deeply');
  if (schema === true) return ANY;
  if (!isObj(schema)) throw new SchemaError('a JSON schema must be an object');
  const next = (s: Json) => compile(s, root, depth + 1);

  if (typeof schema.$ref === 'string') return next(resolveRef(schema.$ref, root));
  if ('const' in schema) return { kind: 'literals', texts: [JSON.stringify(schema.const)] };
  if (Array.isArray(schema.enum)) {
    if (schema.enum.length === 0) throw new SchemaError('enum must list at least one value');
    return { kind: 'literals', texts: schema.enum.map((v) => JSON.stringify(v)) };
  }
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(alternatives) && alternatives.length > 0) return union(alternatives.map(next));
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) return next(schema.allOf[0]!);

  const type = schema.type;
  if (Array.isArray(type)) return union(type.map((t) => next({ ...schema, type: t })));
  switch (type) {
    case 'object':
      return compileObject(schema, next);
    case 'array':
      return {
        kind: 'array',
        items: schema.items === undefined ? ANY : next(schema.items),
        minItems: count(schema.minItems, 0),
        maxItems: count(schema.maxItems, Infinity),
      };
    case 'string':
      return { kind: 'string' };
    case 'number':
      return { kind: 'number', integer: false };
    case 'integer':
      return { kind: 'number', integer: true };
    case 'boolean':
      return { kind: 'boolean' };
    case 'null':
      return { kind: 'null' };
    case undefined:
      return isObj(schema.properties) ? compileObject(schema, next) : ANY;
    default:
      throw new SchemaError(`unknown type "${String(type)}" in JSON schema`);
  }
}

function compileObject(schema: Obj, next: (s: Json) => SchemaNode): SchemaNode {
  const properties = new Map<string, SchemaNode>();
  if (isObj(schema.properties))
    for (const [k, v] of Object.entries(schema.properties)) properties.set(k, next(v));
  const required = new Set(
    Array.isArray(schema.required) ? schema.required.filter((k) => typeof k === 'string') : [],
  );
  for (const k of required)
    if (!properties.has(k as string) && properties.size > 0) properties.set(k as string, ANY);
  const extra = schema.additionalProperties;
  // Declared properties steer generation: undeclared keys only where the schema asks for them explicitly.
  const additional =
    properties.size === 0
      ? extra === false
        ? null
        : isObj(extra)
          ? next(extra)
          : ANY
      : extra === true
        ? ANY
        : isObj(extra)
          ? next(extra)
          : null;
  return { kind: 'object', properties, required: required as Set<string>, additional };
}

function union(options: SchemaNode[]): SchemaNode {
  return options.length === 1 ? options[0]! : { kind: 'union', options };
}

function count(v: Json | undefined, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fallback;
}

function resolveRef(ref: string, root: Json): Json {
  if (!ref.startsWith('#')) throw new SchemaError(`only local $refs are supported, got "${ref}"`);
  let at: Json = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObj(at) || !(part in at)) throw new SchemaError(`$ref "${ref}" points nowhere`);
    at = at[part]!;
  }
  return at;
}
