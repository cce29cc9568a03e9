// What the demo workload does (workload.ts) and when the demo command reports (cli.ts): one
// place for both, so the command's words match what runs.
export const DEMO = Object.freeze({
  /** Short-lived objects allocated every 10 ms. */
  churnObjects: 5_000,
  /** Objects kept in a ring, mediumLivedPerTick replaced every 10 ms: each lives ~1 s. */
  mediumLived: 100_000,
  mediumLivedPerTick: 1_000,
  /** The synchronous busy loop: how long, when first, how often. */
  stallMs: 300,
  stallFirstMs: 3_000,
  stallEveryMs: 10_000,
  /** Retained each second, up to leakMaxBytes. */
  leakBytesPerSec: 512 * 1024,
  leakMaxBytes: 128 * 2 ** 20,
  /** The first diagnose() report, then one each reportEveryMs. */
  reportEveryMs: 60_000,
});
