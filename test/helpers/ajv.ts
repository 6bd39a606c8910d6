/**
 * Validating answers with ajv, the way a client would: the formats the grammar writes are checked for real
 * (calendar dates, RFC 3339 times, ajv-formats' full email rule). Written against the API ajv 6 and 8 share.
 */
import AjvModule from 'ajv';

interface AjvLike {
  compile(schema: object): ((value: unknown) => boolean) & { errors?: unknown };
}
type AjvClass = new (options: object) => AjvLike;
/** ajv 6's CommonJS export is the class; ajv 8's is a module whose `default` is. */
const Ajv = ((AjvModule as unknown as { default?: AjvClass }).default ?? AjvModule) as unknown as AjvClass;

const isDate = (s: string) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const date = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === s;
};

const FORMATS = {
  date: isDate,
  'date-time': (s: string) => {
    const m = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.exec(s);
    return m !== null && isDate(m[1]!);
  },
  email:
    /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i,
};

/** A validator for `schema`: null when a value is valid, else ajv's errors as text. */
export function validator(schema: object): (value: unknown) => string | null {
  const ajv = new Ajv({ formats: FORMATS, strict: false });
  const validate = ajv.compile(schema);
  return (value) => (validate(value) ? null : JSON.stringify(validate.errors));
}
