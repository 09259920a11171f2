// Panel 4's data (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding Recurrent
// Networks"): run a character LSTM or GRU over a passage one character at a time, keeping every
// hidden unit's h_t and every gate's activation, then rank units by their correlation with
// simple features of the text and measure how often each gate is saturated.
import { Tensor, add, matmul, oneHot, zeros } from '@unfold/tensor';
import { CharRNN, CharVocab, decodeCheckpoint, gruGatesForward, lstmGatesForward } from '@unfold/rnn';

export interface Activations {
  cell: 'lstm' | 'gru';
  text: string;
  H: number;
  /** h[t][u]: unit u after reading text[t]. */
  h: Float32Array[];
  /** gates[t], 4H wide: LSTM [i f g o]; GRU [r z p_n n] (as the library's gate loops leave them). */
  gates: Float32Array[];
}

/** A CharRNN and its vocabulary from the bytes panel 3's download (and the pretrain script) write. */
export function loadCharModel(bytes: Uint8Array): { model: CharRNN; vocab: CharVocab } {
  const ck = decodeCheckpoint(bytes);
  const c = ck.meta.config as { cell: 'lstm' | 'gru' | 'rnn'; vocabSize: number; hiddenSize: number; numLayers?: number } | undefined;
  if (!c || ck.meta.vocab === undefined) throw new Error('cells: this checkpoint has no model config and vocabulary (expected one written by the explorer)');
  const model = new CharRNN({ cell: c.cell, vocabSize: c.vocabSize, hiddenSize: c.hiddenSize, numLayers: c.numLayers ?? 1 });
  model.loadStateDict(ck.tensors);
  return { model, vocab: CharVocab.fromJSON(ck.meta.vocab) };
}

/**
 * One LSTM step at a time with the library's tensors and its own gate loop (lstmGatesForward,
 * the JS half of the fused lstmCell): pre-activations a = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh [1, 4H],
 * then [i f g o], c' = f⊙c + i⊙g, h' = o⊙tanh(c'). Single-layer LSTM only.
 */
export function lstmActivations(model: CharRNN, vocab: CharVocab, text: string): Activations {
  if (model.opts.cell !== 'lstm' || (model.opts.numLayers ?? 1) !== 1 || model.opts.input !== 'onehot') {
    throw new Error(`cells: panel 4 reads a one-layer one-hot LSTM, this model is a ${model.opts.numLayers}-layer ${model.opts.cell} (${model.opts.input})`);
  }
  const H = model.opts.hiddenSize;
  const V = model.opts.vocabSize;
  const w = model.rnn.weights(0);
  let h: Tensor = zeros([1, H]);
  const c = new Float32Array(H);
  const out: Activations = { cell: 'lstm', text, H, h: [], gates: [] };
  const ids = vocab.encode(text);
  for (const id of ids) {
    let a = add(matmul(oneHot([id], V), w.wih, { transB: true }), matmul(h, w.whh, { transB: true })); // [1,V]·[4H,V]ᵀ + [1,H]·[4H,H]ᵀ → [1,4H]
    if (w.bih) a = add(a, w.bih);
    if (w.bhh) a = add(a, w.bhh);
    const act = Float32Array.from(a.toFlatArray());
    const hn = new Float32Array(H), cn = new Float32Array(H), tc = new Float32Array(H);
    lstmGatesForward(1, H, act, { d: c, o: 0, ld: H }, hn, cn, tc);
    c.set(cn);
    h = Tensor.fromArray(hn.slice(), [1, H]);
    out.h.push(hn);
    out.gates.push(act);
  }
  return out;
}

/**
 * The same for a one-layer GRU, with the library's gruGatesForward (the JS half of the fused
 * gruCell, PyTorch's gate order r, z, n): p = h W_hhᵀ + b_hh [1, 3H] and xp = x W_ihᵀ + b_ih
 * [1, 3H] → r = σ(xp_r + p_r), z = σ(xp_z + p_z), n = tanh(xp_n + r ⊙ p_n), h' = n + z ⊙ (h − n).
 */
export function gruActivations(model: CharRNN, vocab: CharVocab, text: string): Activations {
  if (model.opts.cell !== 'gru' || (model.opts.numLayers ?? 1) !== 1 || model.opts.input !== 'onehot') {
    throw new Error(`cells: gruActivations reads a one-layer one-hot GRU, this model is a ${model.opts.numLayers}-layer ${model.opts.cell} (${model.opts.input})`);
  }
  const H = model.opts.hiddenSize;
  const V = model.opts.vocabSize;
  const w = model.rnn.weights(0);
  let h = new Float32Array(H);
  const out: Activations = { cell: 'gru', text, H, h: [], gates: [] };
  for (const id of vocab.encode(text)) {
    let xp = matmul(oneHot([id], V), w.wih, { transB: true }); // [1,V]·[3H,V]ᵀ → [1,3H]
    if (w.bih) xp = add(xp, w.bih);
    let p = matmul(Tensor.fromArray(h, [1, H]), w.whh, { transB: true }); // [1,H]·[3H,H]ᵀ → [1,3H]
    if (w.bhh) p = add(p, w.bhh);
    const act = new Float32Array(4 * H); // [p_r p_z p_n ·] → [r z p_n n]
    act.set(p.toFlatArray());
    const hn = new Float32Array(H);
    gruGatesForward(1, H, act, { d: Float32Array.from(xp.toFlatArray()), o: 0, ld: 3 * H }, { d: h, o: 0, ld: H }, hn);
    h = hn;
    out.h.push(hn);
    out.gates.push(act);
  }
  return out;
}

/** lstmActivations or gruActivations, by the model's cell (panel 4 reads either; a vanilla RNN has no gates). */
export function charActivations(model: CharRNN, vocab: CharVocab, text: string): Activations {
  if (model.opts.cell === 'gru') return gruActivations(model, vocab, text);
  if (model.opts.cell === 'lstm') return lstmActivations(model, vocab, text);
  throw new Error(`cells: panel 4 reads a one-layer LSTM or GRU (it counts gate saturation), this model is a ${model.opts.cell}`);
}

export const FEATURES = ['position in line', 'start of word', 'bracket depth', 'inside quotes', 'end of line next'] as const;
export type Feature = (typeof FEATURES)[number];

/** Each feature's value at every character (after reading text[t]). */
export function features(text: string): Record<Feature, Float64Array> {
  const n = text.length;
  const f = Object.fromEntries(FEATURES.map((k) => [k, new Float64Array(n)])) as Record<Feature, Float64Array>;
  let col = 0, depth = 0, quote = 0;
  const letter = (ch: string | undefined) => ch !== undefined && /\p{L}/u.test(ch);
  for (let t = 0; t < n; t++) {
    const ch = text[t];
    col = ch === '\n' ? 0 : col + 1;
    if (ch === '(' || ch === '[') depth++;
    if ((ch === ')' || ch === ']') && depth > 0) depth--;
    if (ch === '"') quote = 1 - quote;
    f['position in line'][t] = col;
    f['start of word'][t] = letter(ch) && !letter(text[t - 1]) ? 1 : 0;
    f['bracket depth'][t] = depth;
    f['inside quotes'][t] = quote;
    f['end of line next'][t] = text[t + 1] === '\n' ? 1 : 0;
  }
  return f;
}

/** Pearson's r of x and y; NaN when either is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i] - mx, b = y[i] - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

export interface UnitScore { unit: number; feature: Feature; r: number }

/** Every (unit, feature) pair by |r|, largest first; constant features (r = NaN) are left out. */
export function rankUnits(a: Activations, f: Record<Feature, Float64Array>): UnitScore[] {
  const out: UnitScore[] = [];
  for (let u = 0; u < a.H; u++) {
    const hu = a.h.map((h) => h[u]);
    for (const k of FEATURES) {
      const r = pearson(hu, f[k]);
      if (Number.isFinite(r)) out.push({ unit: u, feature: k, r });
    }
  }
  return out.sort((p, q) => Math.abs(q.r) - Math.abs(p.r));
}

/** The gates counted, by their block in Activations.gates: LSTM input, forget, output; GRU reset r and update z. */
export const SATURATION_GATES = { lstm: { input: 0, forget: 1, output: 3 }, gru: { 'reset r': 0, 'update z': 1 } } as const;

/** Per gate and unit: the fraction of steps with activation < 0.1 (left) and > 0.9 (right). */
export function gateSaturation(a: Activations): Record<string, { left: Float64Array; right: Float64Array }> {
  const H = a.H;
  const T = a.gates.length;
  const one = (block: number) => {
    const left = new Float64Array(H), right = new Float64Array(H);
    for (const g of a.gates) {
      for (let u = 0; u < H; u++) {
        const v = g[block * H + u];
        if (v < 0.1) left[u] += 1 / T;
        else if (v > 0.9) right[u] += 1 / T;
      }
    }
    return { left, right };
  };
  return Object.fromEntries(Object.entries(SATURATION_GATES[a.cell]).map(([name, block]) => [name, one(block)]));
}

/** The passage panel 4 shows: the 2,000 characters of the corpus with the most brackets (so bracket depth varies), starting on a line. */
export function passage(corpus: string, length = 2000): string {
  let best = 0, bestCount = -1;
  for (let s = 0; s + length <= corpus.length; s += 500) {
    let c = 0;
    for (let i = s; i < s + length; i++) if (corpus[i] === '(') c++;
    if (c > bestCount) {
      bestCount = c;
      best = s;
    }
  }
  const start = corpus.indexOf('\n', best) + 1;
  return corpus.slice(start, start + length);
}
