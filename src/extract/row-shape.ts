/**
 * How a schema's answer becomes table rows: the one array of objects that is flattened (`items`), and the
 * columns, read from the schema so every input — and every rerun — writes the same header in the same order.
 * Nested objects become dotted columns (`merchant.name`); the row array's fields are prefixed with its path
 * (`items.price`); any other array is one cell holding its JSON.
 */
import { UsageError } from '../cli/errors.js';

type Schema = Record<string, unknown>;

export interface RowShape {
  /** The dotted path of the array flattened into rows, or undefined: one row per input. */
  readonly rowsPath: string | undefined;
  /** Every column after `source`, in schema order. */
  readonly columns: readonly string[];
}

export const SOURCE_COLUMN = 'source';

export function rowShape(schema: Schema, rowsOption?: string): RowShape {
  const arrays = objectArrays(schema, '');
  let rowsPath: string | undefined;
  if (rowsOption !== undefined) {
    if (!arrays.includes(rowsOption))
      throw new UsageError(
        `--rows ${rowsOption} is not an array of objects in the schema` +
          (arrays.length ? ` (it has: ${arrays.join(', ')})` : ' (it has none)'),
      );
    rowsPath = rowsOption;
  } else if (arrays.length > 1)
    throw new UsageError(
      `the schema has several arrays of objects (${arrays.join(', ')}): name the one to flatten into rows with --rows PATH`,
    );
  else rowsPath = arrays[0];
  const columns = leafColumns(schema, '', rowsPath);
  if (columns.includes(SOURCE_COLUMN))
    throw new UsageError(
      `the schema has a top-level "${SOURCE_COLUMN}" field, a name extract keeps for the input`,
    );
  return { rowsPath, columns };
}

/** Dotted paths of the arrays whose items are objects, outside other arrays. */
function objectArrays(schema: Schema, prefix: string): string[] {
  const found: string[] = [];
  for (const [name, child] of properties(schema)) {
    const path = join(prefix, name);
    if (child.type === 'object') found.push(...objectArrays(child, path));
    else if (child.type === 'array' && isObjectSchema(child.items)) found.push(path);
  }
  return found;
}

function leafColumns(schema: Schema, prefix: string, rowsPath: string | undefined): string[] {
  const columns: string[] = [];
  for (const [name, child] of properties(schema)) {
    const path = join(prefix, name);
    if (child.type === 'object' && properties(child).length)
      columns.push(...leafColumns(child, path, rowsPath));
    else if (path === rowsPath) columns.push(...leafColumns(child.items as Schema, path, undefined));
    else columns.push(path);
  }
  return columns;
}

function properties(schema: Schema): [string, Schema][] {
  const props = schema.properties;
  if (typeof props !== 'object' || props === null) return [];
  return Object.entries(props as Record<string, Schema>);
}

function isObjectSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && (value as Schema).type === 'object';
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}
