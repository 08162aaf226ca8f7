// The emoji world: the seeded plan (held-out emoji absent from training and validation), documents
// that parse in the data-build format with both caption orders and chat pairs, the pixel placement,
// byte-identical directories from the same seed, and scoring on right and wrong outputs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocumentLine, documentImages, type RawDocument } from '../../src/train/data/documents.js';
import { placeRgba, contactSheet, randomPlacement, type RgbaImage } from '../../src/eval/emoji/pixels.js';
import { Rng } from '../../src/util/rng.js';
import { PHRASINGS, TEST_PROMPTS, phrase, planEmojiWorld } from '../../src/eval/emoji/world.js';
import { scoreOutputs, type EmojiOutput } from '../../src/eval/emoji/score.js';
import { loadEmojiCatalogue, onWhite, type EmojiCatalogue } from '../../src/eval/emoji/source.node.js';
import { buildEmojiWorld, loadEmojiPlan, matcherFor, readEmojiManifest, renderEmoji } from '../../src/eval/emoji/world.node.js';
import { sampleItems } from '../../src/eval/emoji/evaluate.node.js';

let cat: EmojiCatalogue;
let root = '';
before(async () => {
  cat = await loadEmojiCatalogue();
  root = mkdtempSync(join(tmpdir(), 'cham-emoji-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

function texts(d: RawDocument): string {
  const segs = d.kind === 'chat' ? d.messages.flatMap((m) => (typeof m.content === 'string' ? [{ text: m.content }] : m.content)) : d.segments;
  return segs.map((s) => ('text' in s ? s.text : '')).join(' ');
}

test('plan: held-out emoji never appear in training or validation images or text; test items cover both', () => {
  const plan = planEmojiWorld(cat.entries, { seed: 3 });
  assert.equal(plan.entries.length, 317);
  assert.equal(plan.heldout.length, 32);
  const held = new Set(plan.heldout.map((e) => e.id));
  const fileOwner = new Map(plan.images.map((i) => [i.file, i.id]));
  for (const d of [...plan.trainDocuments, ...plan.valDocuments]) {
    for (const f of documentImages(d)) assert.ok(!held.has(fileOwner.get(f)!), `a training document shows held-out ${fileOwner.get(f)}`);
  }
  const trainText = [...plan.trainDocuments, ...plan.valDocuments].map(texts).join('\n');
  for (const e of plan.heldout) {
    if (plan.train.some((t) => t.name.includes(e.name))) continue; // "egg" is a word of "nest with eggs"
    assert.ok(!new RegExp(`\\b${e.name}\\b`).test(trainText), `held-out name '${e.name}' occurs in training text`);
  }
  for (const d of plan.testDocuments) for (const f of documentImages(d)) assert.ok(held.has(fileOwner.get(f)!));
  // 8 documents per training emoji with one variant: 4 plain (2 captions, draw, what) + 2 chat draws + 2 chat whats.
  assert.equal(plan.trainDocuments.length, 8 * plan.train.length);
  assert.equal(plan.valDocuments.length, 2 * plan.train.length);
  const count = (kind: string, heldout: boolean): number => plan.tests.filter((t) => t.kind === kind && t.heldout === heldout).length;
  assert.deepEqual([count('name', false), count('name', true), count('draw', false), count('draw', true)], [285, 32, 285, 32]);
  const pizza = plan.tests.find((t) => t.kind === 'draw' && t.id === 'pizza');
  assert.deepEqual(pizza && [pizza.prompt, pizza.expected], ['Draw a slice of pizza.', 'pizza']);
  assert.equal(TEST_PROMPTS.what, 'What is this?');
});

test('documents parse as data-build JSONL; captions in both orders, chat draw -> image and what -> name', () => {
  const plan = planEmojiWorld(cat.entries, { seed: 0, count: 12 });
  const docs = plan.trainDocuments.map((d) => parseDocumentLine(JSON.stringify(d)));
  const shapes = new Set(
    docs.map((d) => (d.kind === 'chat' ? `chat:${d.messages.map((m) => m.role + '=' + (m.content as { image?: string }[]).map((s) => ('image' in s ? 'I' : 'T')).join('')).join(',')}` : `${d.kind}:${d.segments.map((s) => ('image' in s ? 'I' : 'T')).join('')}`)),
  );
  assert.deepEqual([...shapes].sort(), ['caption:IT', 'caption:TI', 'chat:user=IT,assistant=T', 'chat:user=T,assistant=I']);
  const pizzaLike = plan.train[0];
  const mine = plan.trainDocuments.filter((d) => texts(d).toLowerCase().includes(pizzaLike.name));
  assert.ok(mine.length >= 6, 'every kind names the emoji');
  // Chat draws use two different phrasings of the same emoji.
  const draws = plan.trainDocuments.filter((d) => d.kind === 'chat' && d.messages[0].role === 'user' && texts(d) && documentImages(d).length === 1 && 'image' in (d.messages[1].content as object[])[0]);
  const byEmoji = new Map<string, string[]>();
  for (const d of draws) {
    const f = documentImages(d)[0];
    byEmoji.set(f, [...(byEmoji.get(f) ?? []), texts(d)]);
  }
  for (const [f, ps] of byEmoji) assert.equal(new Set(ps).size, 2, `${f}: ${ps.join(' | ')}`);
  assert.equal(phrase(PHRASINGS.answer[1], { ...pizzaLike, name: 'slice of pizza' }), 'It is a slice of pizza.');
  assert.equal(phrase('{A}:', { ...pizzaLike, name: 'owl' }), 'An owl:');
});

test('plan: same seed same plan, other seed other sample; bad options are refused', () => {
  const a = planEmojiWorld(cat.entries, { seed: 5, count: 30 });
  assert.deepEqual(planEmojiWorld(cat.entries, { seed: 5, count: 30 }), a);
  const b = planEmojiWorld(cat.entries, { seed: 6, count: 30 });
  assert.notDeepEqual(b.entries.map((e) => e.id), a.entries.map((e) => e.id));
  assert.throws(() => planEmojiWorld(cat.entries, { count: 1 }), /count must be an integer in \[2, 317\]/);
  assert.throws(() => planEmojiWorld(cat.entries, { count: 400 }), /count must be an integer in \[2, 317\]/);
  assert.throws(() => planEmojiWorld(cat.entries, { variants: 9 }), /variants must be an integer in \[0, 8\]/);
});

test('placement: the identity copies pixels, a one-pixel shift moves them, placements stay inside the frame', () => {
  const data = new Uint8Array(4 * 4 * 4);
  data.set([10, 20, 30, 255], (1 * 4 + 1) * 4);
  const img: RgbaImage = { width: 4, height: 4, data };
  assert.deepEqual(placeRgba(img, { scale: 1, dx: 0, dy: 0 }).data, data);
  const moved = placeRgba(img, { scale: 1, dx: 1, dy: 2 });
  assert.deepEqual([...moved.data.subarray((3 * 4 + 2) * 4, (3 * 4 + 2) * 4 + 4)], [10, 20, 30, 255]);
  assert.equal(moved.data.reduce((s, v) => s + v, 0), 10 + 20 + 30 + 255, 'nothing else is painted');
  const rng = new Rng(1);
  for (let i = 0; i < 200; i++) {
    const p = randomPlacement(rng, 64);
    assert.ok(p.scale >= 0.78 && p.scale <= 0.94);
    assert.ok(Math.abs(p.dx) + (p.scale * 64) / 2 <= 32 && Math.abs(p.dy) + (p.scale * 64) / 2 <= 32, JSON.stringify(p));
  }
  const art = cat.artwork.get('pizza')!;
  assert.deepEqual(renderEmoji(art, { scale: 1, dx: 0, dy: 0 }), onWhite(art));
  const sheet = contactSheet([onWhite(art), onWhite(art), onWhite(art)], 2, 2);
  assert.deepEqual([sheet.width, sheet.height], [2 * 66 + 2, 2 * 66 + 2]);
});

test('world directory: same seed -> byte-identical files; manifest lists catalogue, splits and tests; refusals', async () => {
  const a = join(root, 'a');
  const b = join(root, 'b');
  const ra = await buildEmojiWorld({ out: a, seed: 4, count: 20, progress: null });
  await buildEmojiWorld({ out: b, seed: 4, count: 20, progress: null });
  assert.deepEqual([ra.emoji, ra.train, ra.heldout], [20, 18, 2]);
  assert.equal(ra.images, 20 * 2 + 18, 'original + one variant each, plus a validation placement per training emoji');
  const files = (d: string): string[] => [...readdirSync(d).filter((f) => f !== 'img'), ...readdirSync(join(d, 'img')).map((f) => `img/${f}`)].sort();
  assert.deepEqual(files(a), files(b));
  for (const f of files(a)) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs`);
  const m = readEmojiManifest(a);
  assert.equal(m.catalogue.length, 20);
  assert.equal(m.splits.heldout.length, 2);
  assert.equal(m.tests.length, 40);
  assert.match(m.license, /Apache License 2\.0/);
  assert.deepEqual(m.options, { seed: 4, count: 20, heldoutFraction: 0.1, variants: 1 });
  for (const line of readFileSync(join(a, 'train.jsonl'), 'utf8').trim().split('\n')) {
    for (const f of documentImages(parseDocumentLine(line))) assert.ok(readdirSync(join(a, 'img')).includes(f.slice(4)), f);
  }
  const { plan } = await loadEmojiPlan(m);
  assert.deepEqual(plan.tests, m.tests, 'the evaluator rebuilds the same test set from the manifest');
  await assert.rejects(buildEmojiWorld({ out: a, count: 20, progress: null }), /already exists and is not empty \(pass --overwrite/);
  const r2 = await buildEmojiWorld({ out: a, seed: 9, count: 10, overwrite: true, progress: null });
  assert.equal(readdirSync(join(a, 'img')).length, r2.images, 'overwrite leaves no stale images');
  writeFileSync(join(root, 'manifest.json'), JSON.stringify({ format: 'other' }));
  assert.throws(() => readEmojiManifest(root), /not an emoji world manifest/);
  assert.throws(() => readEmojiManifest(join(root, 'nowhere')), /no manifest\.json/);
  const tampered = { ...m, catalogue: m.catalogue.map((e, i) => (i === 0 ? { ...e, split: e.split === 'train' ? ('heldout' as const) : ('train' as const) } : e)) };
  await assert.rejects(loadEmojiPlan(tampered), /catalogue or split differs/);
});

test('scoreOutputs: ground truth scores 1.0, wrong answers and wrong drawings score 0, no drawing counts as wrong', () => {
  const plan = planEmojiWorld(cat.entries, { seed: 0 });
  const items = sampleItems(plan.tests, 6, 1);
  assert.equal(items.length, 24, '6 of each of the four kinds');
  const matcher = matcherFor(cat, plan.entries);
  const byId = new Map(plan.entries.map((e) => [e.id, e]));
  const truth: EmojiOutput[] = items.map((it) => (it.kind === 'name' ? { text: phrase('It is {a}.', byId.get(it.id)!) } : { image: onWhite(cat.artwork.get(it.id)!) }));
  const s = scoreOutputs(items, truth, plan.entries, matcher);
  assert.deepEqual([s.emoji_name_accuracy, s.emoji_name_heldout_accuracy, s.emoji_nn_accuracy, s.emoji_nn_heldout_accuracy], [1, 1, 1, 1]);
  assert.deepEqual(s.counts, { name: 6, name_heldout: 6, draw: 6, draw_heldout: 6 });
  // Wrong: every answer and drawing is the next item's emoji.
  const other = (i: number): string => items[(i + 2) % items.length].id === items[i].id ? items[(i + 1) % items.length].id : items[(i + 2) % items.length].id;
  const wrong: EmojiOutput[] = items.map((it, i) => (it.kind === 'name' ? { text: byId.get(other(i))!.name } : { image: onWhite(cat.artwork.get(other(i))!) }));
  const w = scoreOutputs(items, wrong, plan.entries, matcher);
  assert.deepEqual([w.emoji_name_accuracy, w.emoji_nn_accuracy], [0, 0]);
  const none: EmojiOutput[] = items.map((it) => (it.kind === 'name' ? { text: '' } : { image: null }));
  const n = scoreOutputs(items, none, plan.entries, matcher);
  assert.deepEqual([n.emoji_name_accuracy, n.emoji_nn_accuracy], [0, 0]);
  assert.equal(n.items.find((r) => r.kind === 'draw')?.got, '');
  // Half right: accuracies are exact fractions.
  const half = truth.map((t, i) => (i % 2 === 0 ? t : wrong[i]));
  const h = scoreOutputs(items, half, plan.entries, matcher);
  for (const k of ['emoji_name_accuracy', 'emoji_nn_accuracy'] as const) assert.ok(h[k]! > 0 && h[k]! < 1, `${k} ${h[k]}`);
  assert.throws(() => scoreOutputs(items, truth.slice(1), plan.entries, matcher), /24 items but 23 outputs/);
  assert.throws(() => scoreOutputs(items.slice(0, 1), [{ image: null }], plan.entries, matcher), /asks for a name but its output is an image/);
  assert.throws(() => sampleItems(plan.tests, 0, 0), /--limit must be a positive integer/);
});
