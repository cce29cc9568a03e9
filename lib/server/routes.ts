// The monitor's endpoints, each with the query parameters it accepts: served by http.ts, and
// known to the CLI, which resolves any of them to the one it needs without loading the
// server or the native binding.
export const ROUTES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  '/': [],
  '/live.json': [],
  '/metrics': [],
  '/metrics.json': [],
  '/healthz': [],
  '/readyz': [],
  '/diagnose': ['window', 'format'],
  '/alerts': [],
  '/processes': [],
  '/debug/heap-snapshot': [],
  '/debug/cpu-profile': ['seconds'],
  // and /debug/stalls/<id>.cpuprofile (http.ts matches the id)
  '/debug/stalls': [],
});
