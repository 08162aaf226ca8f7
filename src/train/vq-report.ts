// Pictures of a VQGAN training run, as plain data (no file IO): the reconstruction sheet (original |
// reconstruction pairs laid out in a grid, uint8 RGB) and the loss-curve SVG (train loss and its
// reconstruction part per step, held-out PSNR on a second axis). vq-run.node.ts writes them to disk.

/** Pairs per row of the sheet; padding (pixels) around and between cells. */
const SHEET_PAIRS_PER_ROW = 4;
const SHEET_PAD = 2;

/** Sheet size for n image pairs of side r. */
export function sheetSize(n: number, r: number, pairsPerRow = SHEET_PAIRS_PER_ROW, pad = SHEET_PAD): { width: number; height: number } {
  const cols = Math.max(1, Math.min(n, pairsPerRow));
  const rows = Math.max(1, Math.ceil(n / pairsPerRow));
  return { width: pad + cols * (2 * r + pad), height: pad + rows * (r + pad) };
}

/**
 * Lays out originals[i] | recons[i] (uint8 RGB HWC, r×r each) in a grid on a mid-grey background;
 * returns RGB HWC bytes of sheetSize(n, r).
 */
export function composeSheet(originals: Uint8Array[], recons: Uint8Array[], r: number, pairsPerRow = SHEET_PAIRS_PER_ROW, pad = SHEET_PAD): { data: Uint8Array; width: number; height: number } {
  const n = Math.min(originals.length, recons.length);
  const { width, height } = sheetSize(n, r, pairsPerRow, pad);
  const data = new Uint8Array(width * height * 3).fill(128);
  const blit = (img: Uint8Array, x0: number, y0: number): void => {
    for (let y = 0; y < r; y++) data.set(img.subarray(y * r * 3, (y + 1) * r * 3), ((y0 + y) * width + x0) * 3);
  };
  for (let i = 0; i < n; i++) {
    const x0 = pad + (i % pairsPerRow) * (2 * r + pad);
    const y0 = pad + Math.floor(i / pairsPerRow) * (r + pad);
    blit(originals[i], x0, y0);
    blit(recons[i], x0 + r, y0);
  }
  return { data, width, height };
}

export interface CurvePoint {
  step: number;
  loss: number;
  recon: number;
}

export interface EvalPoint {
  step: number;
  psnr: number;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

/** An SVG line chart: loss and recon (left axis) against step; PSNR dots (right axis) if any. */
export function lossCurveSvg(points: readonly CurvePoint[], evals: readonly EvalPoint[] = [], title = 'VQGAN training'): string {
  const W = 720;
  const H = 400;
  const m = { l: 60, r: 60, t: 36, b: 44 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const maxStep = Math.max(1, ...points.map((p) => p.step), ...evals.map((e) => e.step));
  const ys = points.flatMap((p) => [p.loss, p.recon]).filter(Number.isFinite);
  const yMax = ys.length ? Math.max(...ys) * 1.05 : 1;
  const yMin = 0;
  const x = (s: number): number => m.l + (s / maxStep) * pw;
  const y = (v: number): number => m.t + ph - ((v - yMin) / (yMax - yMin || 1)) * ph;
  const ps = evals.map((e) => e.psnr).filter(Number.isFinite);
  const pMin = ps.length ? Math.floor(Math.min(...ps) - 1) : 0;
  const pMax = ps.length ? Math.ceil(Math.max(...ps) + 1) : 1;
  const yp = (v: number): number => m.t + ph - ((v - pMin) / (pMax - pMin || 1)) * ph;
  const line = (key: 'loss' | 'recon'): string =>
    points.filter((p) => Number.isFinite(p[key])).map((p, i) => `${i ? 'L' : 'M'}${x(p.step).toFixed(1)},${y(p[key]).toFixed(1)}`).join('');
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  out.push(`<path d="M${m.l},${m.t}V${m.t + ph}H${m.l + pw}" fill="none" stroke="black"/>`);
  for (let i = 0; i <= 4; i++) {
    const v = yMin + ((yMax - yMin) * i) / 4;
    const s = Math.round((maxStep * i) / 4);
    out.push(`<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${v.toPrecision(3)}</text>`);
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
    out.push(`<text x="${x(s)}" y="${m.t + ph + 16}" text-anchor="middle">${s}</text>`);
  }
  out.push(`<text x="${m.l + pw / 2}" y="${H - 8}" text-anchor="middle">step</text>`);
  out.push(`<path d="${line('loss')}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`);
  out.push(`<path d="${line('recon')}" fill="none" stroke="#ff7f0e" stroke-width="1.5"/>`);
  if (ps.length) {
    out.push(`<path d="M${m.l + pw},${m.t}V${m.t + ph}" fill="none" stroke="black"/>`);
    for (let i = 0; i <= 4; i++) {
      const v = pMin + ((pMax - pMin) * i) / 4;
      out.push(`<text x="${m.l + pw + 6}" y="${yp(v) + 4}">${v.toFixed(1)}</text>`);
    }
    for (const e of evals) if (Number.isFinite(e.psnr)) out.push(`<circle cx="${x(e.step).toFixed(1)}" cy="${yp(e.psnr).toFixed(1)}" r="3" fill="#2ca02c"/>`);
  }
  const legend = [
    ['#1f77b4', 'total loss'],
    ['#ff7f0e', 'L1 reconstruction'],
    ...(ps.length ? [['#2ca02c', 'held-out PSNR (dB, right)']] : []),
  ];
  legend.forEach(([c, label], i) => {
    out.push(`<rect x="${m.l + 10}" y="${m.t + 6 + i * 16}" width="10" height="10" fill="${c}"/>`);
    out.push(`<text x="${m.l + 26}" y="${m.t + 15 + i * 16}">${esc(label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
