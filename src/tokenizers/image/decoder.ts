// VQGAN decoder (taming / Meta `Decoder`; HF v4.44 has none): conv_in from latentChannels -> mid
// (Res, Attn, Res) -> levels from the lowest resolution up, each numResBlocks+1 ResnetBlocks (+ Attn
// at attnResolutions) and an Upsample except at level 0 -> GN + swish -> conv_out. No tanh.
// Parameter list `decoder.up.{i}` is indexed by resolution level (i = levels−1 is the lowest).

import type { Tensor } from '../../engine/index.js';
import type { ParamPath } from '../../nn/params.js';
import { Conv2d, type GroupNorm } from '../../nn/modules.js';
import { AttnBlock, ResnetBlock, Stages, upsample, normSwish, runLevelBlocks, runMid, vqNorm, type VqForwardOptions } from './blocks.js';
import { latentGrid, type VqganConfig } from './config.js';

/** One resolution level, `decoder.up.{i}` (fields named like the checkpoint keys). */
interface UpLevel {
  block: ResnetBlock[];
  attn: AttnBlock[];
  /** `upsample.conv`, absent at level 0. */
  upsample: { conv: Conv2d } | null;
}

export class VqDecoder {
  readonly conv_in: Conv2d;
  readonly mid: { block_1: ResnetBlock; attn_1: AttnBlock; block_2: ResnetBlock };
  /** Indexed by resolution level, like the checkpoint (up[0] is the full-resolution one). */
  readonly up: UpLevel[];
  readonly norm_out: GroupNorm;
  readonly conv_out: Conv2d;
  /** Largest stage output per image (elements), for the inference buffers. */
  private readonly maxStage: number;

  /** Declares every `decoder.*` parameter under `p` (the VQGAN's root path). */
  constructor(root: ParamPath, readonly cfg: VqganConfig) {
    const p = root.pp('decoder');
    const ch = cfg.baseChannels;
    const mult = cfg.channelMultiplier;
    const n = mult.length;
    let id = 1000; // distinct dropout seeds from the encoder's blocks
    let blockIn = ch * mult[n - 1];
    let res = latentGrid(cfg);
    let maxStage = blockIn * res * res;
    this.conv_in = new Conv2d(p.pp('conv_in'), cfg.latentChannels, blockIn, 3);
    const mid = p.pp('mid');
    this.mid = {
      block_1: new ResnetBlock(mid.pp('block_1'), blockIn, blockIn, cfg.dropout, id++),
      attn_1: new AttnBlock(mid.pp('attn_1'), blockIn),
      block_2: new ResnetBlock(mid.pp('block_2'), blockIn, blockIn, cfg.dropout, id++),
    };
    this.up = new Array<UpLevel>(n);
    for (let i = n - 1; i >= 0; i--) {
      const blockOut = ch * mult[i];
      const up = p.pp('up').pp(i);
      const level: UpLevel = { block: [], attn: [], upsample: null };
      maxStage = Math.max(maxStage, blockOut * res * res, i !== 0 ? blockOut * 4 * res * res : 0);
      for (let j = 0; j <= cfg.numResBlocks; j++) {
        level.block.push(new ResnetBlock(up.pp('block').pp(j), blockIn, blockOut, cfg.dropout, id++));
        blockIn = blockOut;
        if (cfg.attnResolutions.includes(res)) level.attn.push(new AttnBlock(up.pp('attn').pp(j), blockIn));
      }
      if (i !== 0) {
        level.upsample = { conv: new Conv2d(up.pp('upsample').pp('conv'), blockIn, blockIn, 3) };
        res *= 2;
      }
      this.up[i] = level;
    }
    this.norm_out = vqNorm(p.pp('norm_out'), blockIn);
    this.conv_out = new Conv2d(p.pp('conv_out'), blockIn, cfg.outChannels, 3);
    this.maxStage = Math.max(maxStage, cfg.outChannels * res * res);
  }

  /** latent [B, latentChannels, g, g] (post_quant_conv output) -> pixels [B, outChannels, R, R]. */
  forward(z: Tensor, opts: VqForwardOptions = {}): Tensor {
    const cap = opts.capture;
    const cfg = this.cfg;
    const b = z.shape[0];
    const st = new Stages(z.engine, b * this.maxStage);
    let res = latentGrid(cfg);
    const c0 = this.conv_in.outChannels;
    let h = st.run([b, c0, res, res], () => this.conv_in.forward(z)); // [B, C, g, g]
    cap?.('conv_in', h);
    h = runMid(st, this.mid.block_1, this.mid.attn_1, this.mid.block_2, h, opts); // [B, C, g, g]
    cap?.('mid', h);
    for (let i = this.up.length - 1; i >= 0; i--) {
      const level = this.up[i];
      const c = cfg.baseChannels * cfg.channelMultiplier[i];
      h = runLevelBlocks(st, level.block, level.attn, h, [b, c, res, res], opts); // [B, c, r, r]
      cap?.(`up.${i}.block_out`, h);
      if (level.upsample) {
        const inp = h;
        const up = level.upsample.conv;
        res *= 2;
        h = st.run([b, c, res, res], () => upsample(inp, up)); // [B, c, 2r, 2r]
        cap?.(`up.${i}.upsample`, h);
      }
    }
    const inp = h;
    h = st.run([b, cfg.outChannels, res, res], () => this.conv_out.forward(normSwish(inp, this.norm_out))); // [B, outChannels, R, R]
    cap?.('conv_out', h);
    return h;
  }
}
