// VQGAN encoder (taming `Encoder`, HF `ChameleonVQVAEEncoder`): conv_in -> per level
// numResBlocks ResnetBlocks (+ AttnBlocks at attnResolutions) and a Downsample except at the last
// level -> mid (Res, Attn, Res) -> GN + swish -> conv_out to latentChannels (×2 if doubleLatent).
// quant_conv and the quantizer live in vqgan.ts; this file only maps pixels to the latent map.
import { AttnBlock, ResnetBlock, conv, declareConv, declareNorm, downsample, normSwish, } from './blocks.js';
export class VqEncoder {
    cfg;
    convIn;
    levels = [];
    mid1;
    midAttn;
    mid2;
    normOut;
    convOut;
    /** Declares every `encoder.*` parameter in `store`. */
    constructor(store, cfg) {
        this.cfg = cfg;
        const p = 'encoder';
        const ch = cfg.baseChannels;
        const mult = cfg.channelMultiplier;
        let id = 0;
        this.convIn = declareConv(store, `${p}.conv_in`, ch, cfg.inChannels, 3);
        let res = cfg.resolution;
        let blockIn = ch;
        for (let i = 0; i < mult.length; i++) {
            const blockOut = ch * mult[i];
            const level = { blocks: [], attns: [], down: null };
            for (let j = 0; j < cfg.numResBlocks; j++) {
                level.blocks.push(new ResnetBlock(store, `${p}.down.${i}.block.${j}`, blockIn, blockOut, cfg.dropout, id++));
                blockIn = blockOut;
                if (cfg.attnResolutions.includes(res))
                    level.attns.push(new AttnBlock(store, `${p}.down.${i}.attn.${j}`, blockIn));
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
    }
    /** pixels [B, inChannels, R, R] in [−1, 1] -> latent [B, latentChannels(×2), R/f, R/f]. */
    forward(x, opts = {}) {
        const cap = opts.capture;
        let h = conv(x, this.convIn); // [B, ch, R, R]
        cap?.('conv_in', h);
        this.levels.forEach((level, i) => {
            level.blocks.forEach((block, j) => {
                h = block.forward(h, opts); // [B, ch·mult[i], r, r]
                if (level.attns.length)
                    h = level.attns[j].forward(h);
            });
            cap?.(`down.${i}.block_out`, h);
            if (level.down) {
                h = downsample(h, level.down); // [B, C, r/2, r/2]
                cap?.(`down.${i}.downsample`, h);
            }
        });
        h = this.mid2.forward(this.midAttn.forward(this.mid1.forward(h, opts)), opts); // [B, C, g, g]
        cap?.('mid', h);
        h = conv(normSwish(h, this.normOut), this.convOut); // [B, zc, g, g]
        cap?.('conv_out', h);
        return h;
    }
}
//# sourceMappingURL=encoder.js.map