// DOM views of the conversation: one TurnView per turn, updated in place as its turn grows (a text
// part's text node is extended, an image keeps its element while its source moves from preview to
// final, so nothing flickers), and the composer's attachment chips. Text is always set as text,
// never parsed as HTML. No state of its own beyond the elements; main.ts owns the conversation.

import { hasContent, type ImagePart, type Part, type Turn } from './conversation.js';

type Attrs = Record<string, string>;

/** document.createElement with attributes, classes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

/** Generated images smaller than this are scaled up with crisp pixels. */
const PIXEL_ART_BELOW = 128;

function describeImage(p: ImagePart, user: boolean): string {
  if (user) return p.name ? `Attached image ${p.name}` : 'Attached image';
  const n = p.index + 1;
  if (p.state === 'final') return p.url ? `Generated image ${n}` : `Generated image ${n} (codes only: the model has no image decoder)`;
  return `Generated image ${n}, drawing: ${p.tokens} of ${p.total} tokens`;
}

class ImageView {
  readonly el: HTMLElement;
  private readonly img: HTMLImageElement;
  private readonly caption: HTMLElement;
  private readonly bar: HTMLProgressElement;
  private readonly download: HTMLAnchorElement;

  constructor(private readonly user: boolean) {
    this.img = h('img', { decoding: 'async' });
    this.caption = h('span', { class: 'caption-text' });
    this.download = h('a', { class: 'download' }, 'Download');
    this.bar = h('progress', { max: '1', value: '0' });
    if (user) {
      this.el = h('figure', { class: 'thumb' }, this.img);
      return;
    }
    // The veil covers the rows not drawn yet; it recedes as tokens arrive.
    const frame = h('div', { class: 'frame' }, this.img, h('div', { class: 'veil', 'aria-hidden': 'true' }));
    this.el = h('figure', { class: 'gen-image' }, frame, h('figcaption', {}, this.caption, this.download), this.bar);
  }

  update(p: ImagePart): void {
    this.el.dataset.state = p.state;
    if (p.url && this.img.getAttribute('src') !== p.url) this.img.src = p.url;
    this.img.alt = describeImage(p, this.user);
    if (p.width && p.height) {
      this.img.width = p.width;
      this.img.height = p.height;
      this.el.classList.toggle('pixelated', !this.user && Math.max(p.width, p.height) < PIXEL_ART_BELOW);
    }
    this.el.classList.toggle('empty', !p.url);
    if (this.user) return;
    const share = p.total > 0 ? p.tokens / p.total : 0;
    this.el.style.setProperty('--progress', String(p.state === 'final' ? 1 : share));
    this.bar.max = Math.max(1, p.total);
    this.bar.value = p.tokens;
    this.bar.setAttribute('aria-label', `Image ${p.index + 1}: ${p.tokens} of ${p.total} tokens`);
    if (p.state === 'final') {
      this.caption.textContent = p.url ? `Image ${p.index + 1}${p.width ? ` · ${p.width}×${p.height}` : ''}` : `Image ${p.index + 1} · codes only (no image decoder)`;
      this.download.hidden = !p.url;
      if (p.url) {
        this.download.href = p.url;
        this.download.download = `chameleon-image-${p.index + 1}.png`;
        this.download.setAttribute('aria-label', `Download image ${p.index + 1}`);
      }
    } else {
      this.caption.textContent = `Drawing image ${p.index + 1} · ${p.tokens} / ${p.total}`;
      this.download.hidden = true;
    }
  }
}

type PartView = { kind: 'text'; el: HTMLElement } | { kind: 'image'; view: ImageView; el: HTMLElement };

function reasonText(reason: string): string {
  if (reason === 'length') return 'reached the token limit';
  if (reason === 'images') return 'image done';
  return '';
}

/** One turn's element, kept in step with the turn by update(). */
export class TurnView {
  readonly el: HTMLLIElement;
  private readonly body: HTMLElement;
  private readonly meta: HTMLElement;
  private readonly error: HTMLElement;
  private readonly typing: HTMLElement;
  private readonly empty: HTMLElement;
  private parts: PartView[] = [];

  constructor(turn: Turn) {
    const user = turn.role === 'user';
    this.body = h('div', { class: 'parts' });
    this.typing = h('div', { class: 'typing', 'aria-label': 'The model is answering' }, h('span'), h('span'), h('span'));
    this.empty = h('p', { class: 'text empty-answer' }, 'The model ended its turn without a word.');
    this.meta = h('div', { class: 'meta' });
    this.error = h('div', { class: 'turn-error' });
    const who = h('span', { class: 'sr-only' }, user ? 'You said:' : 'Chameleon:');
    const bubble = h('div', { class: 'bubble' }, who, this.body, this.typing, this.empty, this.error, this.meta);
    this.el = h('li', { class: `turn ${turn.role}`, 'data-turn': turn.id });
    if (!user) this.el.append(h('div', { class: 'avatar', 'aria-hidden': 'true' }, logo()));
    this.el.append(bubble);
    this.update(turn);
  }

  update(turn: Turn): void {
    const user = turn.role === 'user';
    this.el.dataset.status = turn.status;
    // Screen readers read a streaming answer once it is complete, not at every token.
    this.el.setAttribute('aria-busy', String(turn.status === 'streaming'));
    turn.parts.forEach((p: Part, i) => {
      let v = this.parts[i];
      if (!v || v.kind !== p.kind) {
        v = p.kind === 'text' ? { kind: 'text', el: h('p', { class: 'text' }) } : ((iv) => ({ kind: 'image' as const, view: iv, el: iv.el }))(new ImageView(user));
        if (this.parts[i]) this.parts[i].el.replaceWith(v.el);
        else this.body.append(v.el);
        this.parts[i] = v;
      }
      if (v.kind === 'text' && p.kind === 'text') {
        if (v.el.textContent !== p.text) v.el.textContent = p.text;
      } else if (v.kind === 'image' && p.kind === 'image') v.view.update(p);
    });
    for (const extra of this.parts.splice(turn.parts.length)) extra.el.remove();
    this.body.classList.toggle('has-images', turn.parts.some((p) => p.kind === 'image'));
    this.typing.hidden = !(turn.status === 'streaming' && turn.parts.length === 0);
    this.empty.hidden = !(turn.role === 'assistant' && turn.status === 'done' && !hasContent(turn));
    this.error.hidden = !turn.error;
    this.error.textContent = turn.error ? turn.error.message : '';
    const bits: string[] = [];
    if (turn.status === 'stopped') bits.push(turn.parts.length ? 'Stopped' : 'Stopped before the first token');
    if (turn.meta) {
      const m = turn.meta;
      bits.push(`${m.generatedTokens} token${m.generatedTokens === 1 ? '' : 's'}`, `${m.tokensPerSec.toFixed(0)} tok/s`, `seed ${m.seed}`);
      const r = reasonText(m.reason);
      if (r) bits.push(r);
    }
    this.meta.textContent = bits.join(' · ');
    this.meta.hidden = bits.length === 0;
  }
}

/** An SVG element with its attributes. */
function svgEl<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string>): SVGElementTagNameMap[K] {
  const el = document.createElementNS('http://www.w3.org/2000/svg', name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/** The chameleon mark (an SVG; inline so it needs no request). */
export function logo(): SVGSVGElement {
  const svg = svgEl('svg', { viewBox: '0 0 32 32', class: 'logo', 'aria-hidden': 'true' });
  // A curled tail under a round head: the chameleon's outline.
  const path = svgEl('path', { d: 'M6 18a10 10 0 0 1 20 0c0 4-3 7-7 7-3 0-5-2-5-4.5S16 16 18 16s3 1.5 3 3', fill: 'none', stroke: 'currentColor', 'stroke-width': '2.6', 'stroke-linecap': 'round' });
  const eye = svgEl('circle', { cx: '11.5', cy: '14', r: '1.8', fill: 'currentColor' });
  svg.append(path, eye);
  return svg;
}

/** The composer's attachment chips, each with a remove button. */
export function renderAttachments(list: HTMLElement, items: readonly { url: string; name: string }[], remove: (i: number) => void): void {
  list.replaceChildren(
    ...items.map((a, i) => {
      const btn = h('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove ${a.name}`, title: `Remove ${a.name}` }, '×');
      btn.addEventListener('click', () => remove(i));
      return h('li', { class: 'chip' }, h('img', { src: a.url, alt: a.name }), h('span', { class: 'chip-name' }, a.name), btn);
    }),
  );
  list.hidden = items.length === 0;
}
