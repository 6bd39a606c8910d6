/** Human-readable numbers for CLI output. */

/** A byte count with `decimals` in the largest binary unit that keeps it ≥ 1 (bytes as a whole number). */
export function binaryBytes(bytes: number, decimals: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : decimals)} ${units[unit]}`;
}

export function formatBytes(bytes: number): string {
  return `${binaryBytes(bytes, 2)} (${bytes.toLocaleString('en-US')} bytes)`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B (${n.toLocaleString('en-US')})`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M (${n.toLocaleString('en-US')})`;
  return n.toLocaleString('en-US');
}
