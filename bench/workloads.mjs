// The overhead workloads (bench/overhead.mjs, bench/published.mjs): a GC-heavy allocation
// churn and a setImmediate storm (loop-heavy). Each run() is one phase and returns its wall
// time (ms for the churn, ns per hop for the storm) and CPU time. One phase of each is
// ~15-20 ms here; callers run many, each after a full GC (not timed) so that every phase
// starts from the same heap.
export const WORKLOADS = {
  'gc-heavy': {
    unit: 'ms/phase',
    run() {
      // Allocation churn: short-lived objects (scavenges) and a retained set that is
      // replaced now and then (old-space growth, mark-compacts).
      const n = 200_000;
      const t = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      let keep = [];
      for (let i = 0; i < n; i++) {
        keep.push({ i, s: `item${i}`, a: [i, i + 1, i + 2] });
        if (keep.length > 40_000) keep = [];
      }
      const c = process.cpuUsage(c0);
      return { wall: Number(process.hrtime.bigint() - t) / 1e6, cpu: (c.user + c.system) / 1e3, sink: keep.length };
    },
  },
  'setImmediate storm': {
    unit: 'ns/hop',
    run() {
      const hops = 20_000;
      return new Promise((resolve) => {
        let i = 0;
        const t = process.hrtime.bigint();
        const c0 = process.cpuUsage();
        const hop = () => {
          if (++i < hops) return setImmediate(hop);
          const c = process.cpuUsage(c0);
          resolve({ wall: Number(process.hrtime.bigint() - t) / hops, cpu: ((c.user + c.system) * 1e3) / hops });
        };
        setImmediate(hop);
      });
    },
  },
};
