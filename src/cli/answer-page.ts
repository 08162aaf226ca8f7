// The index.html written next to generated images: a conversation (user and assistant turns of text
// and image files) as one self-contained page, images drawn pixelated at 256 px. Used by `generate`
// (one exchange) and `chat` (the whole session, rewritten after every turn). Leaves out: serving.

export interface PagePart {
  kind: 'text' | 'image';
  text?: string;
  /** Image file name, relative to the page. */
  file?: string;
}

export interface PageTurn {
  role: 'user' | 'assistant';
  parts: PagePart[];
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function partHtml(p: PagePart, role: PageTurn['role']): string {
  if (p.kind === 'text') return `<p>${escapeHtml(p.text ?? '').replace(/\n/g, '<br>')}</p>`;
  const cls = role === 'user' ? ' class="in"' : '';
  return `<img${cls} src="${escapeHtml(p.file!)}" alt="${role === 'user' ? 'input' : 'generated'} image">`;
}

/** The page for `turns` (and a metadata block, e.g. seeds and speeds, when given). */
export function conversationHtml(title: string, turns: readonly PageTurn[], meta?: Record<string, unknown>): string {
  const body = turns
    .map((t) => `<div class="turn ${t.role}"><b>${t.role === 'user' ? 'You' : 'Chameleon'}</b>\n${t.parts.map((p) => partHtml(p, t.role)).join('\n')}</div>`)
    .join('\n');
  const metaHtml = meta ? `<pre>${escapeHtml(JSON.stringify(meta, null, 2))}</pre>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:760px;margin:2em auto;padding:0 1em;line-height:1.5}
.turn{padding:.8em 1em;border-radius:8px;margin:.8em 0}.user{background:#f3f3f3}.assistant{background:#eef6ee}
img{image-rendering:pixelated;width:256px;height:256px;border-radius:6px;margin:.3em;display:block}
img.in{width:128px;height:128px}pre{color:#666;font-size:.8em;white-space:pre-wrap}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
${metaHtml}
</body></html>
`;
}
