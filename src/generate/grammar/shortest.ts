/**
 * The shortest document of a schema, as compact JSON bytes: what a frame appends for a value it still owes
 * when the answer must be closed early (required keys with their shortest values, minItems items, a string
 * of minLength characters, the integer nearest zero within bounds). Computed once per schema node.
 */
import { formatDfa } from './formats.js';
import { IntegerBounds } from './number-frame.js';
import type { SchemaNode } from './schema.js';

const utf8 = new TextEncoder();
const cache = new WeakMap<SchemaNode, readonly number[]>();
const bytes = (text: string) => [...utf8.encode(text)];
const shorter = <T extends readonly number[]>(a: T, b: T): T => (b.length < a.length ? b : a);

export function shortestValue(schema: SchemaNode): readonly number[] {
  let value = cache.get(schema);
  if (!value) cache.set(schema, (value = compute(schema)));
  return value;
}

/** `"name":` followed by the shortest value of the property. */
export function shortestMember(name: string, schema: SchemaNode): number[] {
  return [...bytes(JSON.stringify(name)), 0x3a, ...shortestValue(schema)];
}

function compute(schema: SchemaNode): readonly number[] {
  switch (schema.kind) {
    case 'any':
      return bytes('0');
    case 'object': {
      const members = [...schema.required].map((k) =>
        shortestMember(k, schema.properties.get(k) ?? schema.additional ?? { kind: 'any' }),
      );
      return [0x7b, ...join(members), 0x7d];
    }
    case 'array': {
      const item = shortestValue(schema.items);
      return [0x5b, ...join(Array.from({ length: schema.minItems }, () => [...item])), 0x5d];
    }
    case 'string':
      return bytes(`"${'a'.repeat(schema.minLength)}"`);
    case 'format':
      return [0x22, ...formatDfa(schema.format).shortest(0), 0x22];
    case 'number': {
      const bounds = IntegerBounds.of(schema);
      if (!bounds) return bytes('0');
      const positive = bounds.closest(false, '', 39);
      const negative = bounds.closest(true, '', 39);
      const options = [
        positive === null ? null : bytes(positive),
        negative === null ? null : bytes(`-${negative}`),
      ];
      return options.filter((o): o is number[] => o !== null).reduce(shorter);
    }
    case 'boolean':
      return bytes('true');
    case 'null':
      return bytes('null');
    case 'literals':
      return schema.texts.map(bytes).reduce(shorter);
    case 'union':
      return schema.options.map(shortestValue).reduce(shorter);
  }
}

/** Members or items separated by commas. */
export function join(parts: readonly (readonly number[])[]): number[] {
  return parts.flatMap((p, i) => (i === 0 ? [...p] : [0x2c, ...p]));
}
