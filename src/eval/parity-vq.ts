// Adapts a loaded VQGAN to the parity hooks: encode returns the codes plus the tensors the
// fixtures record (encoder_out, quant_conv_out, quantized); decode returns codebook_vectors,
// post_quant_conv_out, pixels and Meta's uint8 HWC image.

import type { Tensor } from '../engine/tensor.js';
import { toUint8HWC, type Vqgan } from '../tokenizers/image/vqgan.js';
import type { VqParityHooks } from './parity.js';

export function vqHooks(vq: Vqgan): VqParityHooks {
  const e = vq.engine;
  return {
    encode(pixels) {
      const r = vq.encode(pixels);
      return { indices: r.indices, tensors: { encoder_out: r.encoderOut, quant_conv_out: r.quantConvOut, quantized: r.quantized } };
    },
    decode: vq.decoder
      ? (indices) => {
          // Captured tensors are valid only inside the callback: copy their values out.
          const copies: Record<string, { data: Float32Array; shape: number[] }> = {};
          const names: Record<string, string> = { codebook_vectors: 'codebook_vectors', post_quant_conv: 'post_quant_conv_out' };
          const pixels = vq.decodeCodes(indices, 1, {
            capture: (name, t) => {
              if (names[name]) copies[names[name]] = { data: Float32Array.from(t.f32()), shape: [...t.shape] };
            },
          });
          const tensors: Record<string, Tensor> = {};
          for (const [k, c] of Object.entries(copies)) tensors[k] = e.tensor(c.data, c.shape);
          tensors.pixels = pixels;
          return { tensors, uint8: toUint8HWC(pixels) };
        }
      : undefined,
  };
}
