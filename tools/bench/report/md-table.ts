// Markdown building blocks shared by the report's sections: numbers that show
// "n/a" instead of NaN, sizes in MiB/GiB, and pipe tables.

export const MiB = 1048576;
const GiB = 1024 * MiB;

export function n(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** `1 GiB`, `256 MiB`: whole GiB when it divides evenly. */
export function sizeLabel(bytes: number): string {
  return bytes >= GiB && bytes % GiB === 0 ? `${n(bytes / GiB)} GiB` : `${n(bytes / MiB)} MiB`;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
