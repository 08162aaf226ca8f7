// Making untrusted text (model output) safe to show on a terminal: control characters that would
// move the cursor, recolour, clear the screen or reorder text (C0/C1 controls, DEL, bidi overrides)
// are shown as visible escapes such as \x1b; newlines and tabs pass. Files keep the exact text.

// C0 controls but \t and \n, DEL, C1 controls, and the bidi embedding/override/isolate characters.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  if (c === '\r') return '\\r';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** The text with every unsafe control character replaced by its visible escape. */
export function terminalSafe(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

/** True when s contains something terminalSafe would escape. */
export function hasUnsafeControls(s: string): boolean {
  UNSAFE.lastIndex = 0;
  const r = UNSAFE.test(s);
  UNSAFE.lastIndex = 0;
  return r;
}
