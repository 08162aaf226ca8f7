// A multi-turn chat over the generator (browser-safe): keeps the conversation as chat messages (text
// and image codes on either side), lays out each request with chatPrompt, streams the reply's events
// and appends the reply (its text and the codes of its images) to the history, so the next turn sees
// it. When history + the reply budget outgrows the context, the oldest turns are dropped whole (user
// and assistant together). Leaves out: reading images and printing (the CLI, the server).

import { ChameleonError } from '../util/errors.js';
import type { GenEvent } from './events.js';
import type { ChameleonGenerator } from './generator.js';
import { tokenBudget, type GenerateOptions } from './options.js';
import { chatPrompt, type ChatMessage, type PromptParts, type Segment } from './prompt.js';

/** One reply as the session records it. */
export interface ChatReply {
  /** Text and image segments in the order they were generated. */
  segments: Segment[];
  reason: string;
  generatedTokens: number;
  promptTokens: number;
  /** Turns dropped from the front of the history to make room for this request. */
  droppedTurns: number;
}

export interface ChatSessionOptions {
  /** Tokens of context (the model's max_position_embeddings). */
  context: number;
  /** Always keep room for at least this many new tokens (default: one image + 64). */
  minReplyTokens?: number;
  /** A system-like first user turn kept at the front of every prompt (never dropped). */
  preamble?: ChatMessage[];
}

/** The session's history and the ids of the prompt that a new user turn would make. */
export class ChatSession {
  readonly history: ChatMessage[] = [];
  private readonly minReply: number;

  constructor(
    readonly generator: ChameleonGenerator,
    readonly parts: PromptParts,
    readonly opts: ChatSessionOptions,
  ) {
    if (!(opts.context > 0)) throw new ChameleonError(`ChatSession: context must be positive, got ${opts.context}`);
    this.minReply = opts.minReplyTokens ?? parts.imageTokens + 2 + 64;
  }

  /** Forgets the conversation (the preamble stays). */
  reset(): void {
    this.history.length = 0;
  }

  /**
   * The prompt for `user` after the history, dropping the oldest (user, assistant) pairs until the
   * prompt leaves minReply tokens of context. Refuses a single turn that cannot fit at all.
   */
  promptFor(user: readonly Segment[]): { ids: number[]; dropped: number } {
    const pre = this.opts.preamble ?? [];
    let dropped = 0;
    for (;;) {
      const messages: ChatMessage[] = [...pre, ...this.history.slice(dropped), { role: 'user', content: [...user] }];
      const ids = chatPrompt(this.parts, messages);
      if (ids.length + this.minReply <= this.opts.context) return { ids, dropped };
      if (dropped >= this.history.length) {
        throw new ChameleonError(`this message takes ${ids.length} tokens; with room for a reply (${this.minReply}) it does not fit the ${this.opts.context}-token context`);
      }
      dropped += 2; // a user turn and its reply
    }
  }

  /**
   * Sends one user turn and streams the reply's events; when the stream ends the turn and its
   * reply join the history (an aborted reply too, as far as it got). Returns the reply.
   */
  async *send(user: readonly Segment[], options: GenerateOptions, signal?: AbortSignal): AsyncGenerator<GenEvent, ChatReply> {
    if (user.length === 0) throw new ChameleonError('an empty message');
    const { ids, dropped } = this.promptFor(user);
    const budget = tokenBudget(ids.length, options.maxNewTokens, this.opts.context);
    const segments: Segment[] = [];
    let reason = 'length';
    let generatedTokens = 0;
    for await (const ev of this.generator.stream([{ prompt: ids, options: { ...options, maxNewTokens: budget.maxNewTokens }, signal }], { previewBudget: 0 })) {
      if (ev.type === 'text') {
        const last = segments[segments.length - 1];
        if (last && last.type === 'text') last.text += ev.delta;
        else segments.push({ type: 'text', text: ev.delta });
      } else if (ev.type === 'image') {
        segments.push({ type: 'image', codes: Int32Array.from(ev.codes) });
      } else if (ev.type === 'done') {
        reason = ev.reason;
        generatedTokens = ev.generatedTokens;
      }
      yield ev;
    }
    this.history.splice(0, dropped);
    this.history.push({ role: 'user', content: [...user] }, { role: 'assistant', content: segments.length ? segments : [{ type: 'text', text: '' }] });
    return { segments, reason, generatedTokens, promptTokens: ids.length, droppedTurns: dropped / 2 };
  }
}
