/** Human-readable numbers for CLI output. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 2)} ${units[unit]} (${bytes.toLocaleString('en-US')} bytes)`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B (${n.toLocaleString('en-US')})`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M (${n.toLocaleString('en-US')})`;
  return n.toLocaleString('en-US');
}
