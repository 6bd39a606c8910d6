/**
 * A small number per schema node, so a parse state's key can name "which schema" in a few characters. The
 * number is structural — equal schemas get equal numbers — because every request compiles its schema afresh,
 * and the token masks of one request's states should serve the next request with the same schema.
 */
import type { SchemaNode } from './schema.js';

const ids = new WeakMap<SchemaNode, number>();
const interned = new Map<string, number>();
/** Numbers are never reused, so forgetting the interned descriptions (bounding memory) cannot alias two. */
const MAX_INTERNED = 50_000;
let next = 0;

export function nodeId(node: SchemaNode): number {
  let id = ids.get(node);
  if (id === undefined) {
    const description = describe(node);
    id = interned.get(description);
    if (id === undefined) {
      if (interned.size >= MAX_INTERNED) interned.clear();
      interned.set(description, (id = next++));
    }
    ids.set(node, id);
  }
  return id;
}

/** The node's own fields and its children's numbers. */
function describe(node: SchemaNode): string {
  switch (node.kind) {
    case 'object': {
      const properties = [...node.properties].map(([k, v]) => `${JSON.stringify(k)}:${nodeId(v)}`);
      const additional = node.additional ? nodeId(node.additional) : '-';
      return `o{${properties.join(',')}}${JSON.stringify([...node.required].sort())}${additional}`;
    }
    case 'array':
      return `a${nodeId(node.items)},${node.minItems},${node.maxItems}`;
    case 'string':
      return `s${node.minLength},${node.maxLength}`;
    case 'format':
      return `f${node.format}`;
    case 'number':
      return `n${+node.integer},${node.minimum},${node.maximum}`;
    case 'literals':
      return `l${JSON.stringify(node.texts)}`;
    case 'union':
      return `u${node.options.map(nodeId).join(',')}`;
    default:
      return node.kind;
  }
}
