// The shapes-world dataset: the same seed gives the same world; every document is a valid line of
// the data-format JSONL; documents only reference images of their own split; held-out colour×shape
// combinations never appear in a train or validation image or text, but do in test; images are
// shared (far fewer than documents); every group has test items; bad options are refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDocumentLine } from '../../src/train/data/documents.js';
import { parseMentions } from '../../src/eval/shapes/parse-text.js';
import { TASKS, docJson, generateWorld, specKey, worldCounts, type WorldDoc } from '../../src/eval/shapes/dataset.js';
import { HELD_OUT, hashString, isHeldOut, sceneHasHeldOut, sceneKey, splitOf } from '../../src/eval/shapes/world.js';

const world = generateWorld({ seed: 5, scenes: 600, docsPerScene: 6 });

const texts = (d: WorldDoc): string[] => (d.messages ? d.messages.flatMap((m) => m.content) : d.segments!).flatMap((s) => ('text' in s ? [s.text] : []));
const imageRefs = (d: WorldDoc): number[] => (d.messages ? d.messages.flatMap((m) => m.content) : d.segments!).flatMap((s) => ('image' in s ? [s.image] : []));

test('the same seed gives the same world; another seed another', () => {
  const a = generateWorld({ seed: 9, scenes: 100 });
  const b = generateWorld({ seed: 9, scenes: 100 });
  assert.equal(JSON.stringify(a), JSON.stringify(b));
  assert.notEqual(JSON.stringify(generateWorld({ seed: 10, scenes: 100 }).docs), JSON.stringify(a.docs));
});

test('every document is a valid data-format line of its kind; every task occurs', () => {
  const tasks = new Set<string>();
  for (const d of world.docs) {
    const j = docJson(d, world.images);
    const parsed = parseDocumentLine(JSON.stringify(j));
    assert.equal(parsed.kind, j.kind);
    tasks.add(d.task);
    if (d.task === 'chat-refusal' || d.task === 'chat-offworld') assert.equal(imageRefs(d).length, 0);
  }
  assert.deepEqual([...tasks].sort(), [...TASKS].sort());
  assert.ok(world.images.length * 4 < world.docs.length, `${world.images.length} images for ${world.docs.length} documents`);
});

test('documents reference only images of their own split, whose split is their scene key hash', () => {
  for (const im of world.images) assert.equal(im.split, splitOf(sceneKey(im.scene), sceneHasHeldOut(im.scene)));
  for (const d of world.docs) for (const i of imageRefs(d)) assert.equal(world.images[i].split, d.split, `${d.task} in ${d.split} uses a ${world.images[i].split} image`);
});

test('held-out combinations: in no train/val image or text, in test images and items', () => {
  for (const im of world.images) if (im.split !== 'test') assert.equal(sceneHasHeldOut(im.scene), false, sceneKey(im.scene));
  for (const d of world.docs) {
    if (d.split === 'test') continue;
    for (const t of texts(d)) for (const m of parseMentions(t)) if (m.colour) assert.equal(isHeldOut({ colour: m.colour, shape: m.shape }), false, `${d.split} ${d.task}: ${t}`);
  }
  const testObjects = world.images.filter((i) => i.split === 'test').flatMap((i) => i.scene.objects);
  for (const h of HELD_OUT) assert.ok(testObjects.some((o) => o.colour === h.colour && o.shape === h.shape), `${h.colour} ${h.shape}`);
  const held = world.items.filter((i) => i.heldOut);
  assert.ok(held.some((i) => i.group === 't2i') && held.some((i) => i.group === 'caption'));
  for (const it of world.items) {
    const e = it.expect;
    if (e.kind === 'draw' || e.kind === 'caption') assert.equal(it.heldOut, sceneHasHeldOut(e.scene));
  }
});

test('test items: every group, distinct prompts, chats ending with the user turn; a full drawing spec keys like its scene', () => {
  const c = worldCounts(world);
  for (const g of ['t2i', 'caption', 'vqa', 'story', 'refusal'] as const) assert.ok(c.items[g] >= 20, `${g}: ${c.items[g]}`);
  const keys = world.items.map((i) => `${i.group}:${JSON.stringify(i.messages)}`);
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(new Set(world.items.map((i) => i.id)).size, world.items.length);
  for (const it of world.items) assert.equal(it.messages[it.messages.length - 1].role, 'user');
  for (const it of world.items) {
    if (it.expect.kind !== 'draw') continue;
    if (it.expect.spec.objects.every((o) => o.cell !== undefined && o.size !== undefined)) assert.equal(specKey(it.expect.spec), sceneKey(it.expect.scene));
  }
  const total = Object.values(c.documents).flatMap((r) => Object.values(r)).reduce((a, b) => a + b, 0);
  assert.equal(total, world.docs.length);
});

test('bad options are refused with a clear message', () => {
  assert.throws(() => generateWorld({ scenes: 0 }), /scenes must be an integer >= 1, got 0/);
  assert.throws(() => generateWorld({ docsPerScene: 1.5 }), /docsPerScene must be an integer >= 1, got 1.5/);
  assert.throws(() => generateWorld({ heldOutShare: 2 }), /heldOutShare must be in \[0, 1\], got 2/);
});

test('splits are an FNV-1a hash of the content key (pinned), held-out content always test', () => {
  assert.equal(hashString(''), 0x811c9dc5);
  assert.equal(hashString('a'), 0xe40c292c);
  assert.equal(hashString('foobar'), 0xbf9cf968);
  // 'a' hashes to 0xe40c292c = 3826002220; mod 1000 = 220: train (test < 50, val < 90 per mille).
  assert.equal(splitOf('a', false), 'train');
  assert.equal(splitOf('a', true), 'test');
  assert.equal(splitOf('a', false, 221), 'test');
  assert.equal(splitOf('a', false, 190), 'val');
});
