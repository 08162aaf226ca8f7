// Per-modality perplexity of a Chameleon model on tokenized documents: one full forward per document
// (cut to the model's context), the negative log-likelihood of every loss-taking target token, summed
// separately for image codes and for everything else (text, and the BOI/EOI/EOS/end-of-turn ids).
// Perplexity = exp(mean NLL) of each bucket. Leaves out tokenizing (train/data/documents.ts does it).

import type { ChameleonModel } from '../../model/chameleon.js';
import type { TokenizedDocument } from '../../train/data/documents.js';

export interface NllSums {
  textNll: number;
  textTokens: number;
  imageNll: number;
  imageTokens: number;
}

export function emptyNll(): NllSums {
  return { textNll: 0, textTokens: 0, imageNll: 0, imageTokens: 0 };
}

/** Adds one document's target NLLs to `acc`; `isImage(id)` says which bucket a target belongs to. */
export function addDocumentNll(model: ChameleonModel, doc: TokenizedDocument, isImage: (id: number) => boolean, acc: NllSums): void {
  const e = model.engine;
  const T = Math.min(doc.tokens.length, model.config.maxPositionEmbeddings);
  if (T < 2) return;
  const V = model.config.vocabSize;
  const logits = e.scope(() => e.noGrad(() => Float32Array.from(model.forward({ ids: e.ids(doc.tokens.subarray(0, T), [1, T]) }).logits.f32()))); // [1, T, V]
  for (let t = 0; t + 1 < T; t++) {
    if (!doc.mask[t + 1]) continue;
    const row = logits.subarray(t * V, (t + 1) * V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (row[v] > max) max = row[v];
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(row[v] - max);
    const target = doc.tokens[t + 1];
    const nll = max + Math.log(sum) - row[target];
    if (isImage(target)) {
      acc.imageNll += nll;
      acc.imageTokens++;
    } else {
      acc.textNll += nll;
      acc.textTokens++;
    }
  }
}

/** exp(mean NLL), or null without tokens. */
export function perplexity(nll: number, tokens: number): number | null {
  return tokens > 0 ? Math.exp(nll / tokens) : null;
}
