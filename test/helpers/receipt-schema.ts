/** A small receipt schema the structured-output tests share (an enum, an integer, a boolean; closed object). */
export const RECEIPT_SCHEMA = {
  type: 'object',
  properties: {
    merchant: { enum: ['ACME', 'Globex'] },
    total_cents: { type: 'integer' },
    paid: { type: 'boolean' },
  },
  required: ['merchant', 'total_cents', 'paid'],
  additionalProperties: false,
};
