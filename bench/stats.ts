// Statistics shared by the benchmarks: the median of a sample (benchmarks report medians; this
// VM's speed drifts, so single samples are never reported).

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
