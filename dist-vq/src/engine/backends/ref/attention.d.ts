import type { AttentionParams, F32, I32 } from '../../kernels.js';
/** Row softmax with the row max subtracted; a row whose max is -Infinity (all masked) becomes zeros. */
export declare function softmax(x: F32, out: F32, rows: number, dim: number): void;
/** gx = y ⊙ (gy − Σ y·gy) per row. */
export declare function softmaxBackward(y: F32, gy: F32, gx: F32, rows: number, dim: number): void;
/**
 * out[b, t, h] = Σ_s softmax_s(scale · q[b, t, h]·k[b, s, h']) · v[b, s, h'] over visible keys s, with
 * h' = floor(h / (hq/hkv)). probs [B, hq, tq, tk] (if given) gets the probabilities, 0 where masked;
 * a query with no visible key gets out = 0 and a zero probs row.
 */
export declare function attention(q: F32, k: F32, v: F32, out: F32, probs: F32 | null, p: AttentionParams): void;
/**
 * Backward of attention from the saved probs P: with dP_s = gOut·v_s and dS_s = P_s·(dP_s − Σ P·dP),
 * gq = scale·Σ_s dS_s·k_s, gk_s += scale·dS_s·q, gv_s += P_s·gOut (summed over the query heads of each
 * kv head and over queries). gq is [B, tq, hq, D]; gk, gv are written dense [B, tk, hkv, D] even when
 * k, v use a larger kvBatchStride. Masked keys have P = 0 and receive nothing from that query.
 */
export declare function attentionBackward(q: F32, k: F32, v: F32, probs: F32, gOut: F32, gq: F32, gk: F32, gv: F32, p: AttentionParams): void;
/**
 * Rotate-half RoPE on x [batch, t, heads, dim] with positions [batch, t]: for i < dim/2,
 * (x_i, x_{i+dim/2}) -> (x_i·cos − x_{i+dim/2}·sin, x_{i+dim/2}·cos + x_i·sin), sin negated when inverse.
 * Frequencies and angles are rounded to f32 as Hugging Face computes them (inv_freq_i =
 * 1/theta^(2i/dim), angle = pos·inv_freq_i, cos/sin of the f32 angle, all fp32). out may alias x.
 */
export declare function rope(x: F32, out: F32, positions: I32, batch: number, t: number, heads: number, dim: number, theta: number, inverse: boolean): void;
