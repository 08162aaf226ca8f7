// The chameleon web app: a chat over POST /api/generate where text streams in and each image grows
// from its previews to the final picture. This file wires the page: the conversation and settings
// (kept in localStorage), the composer (attachments by picker, drop and paste; Enter sends, Esc
// stops), the settings panel, and one generation at a time with its AbortController. Pure pieces
// live in conversation.ts, settings.ts and api.ts; DOM views in view.ts.

import './style.css';
import { ApiFailure, fetchInfo, generate, type ServerInfo } from './api.js';
import { applyEvent, deserialize, forgetOldest, hasContent, inContext, serialize, toMessages, userTurn, type Conversation, type Turn } from './conversation.js';
import { attachmentOf, droppedFiles, type Attachment } from './images.js';
import { DEFAULT_SETTINGS, generateBody, modelSettings, parseSeed, parseSettings, randomSeed, RANGES, type Mode, type Settings } from './settings.js';
import { logo, renderAttachments, TurnView } from './view.js';

const CHAT_KEY = 'chameleon.conversation.v1';
const SETTINGS_KEY = 'chameleon.settings.v1';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

/** localStorage that may be missing or full: reads give null, a failed write returns false. */
const store = {
  get(key: string): string | null {
    try {
      return localStorage.getItem(key);
    } catch {
      return null;
    }
  },
  set(key: string, value: string): boolean {
    try {
      localStorage.setItem(key, value);
      return true;
    } catch {
      return false;
    }
  },
};

/** The settings control behind each generation option the server may refuse. */
const CONTROL_OF: Record<string, string> = {
  'options.maxNewTokens': 'Max new tokens',
  'options.maxImages': 'Images per answer',
  'options.seed': 'Seed',
  'options.text.temperature': 'Temperature',
  'options.image.temperature': 'Temperature',
  'options.text.topP': 'Top-p',
  'options.image.topP': 'Top-p',
  'options.image.guidanceText': 'Text guidance scale',
  'options.image.guidanceImage': 'Image guidance scale',
  negative_prompt: 'Negative prompt',
};

/** Extra advice for the errors a user can act on. */
function advice(e: ApiFailure): string {
  const control = e.param ? CONTROL_OF[e.param] : undefined;
  if (control) return ` (Settings › ${control})`;
  switch (e.code) {
    case 'context_length_exceeded':
      return ' Start a new chat, or ask for fewer new tokens in Settings.';
    case 'queue_full':
      return ` The server is busy${e.retryAfter ? `: try again in ${e.retryAfter} s` : ''}.`;
    case 'missing_api_key':
    case 'invalid_api_key':
      return ' Enter the server’s API key in Settings.';
    case 'shutting_down':
      return ' The server is stopping.';
    default:
      return '';
  }
}

function describe(e: ApiFailure): string {
  const head = e.status ? `Error ${e.status}${e.code ? ` (${e.code})` : ''}: ` : '';
  return head + e.message + advice(e);
}

class App {
  private conv: Conversation = deserialize(store.get(CHAT_KEY));
  private settings: Settings = parseSettings(store.get(SETTINGS_KEY));
  /** What "Reset" returns to: the library's defaults under the model's own (set by loadInfo). */
  private defaults: Settings = { ...DEFAULT_SETTINGS };
  private showSettings: () => void = () => {};
  private info: ServerInfo | null = null;
  private attachments: Attachment[] = [];
  private views = new Map<string, TurnView>();
  private abort: AbortController | null = null;
  private dragDepth = 0;

  private readonly log = $<HTMLOListElement>('log');
  private readonly scroller = $('scroller');
  private readonly prompt = $<HTMLTextAreaElement>('prompt');
  private readonly send = $<HTMLButtonElement>('send');
  private readonly stop = $<HTMLButtonElement>('stop');
  private readonly alertBox = $('alert');
  private readonly app = $('app');

  start(): void {
    $('brand-mark').append(logo());
    this.bindComposer();
    this.bindSettings();
    this.bindPanel();
    this.bindDrop();
    $('new-chat').addEventListener('click', () => this.newChat());
    $('alert-close').addEventListener('click', () => this.hideAlert());
    for (const t of this.conv.turns) this.view(t);
    this.refresh();
    this.scrollToEnd(true);
    void this.loadInfo();
    this.prompt.focus();
  }

  // ---- conversation -------------------------------------------------------------------------

  private view(turn: Turn): TurnView {
    let v = this.views.get(turn.id);
    if (!v) {
      v = new TurnView(turn);
      this.views.set(turn.id, v);
      this.log.append(v.el);
    } else v.update(turn);
    v.el.classList.toggle('forgotten', !inContext(this.conv).includes(turn));
    return v;
  }

  private refresh(): void {
    $('welcome').hidden = this.conv.turns.length > 0;
    const busy = this.abort !== null;
    this.send.hidden = busy;
    this.stop.hidden = !busy;
    this.app.dataset.busy = String(busy);
    for (const t of this.conv.turns) this.view(t);
  }

  private save(): void {
    if (!store.set(CHAT_KEY, serialize(this.conv))) this.showAlert('This conversation is too large for the browser’s storage: it will not be kept after a reload.');
  }

  private newChat(): void {
    this.abort?.abort();
    this.conv = { turns: [], contextFrom: null };
    this.views.clear();
    this.log.replaceChildren();
    this.hideAlert();
    this.save();
    this.refresh();
    this.prompt.focus();
  }

  private scrollToEnd(force = false): void {
    const s = this.scroller;
    if (force || s.scrollHeight - s.scrollTop - s.clientHeight < 160) s.scrollTop = s.scrollHeight;
  }

  // ---- generation ---------------------------------------------------------------------------

  private async submit(): Promise<void> {
    if (this.abort) return;
    const text = this.prompt.value.trim();
    if (text === '' && this.attachments.length === 0) {
      this.prompt.focus();
      return;
    }
    const seedField = parseSeed($<HTMLInputElement>('seed').value);
    if ('error' in seedField) {
      this.openSettings(true);
      this.showAlert(`Settings: ${seedField.error}.`);
      $('seed').focus();
      return;
    }
    this.hideAlert();
    const attached = this.attachments;
    const user = userTurn(crypto.randomUUID(), text, attached);
    const reply: Turn = { id: crypto.randomUUID(), role: 'assistant', parts: [], status: 'streaming' };
    this.conv.turns.push(user, reply);
    this.prompt.value = '';
    this.autosize();
    this.setAttachments([]);
    const ac = new AbortController();
    this.abort = ac;
    this.refresh();
    this.scrollToEnd(true);
    this.save();
    const seed = this.settings.seed ?? randomSeed();
    try {
      for (;;) {
        try {
          await this.stream(reply, seed, ac.signal);
          break;
        } catch (e) {
          // Too long for the context: leave the oldest exchange out and ask again (ChatSession's rule).
          if (e instanceof ApiFailure && e.code === 'context_length_exceeded' && !hasContent(reply) && forgetOldest(this.conv)) continue;
          throw e;
        }
      }
    } catch (e) {
      if (ac.signal.aborted) {
        reply.status = 'stopped';
      } else if (!hasContent(reply)) {
        // Nothing came: take the exchange back out and give the user their message again.
        this.conv.turns = this.conv.turns.filter((t) => t !== user && t !== reply);
        for (const t of [user, reply]) {
          this.views.get(t.id)?.el.remove();
          this.views.delete(t.id);
        }
        if (this.prompt.value === '') this.prompt.value = text;
        this.setAttachments(attached);
        this.autosize();
        this.failed(e);
      } else {
        reply.status = 'error';
        reply.error = { message: e instanceof ApiFailure ? describe(e) : String(e), code: e instanceof ApiFailure ? e.code : null, status: e instanceof ApiFailure ? e.status : null };
        this.failed(e);
      }
    } finally {
      if (reply.status === 'streaming') reply.status = ac.signal.aborted ? 'stopped' : 'done';
      if (this.abort === ac) this.abort = null;
      this.refresh();
      this.save();
      this.scrollToEnd();
      if (document.activeElement === document.body || document.activeElement === this.stop) this.prompt.focus();
    }
  }

  private async stream(reply: Turn, seed: number, signal: AbortSignal): Promise<void> {
    const info = this.info ?? (this.info = await fetchInfo(this.settings.apiKey));
    const messages = toMessages(inContext(this.conv).filter((t) => t !== reply), info.limits.max_images);
    const body = generateBody(this.settings, messages, seed, info.image_tokens);
    const request = { seed, mode: this.settings.mode };
    for await (const ev of generate(body, this.settings.apiKey, signal)) {
      applyEvent(reply, ev, request);
      this.view(reply);
      this.scrollToEnd();
    }
    this.refresh();
  }

  private failed(e: unknown): void {
    if (e instanceof ApiFailure) {
      this.showAlert(describe(e));
      if (e.code === 'missing_api_key' || e.code === 'invalid_api_key') this.openSettings(true);
    } else this.showAlert(`Something went wrong in the page: ${(e as Error).message ?? String(e)}`);
  }

  private cancel(): void {
    this.abort?.abort();
  }

  private async loadInfo(): Promise<void> {
    const badge = $('model-badge');
    const line = $('server-info');
    try {
      const i = await fetchInfo(this.settings.apiKey);
      this.info = i;
      this.defaults = modelSettings(i.generation_defaults);
      if (store.get(SETTINGS_KEY) === null) {
        // First visit: the controls start at the model's own defaults (e.g. greedy for the demo).
        this.settings = { ...this.defaults, apiKey: this.settings.apiKey };
        this.showSettings();
      }
      badge.textContent = i.model;
      badge.dataset.state = 'ok';
      const img = i.resolution ? `${i.resolution}×${i.resolution} images (${i.image_tokens} tokens each)` : 'no image tokenizer';
      line.textContent = `Model ${i.model}: context ${i.context} tokens, ${img}${i.can_draw_images ? '' : ', cannot draw'}. Up to ${i.limits.max_images} images per request.`;
      if (this.alertBox.dataset.source === 'info') this.hideAlert();
    } catch (e) {
      this.info = null;
      badge.textContent = 'offline';
      badge.dataset.state = 'error';
      line.textContent = e instanceof ApiFailure ? describe(e) : String(e);
      this.failed(e);
      this.alertBox.dataset.source = 'info';
    }
  }

  // ---- composer -----------------------------------------------------------------------------

  private setAttachments(list: Attachment[]): void {
    this.attachments = list;
    renderAttachments($('attachments'), list, (i) => {
      this.setAttachments(this.attachments.filter((_, j) => j !== i));
      this.prompt.focus();
    });
  }

  private async attach(files: File[]): Promise<void> {
    const max = this.info?.limits.max_images ?? 4;
    const errors: string[] = [];
    const added: Attachment[] = [];
    for (const f of files) {
      try {
        added.push(await attachmentOf(f));
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    let list = [...this.attachments, ...added];
    if (list.length > max) {
      errors.push(`the server takes at most ${max} images per request; the first ${max} are kept`);
      list = list.slice(0, max);
    }
    this.setAttachments(list);
    if (errors.length) this.showAlert(`Not attached: ${errors.join('; ')}.`);
    this.prompt.focus();
  }

  private autosize(): void {
    const p = this.prompt;
    p.style.height = 'auto';
    p.style.height = `${Math.min(p.scrollHeight, 200)}px`;
  }

  private bindComposer(): void {
    $('composer').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.submit();
    });
    this.prompt.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void this.submit();
      }
    });
    this.prompt.addEventListener('input', () => this.autosize());
    this.prompt.addEventListener('paste', (e) => {
      const files = droppedFiles(e.clipboardData);
      if (files.length === 0) return;
      e.preventDefault();
      void this.attach(files);
    });
    this.stop.addEventListener('click', () => this.cancel());
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      if (this.abort) {
        e.preventDefault();
        this.cancel();
      } else if (this.app.dataset.settings === 'open' && matchMedia('(max-width: 900px)').matches) this.openSettings(false);
    });
    const file = $<HTMLInputElement>('file');
    file.addEventListener('change', () => {
      const files = [...(file.files ?? [])];
      file.value = '';
      void this.attach(files);
    });
    for (const b of document.querySelectorAll<HTMLButtonElement>('.suggestion')) {
      b.addEventListener('click', () => {
        this.setMode((b.dataset.mode as Mode) ?? 'interleaved');
        this.prompt.value = b.dataset.prompt ?? '';
        this.autosize();
        this.prompt.focus();
      });
    }
    for (const r of document.querySelectorAll<HTMLInputElement>('input[name="mode"]')) {
      r.addEventListener('change', () => r.checked && this.setMode(r.value as Mode));
    }
  }

  private bindDrop(): void {
    const overlay = $('drop');
    const hasFiles = (e: DragEvent): boolean => [...(e.dataTransfer?.types ?? [])].includes('Files');
    window.addEventListener('dragenter', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      this.dragDepth++;
      overlay.hidden = false;
    });
    window.addEventListener('dragover', (e) => {
      if (hasFiles(e)) e.preventDefault();
    });
    window.addEventListener('dragleave', () => {
      this.dragDepth = Math.max(0, this.dragDepth - 1);
      if (this.dragDepth === 0) overlay.hidden = true;
    });
    window.addEventListener('drop', (e) => {
      e.preventDefault();
      this.dragDepth = 0;
      overlay.hidden = true;
      const files = droppedFiles(e.dataTransfer);
      if (files.length) void this.attach(files);
    });
  }

  // ---- alerts and the settings panel --------------------------------------------------------

  private showAlert(text: string): void {
    $('alert-text').textContent = text;
    delete this.alertBox.dataset.source;
    this.alertBox.hidden = false;
  }

  private hideAlert(): void {
    this.alertBox.hidden = true;
    delete this.alertBox.dataset.source;
  }

  private openSettings(open: boolean): void {
    this.app.dataset.settings = open ? 'open' : 'closed';
    $('settings-toggle').setAttribute('aria-expanded', String(open));
    $('scrim').hidden = !(open && matchMedia('(max-width: 900px)').matches);
    if (open && matchMedia('(max-width: 900px)').matches) $('settings-close').focus();
  }

  private bindPanel(): void {
    // A sidebar on wide screens (open), a sheet over the chat on narrow ones (closed); so on resize too.
    const narrow = matchMedia('(max-width: 900px)');
    this.openSettings(!narrow.matches);
    narrow.addEventListener('change', () => this.openSettings(!narrow.matches));
    $('settings-toggle').addEventListener('click', () => this.openSettings(this.app.dataset.settings !== 'open'));
    $('settings-close').addEventListener('click', () => {
      this.openSettings(false);
      $('settings-toggle').focus();
    });
    $('scrim').addEventListener('click', () => this.openSettings(false));
  }

  private setMode(mode: Mode): void {
    this.settings.mode = mode;
    $<HTMLInputElement>(`mode-${mode}`).checked = true;
    this.saveSettings();
  }

  private saveSettings(): void {
    store.set(SETTINGS_KEY, JSON.stringify(this.settings));
  }

  private bindSettings(): void {
    const ranges: [string, 'temperature' | 'topP' | 'maxImages' | 'guidanceText' | 'guidanceImage', (v: number) => string][] = [
      ['temperature', 'temperature', (v) => (v === 0 ? '0 (greedy)' : v.toFixed(2))],
      ['top-p', 'topP', (v) => v.toFixed(2)],
      ['max-images', 'maxImages', (v) => String(v)],
      ['guidance-text', 'guidanceText', (v) => v.toFixed(1)],
      ['guidance-image', 'guidanceImage', (v) => v.toFixed(1)],
    ];
    const maxTokens = $<HTMLInputElement>('max-tokens');
    const seed = $<HTMLInputElement>('seed');
    const cfg = $<HTMLSelectElement>('cfg');
    const negative = $<HTMLInputElement>('negative');
    const apiKey = $<HTMLInputElement>('api-key');
    const show = (): void => {
      const s = this.settings;
      for (const [id, key, fmt] of ranges) {
        const el = $<HTMLInputElement>(id);
        const r = RANGES[key];
        Object.assign(el, { min: String(r.min), max: String(r.max), step: String(r.step) });
        el.value = String(s[key]);
        $(`${id}-out`).textContent = fmt(s[key]);
      }
      maxTokens.value = s.maxTokens === null ? '' : String(s.maxTokens);
      seed.value = s.seed === null ? '' : String(s.seed);
      cfg.value = s.cfg;
      negative.value = s.negativePrompt;
      apiKey.value = s.apiKey;
      $<HTMLInputElement>(`mode-${s.mode}`).checked = true;
      $('guidance-image-field').hidden = s.cfg !== '3way';
      $('negative-field').hidden = s.cfg !== '2way';
      $<HTMLInputElement>('guidance-text').disabled = s.cfg === 'off';
    };
    for (const [id, key, fmt] of ranges) {
      const el = $<HTMLInputElement>(id);
      el.addEventListener('input', () => {
        this.settings[key] = Number(el.value);
        $(`${id}-out`).textContent = fmt(this.settings[key]);
        this.saveSettings();
      });
    }
    maxTokens.addEventListener('input', () => {
      const t = maxTokens.value.trim();
      const n = Number(t);
      const ok = t === '' || (Number.isInteger(n) && n >= 1);
      maxTokens.setAttribute('aria-invalid', String(!ok));
      if (ok) this.settings.maxTokens = t === '' ? null : n;
      this.saveSettings();
    });
    seed.addEventListener('input', () => {
      const r = parseSeed(seed.value);
      seed.setAttribute('aria-invalid', String('error' in r));
      $('seed-help').textContent = 'error' in r ? `The ${r.error}.` : 'Empty: a new seed each time (shown under the answer).';
      if (!('error' in r)) this.settings.seed = r.seed;
      this.saveSettings();
    });
    $('seed-random').addEventListener('click', () => {
      seed.value = '';
      seed.dispatchEvent(new Event('input'));
    });
    cfg.addEventListener('change', () => {
      this.settings.cfg = cfg.value as Settings['cfg'];
      this.saveSettings();
      show();
    });
    negative.addEventListener('input', () => {
      this.settings.negativePrompt = negative.value;
      this.saveSettings();
    });
    apiKey.addEventListener('change', () => {
      this.settings.apiKey = apiKey.value.trim();
      this.saveSettings();
      void this.loadInfo();
    });
    $('reset-settings').addEventListener('click', () => {
      this.settings = { ...this.defaults, apiKey: this.settings.apiKey };
      this.saveSettings();
      show();
    });
    this.showSettings = show;
    show();
  }
}

new App().start();
