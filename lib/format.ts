// Numbers as people read them (the CLI's tables, diagnose()'s report).

/** A value in its unit, readable: ns → µs/ms/s, bytes → KiB/MiB/GiB. */
export function human(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (unit === 'ns') {
    const a = Math.abs(v);
    return a >= 1e9 ? `${(v / 1e9).toFixed(2)} s` : a >= 1e6 ? `${(v / 1e6).toFixed(2)} ms` : a >= 1e3 ? `${(v / 1e3).toFixed(1)} µs` : `${v.toFixed(0)} ns`;
  }
  if (unit === 'us') return human(v * 1e3, 'ns');
  if (unit === 'By') {
    const a = Math.abs(v);
    return a >= 2 ** 30 ? `${(v / 2 ** 30).toFixed(2)} GiB` : a >= 2 ** 20 ? `${(v / 2 ** 20).toFixed(1)} MiB` : a >= 1024 ? `${(v / 1024).toFixed(1)} KiB` : `${v} B`;
  }
  if (unit === '1') return v <= 1 && v >= 0 ? `${(v * 100).toFixed(2)} %` : String(v);
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}

/** `n` and the noun in the number it takes: "1 stall", "2 stalls". */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}
