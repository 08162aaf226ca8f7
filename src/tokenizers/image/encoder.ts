// VQGAN encoder (taming `Encoder`, HF `ChameleonVQVAEEncoder`): conv_in -> per level
// numResBlocks ResnetBlocks (+ AttnBlocks at attnResolutions) and a Downsample except at the last
// level -> mid (Res, Attn, Res) -> GN + swish -> conv_out to latentChannels (×2 if doubleLatent).
// quant_conv and the quantizer live in vqgan.ts; this file only maps pixels to the latent map.

import type { Tensor } from '../../engine/index.js';
import type { ParamStore } from '../../nn/params.js';
import {
  AttnBlock,
  ResnetBlock,
  Stages,
  conv,
  declareConv,
  declareNorm,
  downsample,
  normSwish,
  runLevelBlocks,
  runMid,
  type ConvParams,
  type NormParams,
  type VqForwardOptions,
} from './blocks.js';
import type { VqganConfig } from './config.js';

interface DownLevel {
  blocks: ResnetBlock[];
  attns: AttnBlock[];
  down: ConvParams | null;
}

export class VqEncoder {
  readonly convIn: ConvParams;
  readonly levels: DownLevel[] = [];
  readonly mid1: ResnetBlock;
  readonly midAttn: AttnBlock;
  readonly mid2: ResnetBlock;
  readonly normOut: NormParams;
  readonly convOut: ConvParams;
  /** Largest stage output per image (elements), for the inference buffers. */
  private readonly maxStage: number;

  /** Declares every `encoder.*` parameter in `store`. */
  constructor(store: ParamStore, readonly cfg: VqganConfig) {
    const p = 'encoder';
    const ch = cfg.baseChannels;
    const mult = cfg.channelMultiplier;
    let id = 0;
    this.convIn = declareConv(store, `${p}.conv_in`, ch, cfg.inChannels, 3);
    let res = cfg.resolution;
    let blockIn = ch;
    let maxStage = ch * res * res;
    for (let i = 0; i < mult.length; i++) {
      const blockOut = ch * mult[i];
      maxStage = Math.max(maxStage, blockOut * res * res);
      const level: DownLevel = { blocks: [], attns: [], down: null };
      for (let j = 0; j < cfg.numResBlocks; j++) {
        level.blocks.push(new ResnetBlock(store, `${p}.down.${i}.block.${j}`, blockIn, blockOut, cfg.dropout, id++));
        blockIn = blockOut;
        if (cfg.attnResolutions.includes(res)) level.attns.push(new AttnBlock(store, `${p}.down.${i}.attn.${j}`, blockIn));
      }
      if (i !== mult.length - 1) {
        level.down = declareConv(store, `${p}.down.${i}.downsample.conv`, blockIn, blockIn, 3);
        res /= 2;
      }
      this.levels.push(level);
    }
    this.mid1 = new ResnetBlock(store, `${p}.mid.block_1`, blockIn, blockIn, cfg.dropout, id++);
    this.midAttn = new AttnBlock(store, `${p}.mid.attn_1`, blockIn);
    this.mid2 = new ResnetBlock(store, `${p}.mid.block_2`, blockIn, blockIn, cfg.dropout, id++);
    this.normOut = declareNorm(store, `${p}.norm_out`, blockIn);
    const zc = cfg.doubleLatent ? 2 * cfg.latentChannels : cfg.latentChannels;
    this.convOut = declareConv(store, `${p}.conv_out`, zc, blockIn, 3);
    this.maxStage = Math.max(maxStage, zc * res * res);
  }

  /** pixels [B, inChannels, R, R] in [−1, 1] -> latent [B, latentChannels(×2), R/f, R/f]. */
  forward(x: Tensor, opts: VqForwardOptions = {}): Tensor {
    const cap = opts.capture;
    const cfg = this.cfg;
    const b = x.shape[0];
    const st = new Stages(x.engine, b * this.maxStage);
    let res = cfg.resolution;
    let h = st.run([b, cfg.baseChannels, res, res], () => conv(x, this.convIn)); // [B, ch, R, R]
    cap?.('conv_in', h);
    this.levels.forEach((level, i) => {
      const c = cfg.baseChannels * cfg.channelMultiplier[i];
      h = runLevelBlocks(st, level.blocks, level.attns, h, [b, c, res, res], opts); // [B, c, r, r]
      cap?.(`down.${i}.block_out`, h);
      if (level.down) {
        const inp = h;
        const dp = level.down;
        res /= 2;
        h = st.run([b, c, res, res], () => downsample(inp, dp)); // [B, c, r/2, r/2]
        cap?.(`down.${i}.downsample`, h);
      }
    });
    h = runMid(st, this.mid1, this.midAttn, this.mid2, h, opts); // [B, C, g, g]
    cap?.('mid', h);
    const inp = h;
    h = st.run([b, this.convOut.w.shape[0], res, res], () => conv(normSwish(inp, this.normOut), this.convOut)); // [B, zc, g, g]
    cap?.('conv_out', h);
    return h;
  }
}
