/**
 * Seeded random JSON schemas of the subset the grammar supports: objects (properties, required,
 * additionalProperties: false), arrays (items, minItems/maxItems ≤ 5), strings (maxLength ≤ 40, minLength),
 * integers with bounds, numbers, booleans, null, enum, const, anyOf, formats, `$defs` refs and type lists.
 * Every string is bounded and every array short, so a document always has an end within reach.
 */
import type { SeededRandom } from '../../src/generate/random.js';

type Schema = Record<string, unknown>;

export class SchemaGenerator {
  private defs: Record<string, Schema> = {};

  constructor(private readonly random: SeededRandom) {}

  /** An object schema at the root, with `$defs` when a ref was drawn. */
  schema(): Schema {
    this.defs = {};
    const root = this.object(0);
    return Object.keys(this.defs).length > 0 ? { ...root, $defs: this.defs } : root;
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.random.next() * (hi - lo + 1));
  }

  private pick<T>(options: readonly T[]): T {
    return options[this.int(0, options.length - 1)]!;
  }

  private chance(p: number): boolean {
    return this.random.next() < p;
  }

  private object(depth: number): Schema {
    const names = ['id', 'name', 'note', 'count', 'items', 'kind', 'when', 'ok', 'extra', 'a b', 'é'];
    const properties: Record<string, Schema> = {};
    for (let i = this.int(1, 4); i > 0; i--) properties[this.pick(names)] = this.value(depth + 1);
    const keys = Object.keys(properties);
    const required = keys.filter(() => this.chance(0.6));
    return { type: 'object', properties, required, additionalProperties: false };
  }

  private string(): Schema {
    const maxLength = this.int(0, 40);
    return this.chance(0.3)
      ? { type: 'string', minLength: this.int(0, Math.min(5, maxLength)), maxLength }
      : { type: 'string', maxLength };
  }

  private integer(): Schema {
    const lo = this.int(-1000, 1000);
    switch (this.int(0, 3)) {
      case 0:
        return { type: 'integer' };
      case 1:
        return { type: 'integer', minimum: lo };
      case 2:
        return { type: 'integer', maximum: lo };
      default:
        return { type: 'integer', minimum: lo, maximum: lo + this.int(0, 5000) };
    }
  }

  private value(depth: number): Schema {
    const leaf = depth >= 3;
    switch (this.int(0, leaf ? 9 : 13)) {
      case 0:
      case 1:
        return this.string();
      case 2:
        return this.integer();
      case 3:
        return { type: 'number' };
      case 4:
        return { type: 'boolean' };
      case 5:
        return { type: 'null' };
      case 6:
        return {
          enum: this.pick([
            ['red', 'green', 'blue'],
            [1, 2.5, 'x', null],
            ['ünïcode', 'a"b'],
          ]),
        };
      case 7:
        return { const: this.pick(['fixed', 7, true, { k: [1, 2] }]) };
      case 8:
        return { type: 'string', format: this.pick(['date', 'date-time', 'email']) };
      case 9:
        return { type: ['string', 'null'], maxLength: this.int(0, 40) };
      case 10: {
        const minItems = this.int(0, 2);
        return { type: 'array', items: this.value(depth + 1), minItems, maxItems: this.int(minItems, 5) };
      }
      case 11:
        return this.object(depth);
      case 12:
        return { anyOf: [this.value(depth + 1), this.value(depth + 1)] };
      default: {
        const name = `d${Object.keys(this.defs).length}`;
        this.defs[name] = {}; // reserved before the definition draws refs of its own
        this.defs[name] = this.value(depth + 1);
        return { $ref: `#/$defs/${name}` };
      }
    }
  }
}
