// OpenAI `stop` sequences over streamed text: text is passed on as it comes except a tail that could
// still grow into a stop sequence, which is held back; when a stop sequence appears (the one that
// completes first), the text before it is the last to go out. The generator knows only ids and end
// tokens, so this lives in the server.

export class StopMatcher {
  /** A stop sequence has appeared; nothing more is emitted. */
  stopped = false;
  private held = '';

  constructor(readonly stops: readonly string[]) {}

  /** Feeds a text delta; returns the text that can be emitted now. */
  push(delta: string): string {
    if (this.stopped) return '';
    const s = this.held + delta;
    // The match that completes first is where generation would have stopped, token by token.
    let cut = -1;
    let end = Infinity;
    for (const st of this.stops) {
      const i = s.indexOf(st);
      if (i >= 0 && (i + st.length < end || (i + st.length === end && i < cut))) {
        cut = i;
        end = i + st.length;
      }
    }
    if (cut >= 0) {
      this.stopped = true;
      this.held = '';
      return s.slice(0, cut);
    }
    // Hold back the longest tail of s that begins some stop sequence.
    let hold = 0;
    for (const st of this.stops) {
      for (let k = Math.min(st.length - 1, s.length); k > hold; k--) {
        if (s.endsWith(st.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    this.held = s.slice(s.length - hold);
    return s.slice(0, s.length - hold);
  }

  /** The held-back tail, when the text ends (or an image interrupts it): no stop can match across. */
  flush(): string {
    const h = this.held;
    this.held = '';
    return this.stopped ? '' : h;
  }
}
