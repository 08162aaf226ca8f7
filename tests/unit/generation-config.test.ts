// generation_config.json as sampling defaults: HF keys map onto the text and image options (image
// ones falling back to the shared keys), the `chameleon.image` block overrides for images, unknown
// HF keys are ignored, bad values are a FormatError naming the key; a request's sampling setting
// over a greedy default samples, an explicit greedy wins, and absent values keep the default.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { greedyGenerationConfig, overlayOptions, parseGenerationConfig } from '../../src/generate/generation-config.js';
import { resolveOptions } from '../../src/generate/options.js';
import { FormatError } from '../../src/util/errors.js';

test('HF keys map onto text and image options; chameleon.image overrides for images', () => {
  const d = parseGenerationConfig({ do_sample: true, temperature: 0.5, top_p: 0.8, top_k: 7, repetition_penalty: 1.1, max_new_tokens: 99, guidance_scale: 4, bos_token_id: 0, transformers_version: '4.44' }, 'g.json');
  assert.deepEqual(d, {
    maxNewTokens: 99,
    text: { greedy: false, temperature: 0.5, topP: 0.8, topK: 7, repetitionPenalty: 1.1 },
    image: { greedy: false, temperature: 0.5, topP: 0.8, topK: 7, guidanceText: 4 },
  });
  const g = parseGenerationConfig(greedyGenerationConfig(), 'g.json');
  const r = resolveOptions(g);
  assert.equal(r.text.greedy, true);
  assert.equal(r.text.repetitionPenalty, 1);
  assert.equal(r.image.greedy, true);
  assert.equal(r.image.cfg, 'off');
  const mixed = parseGenerationConfig({ do_sample: false, chameleon: { image: { do_sample: true, temperature: 0.9, cfg: '2way', guidance_text: 2, guidance_image: 1.5 } } }, 'g.json');
  assert.deepEqual(mixed.image, { greedy: false, temperature: 0.9, cfg: '2way', guidanceText: 2, guidanceImage: 1.5 });
  assert.deepEqual(mixed.text, { greedy: true });
  assert.deepEqual(parseGenerationConfig({}, 'g.json'), { maxNewTokens: undefined, text: {}, image: {} });
});

test('bad values are a FormatError naming the file and the key', () => {
  for (const [json, key] of [
    [{ temperature: -1 }, 'temperature'],
    [{ do_sample: 'yes' }, 'do_sample'],
    [{ chameleon: { image: { cfg: '4way' } } }, 'chameleon.image.cfg'],
    [{ chameleon: { image: { typo: 1 } } }, 'chameleon.image'],
    [[1, 2], '(root)'],
  ] as const) {
    assert.throws(
      () => parseGenerationConfig(json, 'dir/generation_config.json'),
      (e: unknown) => e instanceof FormatError && e.message.startsWith(`dir/generation_config.json: ${key}`),
      JSON.stringify(json),
    );
  }
});

test('overlay: a request that sets a sampling value samples over a greedy default; explicit greedy and absent values', () => {
  const base = parseGenerationConfig(greedyGenerationConfig(), 'g');
  const sampled = resolveOptions(overlayOptions(base, { text: { temperature: 0.8 }, image: { topP: 0.5 } }));
  assert.equal(sampled.text.greedy, false);
  assert.equal(sampled.text.temperature, 0.8);
  assert.equal(sampled.text.repetitionPenalty, 1, 'the default the request did not touch stays');
  assert.equal(sampled.image.greedy, false);
  assert.equal(sampled.image.topP, 0.5);
  assert.equal(sampled.image.cfg, 'off');
  const explicit = resolveOptions(overlayOptions(base, { text: { temperature: 0.8, greedy: true } }));
  assert.equal(explicit.text.greedy, true);
  const untouched = resolveOptions(overlayOptions(base, { mode: 'image', text: { temperature: undefined }, image: {} }));
  assert.equal(untouched.mode, 'image');
  assert.equal(untouched.text.greedy, true);
  assert.equal(untouched.image.greedy, true);
  // Without model defaults the library's own apply.
  const none = resolveOptions(overlayOptions({}, {}));
  assert.equal(none.text.greedy, false);
  assert.equal(none.image.cfg, '3way');
});
