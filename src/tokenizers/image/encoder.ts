// VQGAN encoder (taming `Encoder`, HF `ChameleonVQVAEEncoder`): conv_in -> per level
// numResBlocks ResnetBlocks (+ AttnBlocks at attnResolutions) and a Downsample except at the last
// level -> mid (Res, Attn, Res) -> GN + swish -> conv_out to latentChannels (×2 if doubleLatent).
// quant_conv and the quantizer live in vqgan.ts; this file only maps pixels to the latent map.

import type { Tensor } from '../../engine/index.js';
import type { ParamPath } from '../../nn/params.js';
import { Conv2d, type GroupNorm } from '../../nn/modules.js';
import { AttnBlock, ResnetBlock, Stages, downsampleConv, normSwish, runLevelBlocks, runMid, vqNorm, type VqForwardOptions } from './blocks.js';
import type { VqganConfig } from './config.js';

/** One resolution level, `encoder.down.{i}` (fields named like the checkpoint keys). */
interface DownLevel {
  block: ResnetBlock[];
  attn: AttnBlock[];
  /** `downsample.conv`, absent at the last level. */
  downsample: { conv: Conv2d } | null;
}

export class VqEncoder {
  readonly conv_in: Conv2d;
  readonly down: DownLevel[] = [];
  readonly mid: { block_1: ResnetBlock; attn_1: AttnBlock; block_2: ResnetBlock };
  readonly norm_out: GroupNorm;
  readonly conv_out: Conv2d;
  /** Largest stage output per image (elements), for the inference buffers. */
  private readonly maxStage: number;

  /** Declares every `encoder.*` parameter under `p` (the VQGAN's root path). */
  constructor(root: ParamPath, readonly cfg: VqganConfig) {
    const p = root.pp('encoder');
    const ch = cfg.baseChannels;
    const mult = cfg.channelMultiplier;
    let id = 0;
    this.conv_in = new Conv2d(p.pp('conv_in'), cfg.inChannels, ch, 3);
    let res = cfg.resolution;
    let blockIn = ch;
    let maxStage = ch * res * res;
    for (let i = 0; i < mult.length; i++) {
      const blockOut = ch * mult[i];
      maxStage = Math.max(maxStage, blockOut * res * res);
      const down = p.pp('down').pp(i);
      const level: DownLevel = { block: [], attn: [], downsample: null };
      for (let j = 0; j < cfg.numResBlocks; j++) {
        level.block.push(new ResnetBlock(down.pp('block').pp(j), blockIn, blockOut, cfg.dropout, id++));
        blockIn = blockOut;
        if (cfg.attnResolutions.includes(res)) level.attn.push(new AttnBlock(down.pp('attn').pp(j), blockIn));
      }
      if (i !== mult.length - 1) {
        level.downsample = { conv: downsampleConv(down.pp('downsample').pp('conv'), blockIn) };
        res /= 2;
      }
      this.down.push(level);
    }
    const mid = p.pp('mid');
    this.mid = {
      block_1: new ResnetBlock(mid.pp('block_1'), blockIn, blockIn, cfg.dropout, id++),
      attn_1: new AttnBlock(mid.pp('attn_1'), blockIn),
      block_2: new ResnetBlock(mid.pp('block_2'), blockIn, blockIn, cfg.dropout, id++),
    };
    this.norm_out = vqNorm(p.pp('norm_out'), blockIn);
    const zc = cfg.doubleLatent ? 2 * cfg.latentChannels : cfg.latentChannels;
    this.conv_out = new Conv2d(p.pp('conv_out'), blockIn, zc, 3);
    this.maxStage = Math.max(maxStage, zc * res * res);
  }

  /** pixels [B, inChannels, R, R] in [−1, 1] -> latent [B, latentChannels(×2), R/f, R/f]. */
  forward(x: Tensor, opts: VqForwardOptions = {}): Tensor {
    const cap = opts.capture;
    const cfg = this.cfg;
    const b = x.shape[0];
    const st = new Stages(x.engine, b * this.maxStage);
    let res = cfg.resolution;
    let h = st.run([b, cfg.baseChannels, res, res], () => this.conv_in.forward(x)); // [B, ch, R, R]
    cap?.('conv_in', h);
    this.down.forEach((level, i) => {
      const c = cfg.baseChannels * cfg.channelMultiplier[i];
      h = runLevelBlocks(st, level.block, level.attn, h, [b, c, res, res], opts); // [B, c, r, r]
      cap?.(`down.${i}.block_out`, h);
      if (level.downsample) {
        const inp = h;
        const dp = level.downsample.conv;
        res /= 2;
        h = st.run([b, c, res, res], () => dp.forward(inp)); // [B, c, r/2, r/2]
        cap?.(`down.${i}.downsample`, h);
      }
    });
    h = runMid(st, this.mid.block_1, this.mid.attn_1, this.mid.block_2, h, opts); // [B, C, g, g]
    cap?.('mid', h);
    const inp = h;
    h = st.run([b, this.conv_out.outChannels, res, res], () => this.conv_out.forward(normSwish(inp, this.norm_out))); // [B, zc, g, g]
    cap?.('conv_out', h);
    return h;
  }
}
