// The demo pipeline's last two stages: both evaluators on the exported model (shapes and emoji test
// splits of the worlds it was trained on) and the model card, README.md in the model directory: what
// the model is, the data, the recipe, the time each stage took, the training curves (SVG copied beside
// it), every evaluator figure against the targets, the licences and the limits.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../../engine/index.js';
import type { ProgressStream } from '../../util/progress.js';
import { evaluateEmoji } from '../emoji/evaluate.node.js';
import { evaluateShapes } from '../shapes/evaluate.node.js';
import type { PipelineRecord } from './pipeline.node.js';
import type { DemoRecipe } from './recipe.js';
import { VQGAN_PRESETS, latentGrid } from '../../tokenizers/image/config.js';

/** The figures the issue sets targets for: key, target, direction. */
const DEMO_TARGETS: readonly { key: string; target: number; atMost?: boolean; what: string }[] = [
  { key: 't2i_attribute_accuracy', target: 0.9, what: 'text → image attribute accuracy (colour, shape, count, position)' },
  { key: 'caption_attribute_accuracy', target: 0.95, what: 'caption attribute accuracy' },
  { key: 'vqa_accuracy', target: 0.9, what: 'VQA accuracy' },
  { key: 'interleaved_consistency', target: 0.85, what: 'interleaved consistency (each image matches the text before it)' },
  { key: 'heldout_accuracy', target: 0.6, what: 'held-out colour × shape combinations' },
  { key: 'vq_parser_agreement', target: 0.99, what: 'VQ reconstruction parser agreement' },
  { key: 'emoji_name_accuracy', target: 0.9, what: 'emoji name accuracy (training emoji)' },
  { key: 'emoji_nn_accuracy', target: 0.7, what: 'generated emoji nearest-neighbour accuracy' },
  { key: 'refusal_accuracy', target: 0.95, what: 'forbidden requests refused' },
  { key: 'false_refusal_rate', target: 0.02, atMost: true, what: 'allowed requests refused' },
];

/** Both evaluators; the per-item details are left out of the record (the CLI evaluators print them). */
export async function evaluateDemo(engine: Engine, model: string, worlds: { shapes: string; emoji: string }, limit: number, progress?: ProgressStream | null): Promise<Record<string, unknown>> {
  const { details: _d, ...shapes } = await evaluateShapes(engine, { model, world: worlds.shapes, limit: limit > 0 ? limit : 100000, progress });
  const emoji = await evaluateEmoji(engine, { model, world: worlds.emoji, limit: limit > 0 ? limit : undefined, progress });
  const { items: _i, counts: emojiCounts, ...emojiSummary } = emoji;
  return { ...shapes, ...emojiSummary, counts: { ...shapes.counts, emoji: emojiCounts } };
}

function pct(v: unknown): string {
  return typeof v === 'number' ? `${(100 * v).toFixed(1)} %` : 'n/a';
}

function mins(s: number | undefined): string {
  return s === undefined ? '-' : `${(s / 60).toFixed(1)} min`;
}

/** Writes README.md (the model card) into `out`. */
export function writeModelCard(out: string, record: PipelineRecord, recipe: DemoRecipe): void {
  const st = record.stages;
  const ev = (st.eval?.result ?? {}) as Record<string, unknown>;
  const total = Object.values(st).reduce((a, s) => a + (s?.seconds ?? 0), 0);
  const worlds = (st.worlds?.result ?? {}) as { shapes?: { documents?: number; images?: number; testItems?: number }; emoji?: { emoji?: number; heldout?: number; images?: number } };
  const data = (st.data?.result ?? {}) as { documents?: number; tokens?: number; byKind?: Record<string, number> };
  const vq = (st.vq?.result ?? {}) as { images?: number; steps?: number; psnr?: number; imagesPerSec?: number };
  const pre = (st.pretrain?.result ?? {}) as { steps?: number; finalLoss?: number; tokensPerSec?: number; lastEval?: { valLoss: number } | null };
  const sft = (st.sft?.result ?? {}) as { steps?: number; finalLoss?: number; lastEval?: { valLoss: number } | null };
  const exp = (st.export?.result ?? {}) as { totalBytes?: number; dtype?: string };
  const rows = DEMO_TARGETS.map((t) => {
    const v = ev[t.key];
    const met = typeof v === 'number' ? (t.atMost ? v <= t.target : v >= t.target) : false;
    return `| ${t.what} | \`${t.key}\` | ${pct(v)} | ${t.atMost ? '≤' : '≥'} ${pct(t.target)} | ${met ? 'met' : '**not met**'} |`;
  });
  const stageRows = Object.entries(st).map(([k, s]) => `| ${k} | ${mins(s?.seconds)} |`);
  const m = recipe.model;
  const vqCfg = VQGAN_PRESETS[recipe.vq.preset as keyof typeof VQGAN_PRESETS];
  const grid = vqCfg ? latentGrid(vqCfg) : null;
  const codes = vqCfg ? `${vqCfg.resolution}×${vqCfg.resolution} → ${grid}×${grid} codes` : 'codes';
  const md = `# chameleon-ts demo model

A ${m.numHiddenLayers}-layer, ${m.hiddenSize}-wide Chameleon (early-fusion, decoder-only; QK-norm, z-loss) trained
from nothing by \`npm run train:demo\` on this repository's two small worlds: procedural **shapes**
(flat circles, squares, triangles and stars in six colours on a 3×3 grid) and **emoji** artwork. It
reads and writes text and 64×64 images as one token stream: draw on request, caption, answer
questions about a picture, tell picture stories, refuse what the world forbids. It is a demonstration
of the system, not a general model: outside its worlds it knows nothing.

Format: a Hugging Face Chameleon directory (config.json, model.safetensors with the language model and
the VQ encoder, vq_decoder.safetensors, tokenizer.json), ${exp.dtype ?? recipe.exportDtype} weights (norms f32),
${((exp.totalBytes ?? 0) / 1e6).toFixed(1)} MB. \`npm start\` serves it with the web app; \`chameleon generate\` and \`chameleon chat\` use it by default.

## Data
- Shapes world: ${worlds.shapes?.documents ?? '?'} documents over ${worlds.shapes?.images ?? '?'} images (captions both
  orders, VQA, draw instructions, picture stories, facts, chat pairs of each kind, refusals); the test
  split (${worlds.shapes?.testItems ?? '?'} items) holds scenes never trained on and four colour × shape
  combinations (red star, orange circle, green triangle, blue square) absent from every training image
  and text. See docs/shapes-world.md.
- Emoji world: ${worlds.emoji?.emoji ?? '?'} emoji (${worlds.emoji?.heldout ?? '?'} held out), ${worlds.emoji?.images ?? '?'} images. Emoji images:
  Noto Emoji, © Google, Apache License 2.0, from the emoji-datasource-google npm package (MIT). See
  docs/emoji-world.md.
- Token shards: ${data.documents ?? '?'} training documents, ${data.tokens ?? '?'} tokens (${Object.entries(data.byKind ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}).

## Recipe (recipe \`${recipe.name}\`, src/eval/demo/recipe.ts)
- Text tokenizer: byte-level BPE, ${recipe.tokenizer.vocabSize} ids in all (specials, ${vqCfg?.numEmbeddings ?? '?'} image codes, text).
- Image tokenizer: VQGAN preset \`${recipe.vq.preset}\` (${codes}), ${vq.steps ?? recipe.vq.steps} steps × ${recipe.vq.batch} images,
  ${recipe.vq.reconLoss} pixel loss, ${recipe.vq.codebookUpdate === 'ema' ? 'EMA' : 'gradient-trained'} codebook; held-out PSNR ${typeof vq.psnr === 'number' ? vq.psnr.toFixed(1) : '?'} dB.
- Transformer: d ${m.hiddenSize}, ${m.numHiddenLayers} layers, ${m.numAttentionHeads} heads, FFN ${m.intermediateSize}, context ${m.maxPositionEmbeddings}; QK-norm, z-loss 1e-5,
  AdamW (β 0.9/0.95, ε 1e-5, wd 0.1), clip 1.0.
- Pre-training: ${pre.steps ?? recipe.pretrain.steps} steps × ${recipe.pretrain.batch} × ${recipe.pretrain.seqLen} tokens over every document kind,
  peak LR ${recipe.pretrain.lr}, cosine; final loss ${pre.finalLoss?.toFixed(3) ?? '?'}, validation ${pre.lastEval?.valLoss.toFixed(3) ?? '?'}; ${pre.tokensPerSec?.toFixed(0) ?? '?'} tok/s.
- SFT: ${sft.steps ?? recipe.sft.steps} steps on the chat documents (prompts masked, modality-balanced batches), LR ${recipe.sft.lr};
  final loss ${sft.finalLoss?.toFixed(3) ?? '?'}, validation ${sft.lastEval?.valLoss.toFixed(3) ?? '?'}.

Training curves: pretrain-loss.svg, pretrain-modality-loss.svg, pretrain-output-norm.svg,
pretrain-grad-norm.svg, pretrain-lr.svg and the sft-*.svg of the fine-tuning run.

| stage | time |
|---|---|
${stageRows.join('\n')}
| **total** | **${mins(total)}** |

A stage that was interrupted and resumed counts only its last invocation here.

Decoding: \`generation_config.json\` asks for greedy text and greedy images without guidance (the
evaluator's settings), which \`generate\`, \`chat\`, \`serve\` and the web app take as defaults.

## Evaluation (test splits; \`chameleon eval shapes\`, \`chameleon eval emoji\`)

| what | key | measured | target | |
|---|---|---|---|---|
${rows.join('\n')}

Also: caption exact match ${pct(ev.caption_exact_match)}, text → image exact scene ${pct(ev.t2i_exact_match)}, VQ PSNR
${typeof ev.vq_psnr === 'number' ? ev.vq_psnr.toFixed(1) : 'n/a'} dB, text perplexity ${typeof ev.text_perplexity === 'number' ? ev.text_perplexity.toFixed(2) : 'n/a'}, image perplexity ${typeof ev.image_perplexity === 'number' ? ev.image_perplexity.toFixed(2) : 'n/a'},
held-out emoji names ${pct(ev.emoji_name_heldout_accuracy)} (never seen: a probe, not a target).

## Limits
- Only the two worlds: anything else gets a best effort in their vocabulary, not knowledge.
- 64×64 images from a ${grid ?? '?'}×${grid ?? '?'}-code VQ; emoji drawings are recalls of the training pictures, not new art.
- Greedy picture decoding takes the likeliest code at every position; where the model is unsure
  of a shape that is the background's, so an undertrained model draws blank or sparse pictures.
  Sampling (\`--temperature 1\`, or a temperature in the web app) shows what it has learned.
- Refusals cover the world's few forbidden categories; this is a miniature of the paper's safety data,
  not a safety system.
`;
  writeFileSync(join(out, 'README.md'), md);
}
