// VQGAN decoder (taming / Meta `Decoder`; HF v4.44 has none): conv_in from latentChannels -> mid
// (Res, Attn, Res) -> levels from the lowest resolution up, each numResBlocks+1 ResnetBlocks (+ Attn
// at attnResolutions) and an Upsample except at level 0 -> GN + swish -> conv_out. No tanh.
// Parameter list `decoder.up.{i}` is indexed by resolution level (i = levels−1 is the lowest).
import { AttnBlock, ResnetBlock, conv, declareConv, declareNorm, normSwish, upsample, } from './blocks.js';
import { latentGrid } from './config.js';
export class VqDecoder {
    cfg;
    convIn;
    mid1;
    midAttn;
    mid2;
    /** Indexed by resolution level, like the checkpoint (levels[0] is the full-resolution one). */
    levels;
    normOut;
    convOut;
    /** Declares every `decoder.*` parameter in `store`. */
    constructor(store, cfg) {
        this.cfg = cfg;
        const p = 'decoder';
        const ch = cfg.baseChannels;
        const mult = cfg.channelMultiplier;
        const n = mult.length;
        let id = 1000; // distinct dropout seeds from the encoder's blocks
        let blockIn = ch * mult[n - 1];
        let res = latentGrid(cfg);
        this.convIn = declareConv(store, `${p}.conv_in`, blockIn, cfg.latentChannels, 3);
        this.mid1 = new ResnetBlock(store, `${p}.mid.block_1`, blockIn, blockIn, cfg.dropout, id++);
        this.midAttn = new AttnBlock(store, `${p}.mid.attn_1`, blockIn);
        this.mid2 = new ResnetBlock(store, `${p}.mid.block_2`, blockIn, blockIn, cfg.dropout, id++);
        this.levels = new Array(n);
        for (let i = n - 1; i >= 0; i--) {
            const blockOut = ch * mult[i];
            const level = { blocks: [], attns: [], up: null };
            for (let j = 0; j <= cfg.numResBlocks; j++) {
                level.blocks.push(new ResnetBlock(store, `${p}.up.${i}.block.${j}`, blockIn, blockOut, cfg.dropout, id++));
                blockIn = blockOut;
                if (cfg.attnResolutions.includes(res))
                    level.attns.push(new AttnBlock(store, `${p}.up.${i}.attn.${j}`, blockIn));
            }
            if (i !== 0) {
                level.up = declareConv(store, `${p}.up.${i}.upsample.conv`, blockIn, blockIn, 3);
                res *= 2;
            }
            this.levels[i] = level;
        }
        this.normOut = declareNorm(store, `${p}.norm_out`, blockIn);
        this.convOut = declareConv(store, `${p}.conv_out`, cfg.outChannels, blockIn, 3);
    }
    /** latent [B, latentChannels, g, g] (post_quant_conv output) -> pixels [B, outChannels, R, R]. */
    forward(z, opts = {}) {
        const cap = opts.capture;
        let h = conv(z, this.convIn); // [B, C, g, g]
        cap?.('conv_in', h);
        h = this.mid2.forward(this.midAttn.forward(this.mid1.forward(h, opts)), opts); // [B, C, g, g]
        cap?.('mid', h);
        for (let i = this.levels.length - 1; i >= 0; i--) {
            const level = this.levels[i];
            level.blocks.forEach((block, j) => {
                h = block.forward(h, opts); // [B, ch·mult[i], r, r]
                if (level.attns.length)
                    h = level.attns[j].forward(h);
            });
            cap?.(`up.${i}.block_out`, h);
            if (level.up) {
                h = upsample(h, level.up); // [B, C, 2r, 2r]
                cap?.(`up.${i}.upsample`, h);
            }
        }
        h = conv(normSwish(h, this.normOut), this.convOut); // [B, outChannels, R, R]
        cap?.('conv_out', h);
        return h;
    }
}
//# sourceMappingURL=decoder.js.map