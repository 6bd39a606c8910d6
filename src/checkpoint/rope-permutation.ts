/**
 * Hugging Face stores q/k projection rows in rotate-half order; we keep Mistral's interleaved-pair order
 * (spec §2.3). Per head of `headDim` rows:
 *   Mistral_row(h·D + 2p + c) = HF_row(h·D + c·D/2 + p)
 * Rows are whole input vectors, so the permutation works on raw bytes of any dtype.
 */
export function hfRowsToInterleaved(data: Uint8Array, rows: number, heads: number): Uint8Array {
  return permuteRows(data, rows, heads, 'toInterleaved');
}

/** The forward direction (Mistral → HF), used to write HF-layout files and in tests. */
export function interleavedRowsToHf(data: Uint8Array, rows: number, heads: number): Uint8Array {
  return permuteRows(data, rows, heads, 'toHf');
}

function permuteRows(
  data: Uint8Array,
  rows: number,
  heads: number,
  direction: 'toInterleaved' | 'toHf',
): Uint8Array {
  const headDim = rows / heads;
  const rowBytes = data.byteLength / rows;
  const half = headDim / 2;
  const out = new Uint8Array(data.byteLength);
  for (let h = 0; h < heads; h++) {
    for (let p = 0; p < half; p++) {
      for (let c = 0; c < 2; c++) {
        const hfRow = h * headDim + c * half + p;
        const mistralRow = h * headDim + 2 * p + c;
        const [from, to] = direction === 'toInterleaved' ? [hfRow, mistralRow] : [mistralRow, hfRow];
        out.set(data.subarray(from * rowBytes, (from + 1) * rowBytes), to * rowBytes);
      }
    }
  }
  return out;
}
