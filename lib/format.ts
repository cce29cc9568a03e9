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

/** Text from outside (the network, another process's file), safe to print: no control characters, at most `max` characters. */
export function printable(s: string, max = 300): string {
  return s.trim().slice(0, max).replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '?');
}

/** A span of time, ms, in its two largest units: 850 ms, 12.3 s, 4m 05s, 3h 12m, 2d 04h. */
export function span(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 0) return `-${span(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d ${two(Math.floor(s / 3600) % 24)}h`;
}

/** A local date and time as logs print it: 2026-12-06 05:26:13. */
export function localTime(d: Date, withMs = false): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const t = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return withMs ? `${t}.${p(d.getMilliseconds(), 3)}` : t;
}
