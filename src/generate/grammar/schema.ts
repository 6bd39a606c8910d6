/**
 * JSON Schema → the small grammar the JSON constraint enforces while decoding. The subset is exactly what the
 * token stream can be held to, so every answer validates: `type` (one or a list), `properties`, `required`,
 * `additionalProperties` (false, true or a schema), `items`, `minItems`/`maxItems`, `enum`, `const`, `anyOf`
 * (and `oneOf`, enforced as anyOf), string `minLength`/`maxLength` (in characters), integer
 * `minimum`/`maximum`, string `format` date | date-time | email (as fixed patterns), and local `$ref` into
 * `$defs`/`definitions`. Annotations are ignored. Any other keyword is refused with a SchemaError naming it
 * and where it is — a keyword we silently ignored would yield answers that fail the caller's validation.
 */
import { FORMATS, type FormatName } from './formats.js';

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
  /** Lengths in characters (code points), as JSON Schema counts them. */
  | { readonly kind: 'string'; readonly minLength: number; readonly maxLength: number }
  | { readonly kind: 'format'; readonly format: FormatName }
  /** Bounds only for integers (null: unbounded on that side). */
  | {
      readonly kind: 'number';
      readonly integer: boolean;
      readonly minimum: bigint | null;
      readonly maximum: bigint | null;
    }
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

/** Keywords that describe a schema without constraining it. */
export const ANNOTATIONS: ReadonlySet<string> = new Set([
  'title',
  'description',
  'examples',
  'default',
  '$schema',
  '$id',
  '$comment',
]);

const SUPPORTED: ReadonlySet<string> = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'format',
  '$ref',
  '$defs',
  'definitions',
]);

export class SchemaError extends Error {
  /**
   * @param keyword the offending keyword, when one is to blame
   * @param path    where in the schema, as a JSON pointer fragment (`#/properties/name`)
   */
  constructor(
    message: string,
    readonly keyword: string | null = null,
    readonly path = '#',
  ) {
    super(`${message} (at ${path})`);
    this.name = 'SchemaError';
  }
}

/** Compiles a plain-JSON schema (objects, not Maps). */
export function compileSchema(schema: unknown): SchemaNode {
  if (!isObj(schema) && typeof schema !== 'boolean') throw new SchemaError('a JSON schema must be an object');
  return compile(schema as Json, schema as Json, '#', 0);
}

const pointer = (path: string, ...parts: (string | number)[]) =>
  [path, ...parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1'))].join('/');

function compile(schema: Json, root: Json, path: string, depth: number): SchemaNode {
  if (depth > 32)
    throw new SchemaError('the JSON schema nests (or refers to itself) too deeply', '$ref', path);
  if (schema === true) return ANY;
  if (schema === false) throw new SchemaError('the schema `false` accepts no value', null, path);
  if (!isObj(schema)) throw new SchemaError('a JSON schema must be an object', null, path);
  for (const keyword of Object.keys(schema))
    if (!SUPPORTED.has(keyword) && !ANNOTATIONS.has(keyword))
      throw new SchemaError(`unsupported JSON-schema keyword "${keyword}"`, keyword, path);
  const at = (...parts: (string | number)[]) => pointer(path, ...parts);
  const next = (s: Json, where: string) => compile(s, root, where, depth + 1);

  if (schema.$ref !== undefined) {
    if (typeof schema.$ref !== 'string') throw new SchemaError('$ref must be a string', '$ref', path);
    return next(resolveRef(schema.$ref, root, path), schema.$ref);
  }
  if ('const' in schema) return { kind: 'literals', texts: [JSON.stringify(schema.const)] };
  if (schema.enum !== undefined) {
    if (!Array.isArray(schema.enum) || schema.enum.length === 0)
      throw new SchemaError('enum must list at least one value', 'enum', path);
    return { kind: 'literals', texts: schema.enum.map((v) => JSON.stringify(v)) };
  }
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const alternatives = schema[keyword];
    if (alternatives === undefined) continue;
    if (!Array.isArray(alternatives) || alternatives.length === 0)
      throw new SchemaError(`${keyword} must list at least one schema`, keyword, path);
    return union(alternatives.map((s, i) => next(s, at(keyword, i))));
  }

  const type = schema.type;
  if (Array.isArray(type)) return union(type.map((t) => compile({ ...schema, type: t }, root, path, depth)));
  switch (type) {
    case 'object':
      return compileObject(schema, path, next);
    case 'array': {
      if (Array.isArray(schema.items)) throw new SchemaError('items must be one schema', 'items', path);
      const minItems = count(schema, 'minItems', 0, path);
      const maxItems = count(schema, 'maxItems', Infinity, path);
      if (minItems > maxItems) throw new SchemaError('minItems exceeds maxItems', 'minItems', path);
      const items = schema.items === undefined ? ANY : next(schema.items, at('items'));
      return { kind: 'array', items, minItems, maxItems };
    }
    case 'string':
      return compileString(schema, path);
    case 'number':
    case 'integer':
      return compileNumber(schema, type === 'integer', path);
    case 'boolean':
      return { kind: 'boolean' };
    case 'null':
      return { kind: 'null' };
    case undefined:
      if (
        isObj(schema.properties) ||
        schema.required !== undefined ||
        schema.additionalProperties !== undefined
      )
        return compileObject(schema, path, next);
      for (const keyword of [
        'items',
        'minItems',
        'maxItems',
        'minLength',
        'maxLength',
        'minimum',
        'maximum',
        'format',
      ])
        if (keyword in schema) throw new SchemaError(`"${keyword}" needs a "type" beside it`, keyword, path);
      return ANY;
    default:
      throw new SchemaError(`unknown type "${String(type)}" in JSON schema`, 'type', path);
  }
}

function compileObject(schema: Obj, path: string, next: (s: Json, where: string) => SchemaNode): SchemaNode {
  const properties = new Map<string, SchemaNode>();
  if (schema.properties !== undefined && !isObj(schema.properties))
    throw new SchemaError('properties must be an object', 'properties', path);
  for (const [k, v] of Object.entries(schema.properties ?? {}))
    properties.set(k, next(v, pointer(path, 'properties', k)));
  if (schema.required !== undefined && !Array.isArray(schema.required))
    throw new SchemaError('required must be a list of names', 'required', path);
  const required = new Set((schema.required ?? []).filter((k): k is string => typeof k === 'string'));
  for (const k of required) if (!properties.has(k) && properties.size > 0) properties.set(k, ANY);
  const extra = schema.additionalProperties;
  // Declared properties steer generation: undeclared keys only where the schema asks for them explicitly.
  const additional =
    properties.size === 0
      ? extra === false
        ? null
        : isObj(extra)
          ? next(extra, pointer(path, 'additionalProperties'))
          : ANY
      : extra === true
        ? ANY
        : isObj(extra)
          ? next(extra, pointer(path, 'additionalProperties'))
          : null;
  return { kind: 'object', properties, required, additional };
}

function compileString(schema: Obj, path: string): SchemaNode {
  const minLength = count(schema, 'minLength', 0, path);
  const maxLength = count(schema, 'maxLength', Infinity, path);
  if (minLength > maxLength) throw new SchemaError('minLength exceeds maxLength', 'minLength', path);
  if (schema.format === undefined) return { kind: 'string', minLength, maxLength };
  if (typeof schema.format !== 'string' || !Object.hasOwn(FORMATS, schema.format))
    throw new SchemaError(
      `unsupported "format": ${JSON.stringify(schema.format)} (supported: ${Object.keys(FORMATS).join(', ')})`,
      'format',
      path,
    );
  // A format is a fixed pattern with its own lengths; combining it with bounds is not supported.
  for (const keyword of ['minLength', 'maxLength'])
    if (keyword in schema)
      throw new SchemaError(`"${keyword}" cannot be combined with "format"`, keyword, path);
  return { kind: 'format', format: schema.format as FormatName };
}

function compileNumber(schema: Obj, integer: boolean, path: string): SchemaNode {
  const bound = (keyword: 'minimum' | 'maximum', round: (x: number) => number): bigint | null => {
    const value = schema[keyword];
    if (value === undefined) return null;
    if (!integer) throw new SchemaError(`"${keyword}" is supported for integers only`, keyword, path);
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new SchemaError(`${keyword} must be a number`, keyword, path);
    return BigInt(round(value));
  };
  const minimum = bound('minimum', Math.ceil);
  const maximum = bound('maximum', Math.floor);
  if (minimum !== null && maximum !== null && minimum > maximum)
    throw new SchemaError('no integer lies between minimum and maximum', 'minimum', path);
  return { kind: 'number', integer, minimum, maximum };
}

function union(options: SchemaNode[]): SchemaNode {
  return options.length === 1 ? options[0]! : { kind: 'union', options };
}

function count(schema: Obj, keyword: string, fallback: number, path: string): number {
  const v = schema[keyword];
  if (v === undefined) return fallback;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  throw new SchemaError(`${keyword} must be a non-negative integer`, keyword, path);
}

function resolveRef(ref: string, root: Json, path: string): Json {
  if (!ref.startsWith('#'))
    throw new SchemaError(`only local $refs are supported, got "${ref}"`, '$ref', path);
  let at: Json = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObj(at) || !(part in at)) throw new SchemaError(`$ref "${ref}" points nowhere`, '$ref', path);
    at = at[part]!;
  }
  return at;
}
