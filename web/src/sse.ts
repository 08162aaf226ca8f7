// Server-sent events over a fetch() body (EventSource cannot POST a JSON body): a parser fed decoded
// text in chunks split anywhere, yielding {event, data} messages by the WHATWG rules the server's
// streams use (event: and data: fields, comments, a blank line dispatches; CR, LF or CRLF line ends),
// and an async reader over a response body. Leaves out reconnection, `id:` and `retry:`.

export interface SseMessage {
  /** The `event:` field ('message' when absent). */
  event: string;
  /** The `data:` lines joined with newlines. */
  data: string;
}

/** Incremental SSE parser. */
export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];

  /** Feeds a chunk; returns the messages it completes. */
  push(chunk: string): SseMessage[] {
    this.buf += chunk;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (c !== '\n' && c !== '\r') continue;
      // A CR at the end of the chunk may be the first half of CRLF: wait for the next chunk.
      if (c === '\r' && i === this.buf.length - 1) break;
      const line = this.buf.slice(start, i);
      if (c === '\r' && this.buf[i + 1] === '\n') i++;
      start = i + 1;
      this.line(line, out);
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n') });
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
  }
}

/** The messages of an SSE response body, as they arrive. An unfinished last message is dropped (as the spec says). */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let finished = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    finished = true;
    yield* parser.push(decoder.decode() + '\n');
  } finally {
    // A consumer that stops early (an error event, a stop) closes the stream: the server sees it go.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
