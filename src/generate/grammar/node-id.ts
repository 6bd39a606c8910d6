/**
 * A small number per compiled schema node, so a parse state's key can name "which schema" in a few characters.
 * Nodes are immutable once compiled, so identity is enough.
 */
import type { SchemaNode } from './schema.js';

const ids = new WeakMap<object, number>();
let next = 0;

export function nodeId(node: SchemaNode | object): number {
  let id = ids.get(node);
  if (id === undefined) ids.set(node, (id = next++));
  return id;
}
