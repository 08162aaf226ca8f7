// The emoji catalogue of the emoji world: which entries of emoji-datasource-google's emoji.json are
// used (rules on category and code points, minus near-duplicates named by hand), their lower-cased
// names and unambiguous aliases, English articles for captions, answer normalisation, and the seeded
// held-out split. Pure data logic (browser-safe): reading the package files is source.node.ts.

import { ChameleonError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';

/** The fields of one emoji.json record this module reads (the package has more). */
export interface EmojiRecord {
  name: string | null;
  unified: string;
  image: string;
  short_name: string;
  short_names: string[];
  category: string;
  subcategory: string;
  sort_order: number;
  has_img_google: boolean;
  obsoleted_by?: string;
}

export interface EmojiEntry {
  /** The package's short_name (stable, unique): e.g. "pizza". */
  id: string;
  /** Code points, e.g. "1F355". */
  unified: string;
  /** Lower-cased name used in every text: e.g. "slice of pizza". */
  name: string;
  /** Other accepted answers (from short_names), none of them another entry's name or alias. */
  aliases: string[];
  category: string;
  subcategory: string;
  /** File name under the package's img/google/64/. */
  image: string;
}

/**
 * Subcategories the world draws from, in this order: animals, plants, food and drink, and a few
 * object groups whose members are single, distinct things. People, hands, faces, flags, symbols,
 * clocks and most vehicles (many near-duplicate "oncoming" views) are left out.
 */
export const EMOJI_SUBCATEGORIES: readonly string[] = [
  'animal-mammal',
  'animal-bird',
  'animal-amphibian',
  'animal-reptile',
  'animal-marine',
  'animal-bug',
  'plant-flower',
  'plant-other',
  'food-fruit',
  'food-vegetable',
  'food-prepared',
  'food-asian',
  'food-sweet',
  'drink',
  'dishware',
  'musical-instrument',
  'transport-air',
  'transport-water',
  'sport',
];

/** Entries dropped although their subcategory is in: not a single object, or a pictogram of a scene. */
const NOT_AN_OBJECT = ['paw_prints', 'pig_nose', 'wing', 'airplane_departure', 'airplane_arriving', 'seat', 'beers', 'clinking_glasses', 'pouring_liquid'];

/**
 * Near-duplicates, chosen by eye on a 64×64 contact sheet of the candidates (docs/emoji-world.md):
 * each dropped id -> the kept look-alike. A pixel-distance rule cannot make this call: at 16×16 the
 * closest pairs are round things of different kinds (moon cake and basketball), while the camels
 * that only a hump tells apart are farther apart.
 */
export const NEAR_DUPLICATES: Readonly<Record<string, string>> = {
  camel: 'dromedary_camel',
  hatched_chick: 'baby_chick',
  whale: 'whale2',
  rat: 'mouse2',
  leopard: 'tiger2',
  guide_dog: 'dog2',
  goose: 'swan',
  white_flower: 'cherry_blossom',
  blossom: 'sunflower',
  ferry: 'passenger_ship',
  ship: 'passenger_ship',
  motor_boat: 'speedboat',
  small_airplane: 'airplane',
  mountain_cableway: 'aerial_tramway',
  softball: 'baseball',
  rugby_football: 'football',
  badminton_racquet_and_shuttlecock: 'tennis',
  ice_hockey_stick_and_puck: 'field_hockey_stick_and_ball',
};

const EXCLUDED_IDS = new Set([...NOT_AN_OBJECT, ...Object.keys(NEAR_DUPLICATES)]);

/**
 * Package names that read badly as a caption ("draw a cooking", "a hocho"), by id: the name used
 * instead is one of the entry's own short_names.
 */
const NAME_FROM_SHORT_NAME: Record<string, string> = { fried_egg: 'fried egg', hocho: 'knife' };

/** Names that take no article ("bread", not "a bread"). */
const MASS_NOUNS = new Set(['bread', 'bacon', 'butter', 'popcorn', 'spaghetti', 'sushi', 'oden', 'dango', 'custard', 'fondue', 'falafel', 'coral', 'broccoli', 'garlic', 'cooked rice', 'curry and rice', 'canned food', 'shaved ice', 'green salad', 'bubble tea', 'hot beverage']);

/** One code point (an optional trailing variation selector allowed): no ZWJ sequences, keycaps, flags or skin tones. */
function singleCodePoint(unified: string): boolean {
  return /^[0-9A-F]{4,6}(-FE0F)?$/i.test(unified);
}

/** Rule-based candidates in the package's own order (sort_order). */
export function candidateRecords(records: readonly EmojiRecord[]): EmojiRecord[] {
  const subs = new Set(EMOJI_SUBCATEGORIES);
  return records
    .filter((r) => subs.has(r.subcategory) && r.has_img_google && r.name && singleCodePoint(r.unified) && !r.obsoleted_by && !r.short_names.some((s) => EXCLUDED_IDS.has(s)))
    .sort((a, b) => a.sort_order - b.sort_order);
}

/** Lower case, curly apostrophes straightened, underscores as spaces. */
function cleanName(s: string): string {
  return s.toLowerCase().replace(/[\u2018\u2019]/g, "'").replace(/_/g, ' ').replace(/\s+/g, ' ').trim();
}

/** The name of a record as the world writes it. */
function displayName(r: EmojiRecord): string {
  return NAME_FROM_SHORT_NAME[r.short_name] ?? cleanName(r.name ?? r.short_name);
}

/**
 * Catalogue entries of the candidates, with aliases made unambiguous: an alias equal to another
 * entry's name or alias (after normaliseAnswer) is dropped from both ("dog" is the name of 🐕, so
 * it is not an alias of 🐶 "dog face").
 */
export function toEntries(records: readonly EmojiRecord[]): EmojiEntry[] {
  const entries = records.map((r) => {
    const name = displayName(r);
    // Numbered short names ("dog2", "train2") are the package's disambiguators, not words.
    const aliases = [...new Set(r.short_names.map(cleanName))].filter((a) => !/\d$/.test(a) && normaliseAnswer(a) !== normaliseAnswer(name));
    return { id: r.short_name, unified: r.unified.toUpperCase(), name, aliases, category: r.category, subcategory: r.subcategory, image: r.image };
  });
  const owners = new Map<string, Set<string>>();
  for (const e of entries) {
    for (const s of [e.name, ...e.aliases]) {
      const k = normaliseAnswer(s);
      if (!owners.has(k)) owners.set(k, new Set());
      owners.get(k)!.add(e.id);
    }
  }
  for (const e of entries) e.aliases = e.aliases.filter((a) => owners.get(normaliseAnswer(a))!.size === 1);
  const names = new Map<string, string>();
  for (const e of entries) {
    const k = normaliseAnswer(e.name);
    const other = names.get(k);
    if (other) throw new ChameleonError(`emoji catalogue: ${e.id} and ${other} have the same name '${e.name}'`);
    names.set(k, e.id);
  }
  return entries;
}

/** English article for a name: "a slice of pizza", "an owl", "cherries", "bread". */
export function withArticle(name: string): string {
  if (MASS_NOUNS.has(name)) return name;
  const last = name.split(' ').pop() ?? name;
  const plural = /s$/.test(last) && !/(ss|us|os|is)$/.test(last) && !name.includes(' with ');
  if (plural) return name;
  const an = /^[aeiou]/.test(name) && !/^(uni|use|eu|one)/.test(name);
  return `${an ? 'an' : 'a'} ${name}`;
}

/**
 * An answer in comparable form: lower case, apostrophes dropped, other punctuation as spaces, then
 * the leading answer frames the world uses ("it is", "this is") and an article removed.
 */
export function normaliseAnswer(s: string): string {
  let t = s
    .toLowerCase()
    .replace(/['\u2018\u2019]/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
  t = t.replace(/^(it is|its|this is|thats|that is|this emoji shows|this picture shows|i see|it shows)\s+/, '');
  t = t.replace(/^(a|an|the)\s+/, '');
  return t;
}

/** Whether an answer names the entry: its name or one of its aliases, after normaliseAnswer. */
export function answerNames(answer: string, entry: EmojiEntry): boolean {
  const a = normaliseAnswer(answer);
  return a.length > 0 && [entry.name, ...entry.aliases].some((n) => normaliseAnswer(n) === a);
}

export interface EmojiSplit {
  /** Entries whose images appear in training documents. */
  train: EmojiEntry[];
  /** Entries that never appear in a training image (test split only). */
  heldout: EmojiEntry[];
}

/**
 * Seeded held-out choice: round(count × fraction) entries (at least one when the fraction is above
 * 0 and there are two entries or more), spread over subcategories by a seeded shuffle of each.
 * Both lists keep catalogue order.
 */
export function splitCatalogue(entries: readonly EmojiEntry[], seed: number, heldoutFraction: number): EmojiSplit {
  if (!(heldoutFraction >= 0 && heldoutFraction < 1)) throw new ChameleonError(`held-out fraction must be in [0, 1), got ${heldoutFraction}`);
  let want = Math.round(entries.length * heldoutFraction);
  if (heldoutFraction > 0 && entries.length >= 2) want = Math.max(1, want);
  want = Math.min(want, entries.length - 1);
  const rng = new Rng(seed ^ 0x5e1d);
  // A random key per entry; the lowest keys are held out, with one key offset per subcategory rank
  // so that every subcategory loses members in proportion to its size.
  const bySub = new Map<string, number[]>();
  entries.forEach((e, i) => {
    if (!bySub.has(e.subcategory)) bySub.set(e.subcategory, []);
    bySub.get(e.subcategory)!.push(i);
  });
  const key = new Float64Array(entries.length);
  for (const idx of bySub.values()) {
    const order = shuffled(idx, rng);
    order.forEach((i, r) => (key[i] = (r + rng.uniform()) / order.length));
  }
  const ranked = entries.map((_, i) => i).sort((a, b) => key[a] - key[b] || a - b);
  const held = new Set(ranked.slice(0, Math.max(0, want)));
  return { train: entries.filter((_, i) => !held.has(i)), heldout: entries.filter((_, i) => held.has(i)) };
}

/** A seeded Fisher-Yates shuffle (a copy). */
export function shuffled<T>(xs: readonly T[], rng: Rng): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
