// VQGAN decoder (taming / Meta `Decoder`; HF v4.44 has none): conv_in from latentChannels -> mid
// (Res, Attn, Res) -> levels from the lowest resolution up, each numResBlocks+1 ResnetBlocks (+ Attn
// at attnResolutions) and an Upsample except at level 0 -> GN + swish -> conv_out. No tanh.
// Parameter list `decoder.up.{i}` is indexed by resolution level (i = levels−1 is the lowest).

import type { Tensor } from '../../engine/index.js';
import type { ParamStore } from '../../nn/params.js';
import {
  AttnBlock,
  ResnetBlock,
  Stages,
  conv,
  declareConv,
  declareNorm,
  normSwish,
  upsample,
  runLevelBlocks,
  runMid,
  type ConvParams,
  type NormParams,
  type VqForwardOptions,
} from './blocks.js';
import { latentGrid, type VqganConfig } from './config.js';

interface UpLevel {
  blocks: ResnetBlock[];
  attns: AttnBlock[];
  up: ConvParams | null;
}

export class VqDecoder {
  readonly convIn: ConvParams;
  readonly mid1: ResnetBlock;
  readonly midAttn: AttnBlock;
  readonly mid2: ResnetBlock;
  /** Indexed by resolution level, like the checkpoint (levels[0] is the full-resolution one). */
  readonly levels: UpLevel[];
  readonly normOut: NormParams;
  readonly convOut: ConvParams;
  /** Largest stage output per image (elements), for the inference buffers. */
  private readonly maxStage: number;

  /** Declares every `decoder.*` parameter in `store`. */
  constructor(store: ParamStore, readonly cfg: VqganConfig) {
    const p = 'decoder';
    const ch = cfg.baseChannels;
    const mult = cfg.channelMultiplier;
    const n = mult.length;
    let id = 1000; // distinct dropout seeds from the encoder's blocks
    let blockIn = ch * mult[n - 1];
    let res = latentGrid(cfg);
    let maxStage = blockIn * res * res;
    this.convIn = declareConv(store, `${p}.conv_in`, blockIn, cfg.latentChannels, 3);
    this.mid1 = new ResnetBlock(store, `${p}.mid.block_1`, blockIn, blockIn, cfg.dropout, id++);
    this.midAttn = new AttnBlock(store, `${p}.mid.attn_1`, blockIn);
    this.mid2 = new ResnetBlock(store, `${p}.mid.block_2`, blockIn, blockIn, cfg.dropout, id++);
    this.levels = new Array<UpLevel>(n);
    for (let i = n - 1; i >= 0; i--) {
      const blockOut = ch * mult[i];
      const level: UpLevel = { blocks: [], attns: [], up: null };
      maxStage = Math.max(maxStage, blockOut * res * res, i !== 0 ? blockOut * 4 * res * res : 0);
      for (let j = 0; j <= cfg.numResBlocks; j++) {
        level.blocks.push(new ResnetBlock(store, `${p}.up.${i}.block.${j}`, blockIn, blockOut, cfg.dropout, id++));
        blockIn = blockOut;
        if (cfg.attnResolutions.includes(res)) level.attns.push(new AttnBlock(store, `${p}.up.${i}.attn.${j}`, blockIn));
      }
      if (i !== 0) {
        level.up = declareConv(store, `${p}.up.${i}.upsample.conv`, blockIn, blockIn, 3);
        res *= 2;
      }
      this.levels[i] = level;
    }
    this.normOut = declareNorm(store, `${p}.norm_out`, blockIn);
    this.convOut = declareConv(store, `${p}.conv_out`, cfg.outChannels, blockIn, 3);
    this.maxStage = Math.max(maxStage, cfg.outChannels * res * res);
  }

  /** latent [B, latentChannels, g, g] (post_quant_conv output) -> pixels [B, outChannels, R, R]. */
  forward(z: Tensor, opts: VqForwardOptions = {}): Tensor {
    const cap = opts.capture;
    const cfg = this.cfg;
    const b = z.shape[0];
    const st = new Stages(z.engine, b * this.maxStage);
    let res = latentGrid(cfg);
    const c0 = this.convIn.w.shape[0];
    let h = st.run([b, c0, res, res], () => conv(z, this.convIn)); // [B, C, g, g]
    cap?.('conv_in', h);
    h = runMid(st, this.mid1, this.midAttn, this.mid2, h, opts); // [B, C, g, g]
    cap?.('mid', h);
    for (let i = this.levels.length - 1; i >= 0; i--) {
      const level = this.levels[i];
      const c = cfg.baseChannels * cfg.channelMultiplier[i];
      h = runLevelBlocks(st, level.blocks, level.attns, h, [b, c, res, res], opts); // [B, c, r, r]
      cap?.(`up.${i}.block_out`, h);
      if (level.up) {
        const inp = h;
        const up = level.up;
        res *= 2;
        h = st.run([b, c, res, res], () => upsample(inp, up)); // [B, c, 2r, 2r]
        cap?.(`up.${i}.upsample`, h);
      }
    }
    const inp = h;
    h = st.run([b, cfg.outChannels, res, res], () => conv(normSwish(inp, this.normOut), this.convOut)); // [B, outChannels, R, R]
    cap?.('conv_out', h);
    return h;
  }
}
