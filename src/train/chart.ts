// SVG line charts for training reports: several named series against a step axis, linear or log
// y scale (norms and losses that spike read better on a log axis), optional smoothing drawn over
// the faint raw line, and vertical event markers (divergence, rollback). Pure string building: no
// file access (plot.node.ts writes the files), no DOM.

export interface Series {
  label: string;
  /** [x, y] pairs in x order; non-finite y values break the line (they are drawn as gaps). */
  points: readonly (readonly [number, number])[];
  color?: string;
  /** Draw dots instead of a line (sparse series such as validation loss). */
  dots?: boolean;
  /** Exponential smoothing factor in [0, 1) for the bold line (the raw line stays faint); 0 = none. */
  smooth?: number;
}

export interface Marker {
  x: number;
  label: string;
  color?: string;
  /** A short unlabelled tick on the x axis instead of a labelled line (frequent, minor events). */
  tick?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel?: string;
  yLabel?: string;
  logY?: boolean;
  markers?: readonly Marker[];
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Exponential moving average of the finite values (gaps stay gaps). */
export function emaSmooth(points: readonly (readonly [number, number])[], alpha: number): [number, number][] {
  let acc = NaN;
  return points.map(([x, y]) => {
    if (!Number.isFinite(y)) return [x, y];
    acc = Number.isFinite(acc) ? alpha * acc + (1 - alpha) * y : y;
    return [x, acc];
  });
}

/** Up to five round tick values covering [lo, hi] (1, 2, 5 × 10^k steps). */
function niceTicks(lo: number, hi: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Ticks of a log axis spanning 10^lo .. 10^hi: the decades, plus 2× and 5× when fewer than three decades show. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const few = Math.floor(hi) - Math.ceil(lo) < 2;
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const f of few ? [1, 2, 5] : [1]) {
      const v = f * 10 ** e;
      const l = Math.log10(v);
      if (l >= lo && l <= hi) out.push(Number(v.toPrecision(12)));
    }
  }
  return out;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

/** One chart as an SVG document. Series with no finite point are listed in the legend as "(no data)". */
export function lineChartSvg(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 760;
  const H = o.height ?? 420;
  const m = { l: 70, r: 24, t: 40, b: 48 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const logY = o.logY ?? false;
  const finite = (y: number): boolean => Number.isFinite(y) && (!logY || y > 0);
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).concat((o.markers ?? []).map((mk) => mk.x));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]).filter(finite));
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  let yLo = ys.length ? Math.min(...ys) : 0;
  let yHi = ys.length ? Math.max(...ys) : 1;
  if (logY) {
    yLo = Math.log10(yLo);
    yHi = Math.log10(yHi);
  }
  if (yHi === yLo) {
    yHi += 0.5;
    yLo -= 0.5;
  }
  const pad = (yHi - yLo) * 0.05;
  yLo -= pad;
  yHi += pad;
  const x = (v: number): number => m.l + ((v - xMin) / (xMax - xMin || 1)) * pw;
  const y = (v: number): number => m.t + ph - (((logY ? Math.log10(v) : v) - yLo) / (yHi - yLo)) * ph;
  const path = (pts: readonly (readonly [number, number])[]): string => {
    let d = '';
    let pen = false;
    for (const [px, py] of pts) {
      if (!finite(py)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(px).toFixed(1)},${y(py).toFixed(1)}`;
      pen = true;
    }
    return d;
  };
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`);
  // Grid and axes.
  const yTicks = logY ? logTicks(yLo, yHi) : niceTicks(yLo, yHi);
  for (const v of yTicks) {
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${yy}" y2="${yy}" stroke="#e8e8e8"/>`);
    out.push(`<text x="${m.l - 6}" y="${Number(yy) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  for (const v of niceTicks(xMin, xMax)) {
    const xx = x(v).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${m.t + ph}" y2="${m.t + ph + 4}" stroke="black"/>`);
    out.push(`<text x="${xx}" y="${m.t + ph + 18}" text-anchor="middle">${fmt(v)}</text>`);
  }
  out.push(`<path d="M${m.l},${m.t}V${m.t + ph}H${m.l + pw}" fill="none" stroke="black"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel ?? 'step')}</text>`);
  if (o.yLabel) out.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel + (logY ? ' (log)' : ''))}</text>`);
  for (const mk of o.markers ?? []) {
    const xx = x(mk.x).toFixed(1);
    const c = mk.color ?? '#d62728';
    if (mk.tick) {
      out.push(`<line x1="${xx}" x2="${xx}" y1="${m.t + ph - 8}" y2="${m.t + ph}" stroke="${c}" stroke-width="1.5"><title>${esc(mk.label)}</title></line>`);
      continue;
    }
    out.push(`<line x1="${xx}" x2="${xx}" y1="${m.t}" y2="${m.t + ph}" stroke="${c}" stroke-dasharray="4 3"/>`);
    // Labels near the right edge go on the marker's left so they stay inside the chart.
    const right = Number(xx) > m.l + pw * 0.8;
    out.push(`<text x="${Number(xx) + (right ? -3 : 3)}" y="${m.t + 12}" fill="${c}" font-size="11" text-anchor="${right ? 'end' : 'start'}">${esc(mk.label)}</text>`);
  }
  series.forEach((s, i) => {
    const c = s.color ?? PALETTE[i % PALETTE.length];
    if (s.dots) {
      for (const [px, py] of s.points) if (finite(py)) out.push(`<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3" fill="${c}"/>`);
    } else if (s.smooth && s.smooth > 0) {
      out.push(`<path d="${path(s.points)}" fill="none" stroke="${c}" stroke-opacity="0.25" stroke-width="1"/>`);
      out.push(`<path d="${path(emaSmooth(s.points, s.smooth))}" fill="none" stroke="${c}" stroke-width="1.8"/>`);
    } else {
      out.push(`<path d="${path(s.points)}" fill="none" stroke="${c}" stroke-width="1.6"/>`);
    }
  });
  series.forEach((s, i) => {
    const c = s.color ?? PALETTE[i % PALETTE.length];
    const has = s.points.some((p) => finite(p[1]));
    const ly = m.t + 8 + i * 16;
    out.push(`<rect x="${m.l + pw - 200}" y="${ly}" width="10" height="10" fill="${c}"/>`);
    out.push(`<text x="${m.l + pw - 184}" y="${ly + 9}">${esc(s.label + (has ? '' : ' (no data)'))}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
