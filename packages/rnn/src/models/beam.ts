// Beam search for the attention encoder–decoder: keep the K best partial outputs by
// log-probability, extend each by every token, keep the K best extensions, set aside the ones
// that emit EOS. Exact at the limit: with K ≥ the number of live partial outputs it is
// exhaustive search (tested against enumeration on a tiny model).
import { TensorError, gather, logSoftmax } from '@unfold/tensor';
import { noGrad } from '@unfold/autodiff';
import { padSequences } from '../data/padding';
import { EOS_ID, PAD_ID, SOS_ID } from '../data/seq2seq';
import type { Seq2Seq } from './seq2seq';

export interface BeamOptions {
  /** K, the number of partial outputs kept per step (K = 1 is greedy with EOS kept aside). */
  beamSize: number;
  /** Longest output in tokens; a hypothesis still open after maxLen tokens ends there, without EOS. */
  maxLen: number;
  /** How many finished hypotheses to return per source (default 1, at most beamSize). */
  nBest?: number;
}

export interface BeamHypothesis {
  /** Output tokens, EOS not included. */
  tokens: number[];
  /** log p(tokens, EOS | src) under the model (EOS omitted for one cut at maxLen). */
  logProb: number;
}

/**
 * Beam search, one source at a time (the K hypotheses of one source form the batch):
 *
 *   score(y_{1…t}) = Σ_{s≤t} log p(y_s | y_{<s}, src)          // no length normalisation
 *   step t: candidates {(h, v): score(h) + log p(v | h)} over live h and every token v
 *           (h, EOS) → finished; the K best others → the next beam (state rows gathered by parent)
 *   stop:   the nBest-th finished score ≥ the best live score (scores only fall: log p ≤ 0),
 *           or maxLen tokens
 *
 * Returns per source its nBest hypotheses, best first. Ties are broken by beam row, then token
 * id, so the result is deterministic.
 */
export function beamDecode(model: Seq2Seq, src: number[][], opts: BeamOptions): BeamHypothesis[][] {
  const lbl = 'Seq2Seq.beamDecode';
  if (opts === null || typeof opts !== 'object') throw new TensorError(lbl, 'options { beamSize, maxLen, nBest? } required');
  const known = ['beamSize', 'maxLen', 'nBest'];
  const unknown = Object.keys(opts).filter((k) => !known.includes(k));
  if (unknown.length) throw new TensorError(lbl, `unknown option ${unknown.join(', ')} (valid: ${known.join(', ')})`);
  const K = opts.beamSize;
  const nBest = opts.nBest ?? 1;
  if (!Number.isInteger(K) || K < 1) throw new TensorError(lbl, `beamSize must be a positive integer, got ${K}`);
  if (!Number.isInteger(opts.maxLen) || opts.maxLen < 1) throw new TensorError(lbl, `maxLen must be a positive integer, got ${opts.maxLen}`);
  if (!Number.isInteger(nBest) || nBest < 1 || nBest > K) throw new TensorError(lbl, `nBest must be an integer in [1, beamSize ${K}], got ${nBest}`);
  if (!Array.isArray(src) || src.length === 0) throw new TensorError(lbl, 'src must be a non-empty array of id sequences');
  const was = model.training;
  model.eval();
  try {
    return noGrad(() => src.map((s) => beamOne(model, s, K, opts.maxLen, nBest)));
  } finally {
    model.train(was);
  }
}

interface Candidate {
  row: number; // parent's beam row
  token: number;
  score: number;
}

function beamOne(model: Seq2Seq, s: number[], K: number, maxLen: number, nBest: number): BeamHypothesis[] {
  const V = model.opts.vocabSize;
  // K copies of the source: one encoder pass gives each beam row its own memory row
  const { memory, state } = model.encode(padSequences(Array.from({ length: K }, () => s), { padValue: PAD_ID }));
  let st = state;
  let live: BeamHypothesis[] = [{ tokens: [], logProb: 0 }]; // row i of the batch holds live[i]; rows ≥ live.length are idle
  let prev = new Int32Array(K).fill(SOS_ID);
  const finished: BeamHypothesis[] = [];
  const byScore = (a: { logProb: number }, b: { logProb: number }): number => b.logProb - a.logProb;
  for (let t = 0; t < maxLen; t++) {
    const r = model.step(prev, st, memory);
    const lp = logSoftmax(model.out.forward(r.hTilde), -1).contiguous(); // [K,V]
    const L = lp.data;
    const cands: Candidate[] = [];
    for (let i = 0; i < live.length; i++) {
      for (let v = 0; v < V; v++) {
        const score = live[i].logProb + L[lp.offset + i * V + v];
        if (v === EOS_ID) finished.push({ tokens: live[i].tokens, logProb: score });
        else cands.push({ row: i, token: v, score });
      }
    }
    cands.sort((a, b) => b.score - a.score || a.row - b.row || a.token - b.token);
    const keep = cands.slice(0, K);
    live = keep.map((c) => ({ tokens: [...live[c.row].tokens, c.token], logProb: c.score }));
    finished.sort(byScore);
    if (live.length === 0 || (finished.length >= nBest && finished[nBest - 1].logProb >= live[0].logProb)) {
      live = [];
      break;
    }
    // reorder the decoder state by parent: [K,H] rows gathered; idle rows repeat row 0's parent
    const parents = Int32Array.from({ length: K }, (_, k) => keep[k < keep.length ? k : 0].row);
    st = { cell: r.state.cell.map((c) => gather(c.contiguous(), parents)), feed: gather(r.state.feed.contiguous(), parents) };
    prev = Int32Array.from({ length: K }, (_, k) => keep[k < keep.length ? k : 0].token);
  }
  finished.push(...live); // still open after maxLen tokens: cut there
  finished.sort(byScore);
  return finished.slice(0, nBest);
}
