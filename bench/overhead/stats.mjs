// Small, dependency-free statistics for the benchmarks.

export function sorted(values) {
  return [...values].sort((a, b) => a - b)
}

export function median(values) {
  if (values.length === 0) return NaN
  const s = sorted(values)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

function binomialCdf(k, n) {
  // P(X <= k) for X ~ Binomial(n, 1/2)
  let sum = 0
  let c = 1
  for (let i = 0; i <= k; i++) {
    sum += c
    c = (c * (n - i)) / (i + 1)
  }
  return sum / 2 ** n
}

/**
 * Distribution-free confidence interval for the median from order
 * statistics: [x(l), x(n+1-l)] with the largest l whose coverage
 * 1 - 2·P(Binomial(n, ½) ≤ l-1) is still at least `level`. Returns the
 * interval and its exact coverage; with too few values for `level` it
 * returns [min, max] and says how much that covers.
 */
export function medianInterval(values, level = 0.95) {
  const s = sorted(values)
  const n = s.length
  if (n === 0) return { low: NaN, high: NaN, coverage: 0 }
  let l = 1
  while (l + 1 <= n - l && 1 - 2 * binomialCdf(l, n) >= level) l++
  const coverage = 1 - 2 * binomialCdf(l - 1, n)
  return { low: s[l - 1], high: s[n - l], coverage }
}

export function round(value, digits = 3) {
  if (!Number.isFinite(value)) return value
  const f = 10 ** digits
  return Math.round(value * f) / f
}
