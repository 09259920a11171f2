import { logSoftmax } from '@unfold/tensor';
import { noGrad } from '@unfold/autodiff';
import { EOS_ID, SOS_ID, Seq2Seq, makeSeq2SeqBatch } from '../src';

// A tiny untrained model (V = 5: pad, sos, eos and two tokens) has flat, seed-dependent
// distributions: the best output is not obvious, which is what makes exhaustive search a test.
const V = 5;
const MAX = 3;
const CONT = [0, 1, 3, 4]; // every id but EOS can continue a hypothesis, as in beamDecode

/** log p(y, EOS | src) by teacher forcing (EOS omitted for a sequence of MAX tokens). */
function logProb(m: Seq2Seq, src: number[], y: number[]): number {
  const closed = y.length < MAX;
  const tgtIn = [SOS_ID, ...y].slice(0, closed ? y.length + 1 : MAX);
  const tgtOut = closed ? [...y, EOS_ID] : y;
  return noGrad(() => {
    m.eval();
    const { logits } = m.forward(makeSeq2SeqBatch({ src: [src], tgtIn: [tgtIn], tgtOut: [tgtOut] }));
    const lp = logSoftmax(logits.reshape([-1, V]), -1);
    return tgtOut.reduce((a, tok, t) => a + lp.get(t, tok), 0);
  });
}

/** Every output of ≤ MAX tokens, best first. */
function exhaustive(m: Seq2Seq, src: number[]): { tokens: number[]; logProb: number }[] {
  const all: number[][] = [[]];
  for (let n = 0; n < all.length; n++) if (all[n].length < MAX) for (const v of CONT) all.push([...all[n], v]);
  return all.map((tokens) => ({ tokens, logProb: logProb(m, src, tokens) })).sort((a, b) => b.logProb - a.logProb);
}

describe('Seq2Seq.beamDecode', () => {
  const sources = [[3, 4, 4], [4], [3, 3, 4, 3]];
  const models = [1, 2, 3, 4].map((seed) => new Seq2Seq({ vocabSize: V, embeddingDim: 4, hiddenSize: 6, seed, bidirectional: seed % 2 === 0, cell: seed > 2 ? 'lstm' : 'gru' }));

  test('with a beam as wide as the search space it is exhaustive search: same n best, same log-probabilities', () => {
    for (const m of models) {
      for (const src of sources) {
        const ex = exhaustive(m, src);
        const top = m.beamDecode([src], { beamSize: CONT.length ** MAX, maxLen: MAX, nBest: 5 })[0];
        expect(top.map((h) => h.tokens)).toEqual(ex.slice(0, 5).map((h) => h.tokens));
        top.forEach((h, i) => expect(h.logProb).toBeCloseTo(ex[i].logProb, 4));
        // the whole ranking: every one of the 85 outputs, each with its own log-probability
        const all = m.beamDecode([src], { beamSize: ex.length, maxLen: MAX, nBest: ex.length })[0];
        expect(all.length).toBe(ex.length);
        const want = new Map(ex.map((h) => [h.tokens.join(','), h.logProb]));
        all.forEach((h, i) => {
          expect(h.logProb).toBeCloseTo(want.get(h.tokens.join(','))!, 4);
          expect(h.logProb).toBeCloseTo(ex[i].logProb, 4);
        });
      }
    }
  });

  test('every beam width returns a true log-probability, never below greedy decoding', () => {
    let greedyMissed = 0;
    for (const m of models) {
      for (const src of sources) {
        const best = exhaustive(m, src)[0].logProb;
        const greedy = m.greedyDecode([src], MAX).tokens[0];
        const g = logProb(m, src, greedy);
        if (g < best - 1e-5) greedyMissed++;
        for (const K of [1, 2, 3]) {
          const [h] = m.beamDecode([src], { beamSize: K, maxLen: MAX })[0];
          expect(h.logProb).toBeCloseTo(logProb(m, src, h.tokens), 4);
          expect(h.logProb).toBeGreaterThanOrEqual(g - 1e-5);
          expect(h.logProb).toBeLessThanOrEqual(best + 1e-5);
        }
      }
    }
    // greedy decoding misses the optimum somewhere: the search has something to find
    expect(greedyMissed).toBeGreaterThan(0);
  });

  test('bad options are named', () => {
    const m = models[0];
    expect(() => m.beamDecode([[3]], { beamSize: 0, maxLen: 3 })).toThrow(/beamSize/);
    expect(() => m.beamDecode([[3]], { beamSize: 2, maxLen: 3, nBest: 3 })).toThrow(/nBest/);
    expect(() => m.beamDecode([[3]], { beamSize: 2, maxLen: 0 })).toThrow(/maxLen/);
    expect(() => m.beamDecode([[3]], { beamSize: 2, maxLen: 3, width: 2 } as never)).toThrow(/unknown option width/);
    expect(() => m.beamDecode([], { beamSize: 2, maxLen: 3 })).toThrow(/non-empty/);
  });
});
