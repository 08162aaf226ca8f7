// The VQGAN image tokenizer as one config-driven object: parameters in a ParamStore under the
// checkpoint names without `model.vqmodel.`, encode (pixels -> codes), decodeCodes (codes -> pixels),
// the differentiable training path (encoder -> straight-through quantizer -> decoder) and uint8
// post-processing. Leaves out image file decoding/resizing (pre-processing) and the GAN/perceptual losses.

import type { Engine, Tensor } from '../../engine/index.js';
import { ParamStore, type LoadOptions, type TensorSource } from '../../nn/params.js';
import { ChameleonError, ShapeError, fmtShape } from '../../util/errors.js';
import { Conv2d, Embedding } from '../../nn/modules.js';
import type { VqForwardOptions } from './blocks.js';
import { latentGrid, validateVqganConfig, type VqganConfig } from './config.js';
import { VqDecoder } from './decoder.js';
import { VqEncoder } from './encoder.js';
import { lookupCodes, quantize, quantizeStraightThrough, type StraightThroughOptions } from './quantizer.js';

/** Prefix of the VQGAN tensors inside a Chameleon checkpoint. */
export const VQ_CHECKPOINT_PREFIX = 'model.vqmodel.';

export interface VqganParts {
  /** Declare `encoder.*` (default true). */
  encoder?: boolean;
  /** Declare `decoder.*` (default false: Hugging Face checkpoints have no decoder). */
  decoder?: boolean;
}

export interface EncodeResult {
  /** [B·g·g] codes, raster order per image (image b's codes are indices[b·g² .. (b+1)·g²)). */
  indices: Int32Array;
  batch: number;
  /** Latent grid side g. */
  grid: number;
  /** Codebook vectors [B, D, g, g]. */
  quantized: Tensor;
  /** Encoder output (before quant_conv) [B, latentChannels, g, g]. */
  encoderOut: Tensor;
  /** quant_conv output (the vectors that are quantized) [B, D, g, g]. */
  quantConvOut: Tensor;
  /** Second-best minus best distance per code (near-tie diagnostics). */
  margins: Float32Array;
}

export interface ReconstructResult {
  /** Decoded pixels [B, outChannels, R, R], differentiable. */
  recon: Tensor;
  indices: Int32Array;
  codebookLoss: Tensor;
  commitmentLoss: Tensor;
  /** Weighted codebook + commitment loss (scalar tensor). */
  vqLoss: Tensor;
}

export class Vqgan {
  readonly store: ParamStore;
  readonly encoder: VqEncoder | null;
  readonly decoder: VqDecoder | null;
  readonly quant_conv: Conv2d; // [D, zc(×2), 1, 1]
  readonly post_quant_conv: Conv2d; // [zc, D, 1, 1]
  /** `quantize.embedding` [numEmbeddings, embedDim], always f32. */
  readonly quantize: { readonly embedding: Embedding };
  private ready = false;

  /**
   * Declares the parameters (zeros until load() or initialize()). quant_conv, the codebook and
   * post_quant_conv are always present, as in every Chameleon checkpoint.
   */
  constructor(readonly engine: Engine, readonly cfg: VqganConfig, parts: VqganParts = {}) {
    validateVqganConfig(cfg);
    this.store = new ParamStore(engine); // every VQGAN tensor is f32 (the decode parity is exact to the uint8)
    const p = this.store.pp();
    const zc = cfg.latentChannels;
    this.encoder = (parts.encoder ?? true) ? new VqEncoder(p, cfg) : null;
    this.quant_conv = new Conv2d(p.pp('quant_conv'), zc * (cfg.doubleLatent ? 2 : 1), cfg.embedDim, 1);
    const bound = 1 / cfg.numEmbeddings;
    this.quantize = { embedding: new Embedding(p.pp('quantize').pp('embedding'), cfg.numEmbeddings, cfg.embedDim, { init: { kind: 'uniform', bound } }) };
    this.post_quant_conv = new Conv2d(p.pp('post_quant_conv'), cfg.embedDim, zc, 1);
    this.decoder = parts.decoder ? new VqDecoder(p, cfg) : null;
  }

  /** The codebook `quantize.embedding.weight` [numEmbeddings, embedDim]. */
  get codebook(): Tensor {
    return this.quantize.embedding.weight;
  }

  /**
   * Builds a Vqgan whose decoder exists iff `src` holds `model.vqmodel.decoder.*` tensors, and loads it.
   * (Hugging Face checkpoints: encoder only; decodeCodes then explains what is missing.)
   */
  static fromCheckpoint(engine: Engine, cfg: VqganConfig, src: TensorSource, opts: Omit<LoadOptions, 'prefix'> = {}): Vqgan {
    const prefix = `${VQ_CHECKPOINT_PREFIX}decoder.`;
    const hasDecoder = [...src.tensors().keys()].some((n) => n.startsWith(prefix));
    const vq = new Vqgan(engine, cfg, { encoder: true, decoder: hasDecoder });
    vq.load(src, opts);
    return vq;
  }

  /** Latent grid side (32 for Chameleon). */
  get grid(): number {
    return latentGrid(this.cfg);
  }

  /** Loads every declared parameter from `model.vqmodel.*` tensors of src (always as f32). */
  load(src: TensorSource, opts: Omit<LoadOptions, 'prefix'> = {}): void {
    this.store.load(src, { ...opts, prefix: VQ_CHECKPOINT_PREFIX });
    this.ready = true;
  }

  /** Seeded random initialisation (for training from scratch). */
  initialize(seed: number): void {
    this.store.initialize(seed);
    this.ready = true;
  }

  private assertReady(op: string): void {
    if (!this.ready) throw new ChameleonError(`Vqgan.${op}: weights are not loaded (call load() or initialize() first)`);
  }

  private requireEncoder(op: string): VqEncoder {
    this.assertReady(op);
    if (!this.encoder) throw new ChameleonError(`Vqgan.${op}: this Vqgan was built without an encoder ({ encoder: false })`);
    return this.encoder;
  }

  private requireDecoder(op: string): VqDecoder {
    this.assertReady(op);
    if (!this.decoder) {
      throw new ChameleonError(
        `Vqgan.${op}: no VQGAN decoder weights (model.vqmodel.decoder.*) are loaded. Hugging Face Chameleon ` +
          `checkpoints contain only the encoder; load a checkpoint with the decoder (Meta's vqgan.ckpt converted ` +
          `to safetensors) and build the Vqgan with { decoder: true } to turn image codes into pixels`,
      );
    }
    return this.decoder;
  }

  private checkPixels(op: string, x: Tensor): void {
    const { inChannels: c, resolution: r } = this.cfg;
    if (x.dtype !== 'f32' || x.rank !== 4 || x.shape[1] !== c || x.shape[2] !== r || x.shape[3] !== r || x.shape[0] < 1) {
      throw new ShapeError(
        `Vqgan.${op}: pixels must be an f32 tensor [B, ${c}, ${r}, ${r}] in [-1, 1] (this tokenizer's resolution is ` +
          `${r}×${r}; resize/crop first), got ${x.dtype} ${fmtShape(x.shape)}`,
      );
    }
  }

  /** Encoder + quant_conv: pixels [B, C, R, R] -> latents [B, D, g, g]. Differentiable. */
  encodeLatent(pixels: Tensor, opts: VqForwardOptions = {}): Tensor {
    const enc = this.requireEncoder('encodeLatent');
    this.checkPixels('encodeLatent', pixels);
    return this.quant_conv.forward(enc.forward(pixels, opts)); // [B, D, g, g]
  }

  /**
   * Tokenizes images: pixels [B, C, R, R] in [−1, 1] -> codes (raster order) and the tensors along
   * the way. Runs without autograd; returned tensors live in the caller's scope.
   */
  encode(pixels: Tensor, opts: Pick<VqForwardOptions, 'capture'> = {}): EncodeResult {
    const enc = this.requireEncoder('encode');
    this.checkPixels('encode', pixels);
    return this.engine.noGrad(() => {
      const encoderOut = enc.forward(pixels, { capture: opts.capture }); // [B, zc, g, g]
      const quantConvOut = this.quant_conv.forward(encoderOut); // [B, D, g, g]
      const { indices, quantized, margins } = quantize(quantConvOut, this.codebook);
      return { indices, batch: pixels.shape[0], grid: this.grid, quantized, encoderOut, quantConvOut, margins };
    });
  }

  /** post_quant_conv + decoder: quantized [B, D, g, g] -> pixels [B, outChannels, R, R]. Differentiable. */
  decodeLatent(quantized: Tensor, opts: VqForwardOptions = {}): Tensor {
    const dec = this.requireDecoder('decodeLatent');
    const { embedDim: d } = this.cfg;
    const g = this.grid;
    if (quantized.rank !== 4 || quantized.shape[1] !== d || quantized.shape[2] !== g || quantized.shape[3] !== g) {
      throw new ShapeError(`Vqgan.decodeLatent: latents must be [B, ${d}, ${g}, ${g}], got ${fmtShape(quantized.shape)}`);
    }
    const z = this.post_quant_conv.forward(quantized); // [B, zc, g, g]
    opts.capture?.('post_quant_conv', z);
    return dec.forward(z, opts); // [B, outChannels, R, R]
  }

  /**
   * Renders codes: `indices` holds batch·g² codes in raster order -> pixels [B, outChannels, R, R]
   * (roughly [−1, 1]; see toUint8HWC). Runs without autograd.
   */
  decodeCodes(indices: ArrayLike<number>, batch = 1, opts: Pick<VqForwardOptions, 'capture'> = {}): Tensor {
    this.requireDecoder('decodeCodes');
    const g = this.grid;
    if (!Number.isInteger(batch) || batch < 1 || indices.length !== batch * g * g) {
      throw new ShapeError(`Vqgan.decodeCodes: expected ${batch}×${g * g} = ${batch * g * g} codes (${g}×${g} per image), got ${indices.length}`);
    }
    for (let i = 0; i < indices.length; i++) {
      const v = indices[i];
      if (!Number.isInteger(v) || v < 0 || v >= this.cfg.numEmbeddings) {
        throw new ShapeError(`Vqgan.decodeCodes: code ${v} at position ${i} is outside the codebook [0, ${this.cfg.numEmbeddings})`);
      }
    }
    return this.engine.noGrad(() => {
      const q = lookupCodes(this.codebook, indices, batch, g, g); // [B, D, g, g]
      opts.capture?.('codebook_vectors', q);
      return this.decodeLatent(q, { capture: opts.capture });
    });
  }

  /**
   * Training forward pass: encoder -> quant_conv -> straight-through quantizer (codebook and
   * commitment losses, β default 0.25) -> post_quant_conv -> decoder, all recorded for autograd.
   * The caller adds its reconstruction loss on `recon` and calls backward().
   */
  reconstruct(pixels: Tensor, opts: StraightThroughOptions & Pick<VqForwardOptions, 'dropoutSeed'> = {}): ReconstructResult {
    this.requireDecoder('reconstruct');
    const z = this.encodeLatent(pixels, { dropoutSeed: opts.dropoutSeed }); // [B, D, g, g]
    const st = quantizeStraightThrough(z, this.codebook, opts);
    const recon = this.decodeLatent(st.quantized, { dropoutSeed: opts.dropoutSeed }); // [B, C, R, R]
    return { recon, indices: st.indices, codebookLoss: st.codebookLoss, commitmentLoss: st.commitmentLoss, vqLoss: st.loss };
  }
}

/**
 * Meta's post-processing: clamp to [−1, 1], (x + 1) / 2, × 255 in f32, truncate to uint8, channels
 * last. pixels [B, C, H, W] (or [C, H, W]) -> bytes [B, H, W, C].
 */
export function toUint8HWC(pixels: Tensor): Uint8Array {
  if (pixels.rank !== 3 && pixels.rank !== 4) throw new ShapeError(`toUint8HWC: pixels must be [B, C, H, W] or [C, H, W], got ${fmtShape(pixels.shape)}`);
  const [b, c, h, w] = pixels.rank === 4 ? pixels.shape : [1, ...pixels.shape];
  const x = pixels.toFloat32();
  const out = new Uint8Array(b * h * w * c);
  const f = Math.fround;
  for (let n = 0; n < b; n++) {
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < h * w; i++) {
        const v = Math.min(1, Math.max(-1, x[(n * c + ch) * h * w + i]));
        out[(n * h * w + i) * c + ch] = Math.trunc(f(f(f(v + 1) / 2) * 255));
      }
    }
  }
  return out;
}

/** Pads a partial code list to `n` codes with copies of the first code (Meta's streaming preview). */
export function padCodes(codes: ArrayLike<number>, n: number): Int32Array {
  if (codes.length === 0 || codes.length > n) throw new ShapeError(`padCodes: cannot pad ${codes.length} codes to ${n}`);
  const out = new Int32Array(n).fill(codes[0]);
  out.set(Array.from(codes));
  return out;
}

/**
 * One TensorSource over several (e.g. an HF model.safetensors plus a decoder-only file); a name
 * present in several sources is read from the first that has it.
 */
export function combineSources(...sources: TensorSource[]): TensorSource {
  const owner = new Map<string, TensorSource>();
  const infos = new Map<string, { dtype: string; shape: readonly number[]; byteLength: number }>();
  for (const s of sources) {
    for (const [name, info] of s.tensors()) {
      if (owner.has(name)) continue;
      owner.set(name, s);
      infos.set(name, info);
    }
  }
  return {
    tensors: () => infos,
    readInto: (name, dest) => {
      const s = owner.get(name);
      if (!s) throw new ChameleonError(`combineSources: no tensor named ${name}`);
      s.readInto(name, dest);
    },
  };
}
