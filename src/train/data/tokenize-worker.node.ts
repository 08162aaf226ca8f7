// Worker thread of `data build`: loads a model directory's vocabulary and text tokenizer, then turns
// chunks of JSONL lines into token layouts and loss masks (documents.ts) so text tokenization runs on
// several cores. Documents with images go back untouched (the main thread owns the VQ encoder), as
// do bad lines (reported as messages). Protocol types are in text-parts.node.ts.

import { parentPort, workerData } from 'node:worker_threads';
import { ChameleonError } from '../../util/errors.js';
import { DOC_KINDS, DocumentError, documentImages, parseDocumentLine, tokenizeDocument } from './documents.js';
import { LINE_DOC, LINE_ERROR, LINE_FATAL, LINE_IMAGES, loadTextParts, type ChunkRequest, type ChunkResult } from './text-parts.node.js';

const { dir } = workerData as { dir: string };
const parts = (await loadTextParts(dir)).parts;
const port = parentPort!;

port.on('message', (req: ChunkRequest) => {
  const n = req.lines.length;
  const kinds = new Uint8Array(n);
  const docKinds = new Uint8Array(n);
  const lengths = new Int32Array(n);
  const messages: (string | null)[] = new Array<string | null>(n).fill(null);
  const toks: Int32Array[] = [];
  const masks: Uint8Array[] = [];
  let total = 0;
  req.lines.forEach((line, i) => {
    if (line.trim() === '') return; // kinds[i] stays LINE_BLANK (0)
    try {
      const doc = parseDocumentLine(line);
      if (doc.kind === 'chat' && parts.vocab.eot < 0) {
        kinds[i] = LINE_FATAL;
        messages[i] = 'a chat document, but the model has no end-of-turn token';
      } else if (documentImages(doc).length > 0) kinds[i] = LINE_IMAGES;
      else {
        const t = tokenizeDocument(doc, parts, () => []);
        kinds[i] = LINE_DOC;
        docKinds[i] = DOC_KINDS.indexOf(doc.kind);
        lengths[i] = t.tokens.length;
        toks.push(t.tokens);
        masks.push(t.mask);
        total += t.tokens.length;
      }
    } catch (e) {
      if (!(e instanceof ChameleonError)) throw e;
      kinds[i] = e instanceof DocumentError ? LINE_ERROR : LINE_FATAL;
      messages[i] = e.message;
    }
  });
  const tokens = new Int32Array(total);
  const mask = new Uint8Array(total);
  let at = 0;
  toks.forEach((t, j) => {
    tokens.set(t, at);
    mask.set(masks[j], at);
    at += t.length;
  });
  const res: ChunkResult = { id: req.id, kinds, docKinds, lengths, messages, tokens, mask };
  port.postMessage(res, [kinds.buffer, docKinds.buffer, lengths.buffer, tokens.buffer, mask.buffer]);
});
port.postMessage({ ready: true });
