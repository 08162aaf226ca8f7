// Statistics shared by the benchmarks: the median of a sample (benchmarks report medians; this
// VM's speed drifts, so single samples are never reported) and percentiles (latency tails).

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * The p-th percentile (0-100) with linear interpolation between the closest ranks (numpy's default:
 * rank p/100 * (n - 1) of the sorted sample); NaN for an empty sample.
 */
export function percentile(xs: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be in [0, 100], got ${p}`);
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const r = (p / 100) * (s.length - 1);
  const lo = Math.floor(r);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (r - lo);
}
