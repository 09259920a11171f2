// Fits the rational approximation of tanh used by the wasm gate kernels (src/wasm/vmath.ts):
//   tanh(x) ≈ x·P(x²)/Q(x²),  P of degree NP, Q of degree NQ, P(0) = Q(0) = 1,  on 2^-12 ≤ |x| ≤ 9.01
// (P(0) = Q(0) = 1 exactly: below 2^-12 both round to 1 in float32, so tanh(x) = x there, denormals included)
// minimising the maximum relative error (linearised least squares, Loeb's iteration for the
// denominator, Lawson's reweighting for the maximum), all in float64. Prints the coefficients
// and the worst relative error of the rational in float64 and evaluated in float32 (Horner,
// mul + add and fused), over a dense grid.   node packages/tensor/scripts/fit-tanh.mjs
const NP = 5, NQ = 3, XMAX = 9.01, N = 4000;
const xs = [];
for (let i = 0; i < N; i++) xs.push(XMAX * Math.sin((Math.PI / 2) * ((i + 0.5) / N)) ** 1); // denser near the top
for (let i = 0; i < 400; i++) xs.push(XMAX * ((i + 0.5) / 400) ** 3); // and near 0
const f = xs.map((x) => Math.tanh(x) / x);
const horner = (c, z) => c.reduceRight((acc, k) => acc * z + k, 0);
// unknowns: p1..pNP, q1..qNQ ;  (P(z) − 1) − f·(Q(z) − 1) ≈ f − 1
function solve(A, b) {
  const n = b.length;
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
    [A[c], A[piv]] = [A[piv], A[c]];
    [b[c], b[piv]] = [b[piv], b[c]];
    for (let r = c + 1; r < n; r++) {
      const m = A[r][c] / A[c][c];
      for (let k = c; k < n; k++) A[r][k] -= m * A[c][k];
      b[r] -= m * b[c];
    }
  }
  const x = new Array(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r];
    for (let k = r + 1; k < n; k++) s -= A[r][k] * x[k];
    x[r] = s / A[r][r];
  }
  return x;
}
let P = [1], Q = [1];
let lawson = xs.map(() => 1);
const nu = NP + NQ;
for (let it = 0; it < 200; it++) {
  const A = Array.from({ length: nu }, () => new Array(nu).fill(0));
  const b = new Array(nu).fill(0);
  xs.forEach((x, i) => {
    const z = x * x;
    const w = lawson[i] / (f[i] * horner(Q, z)) ** 2; // relative error, linearised with the last Q
    const row = [];
    for (let k = 1; k <= NP; k++) row.push(z ** k);
    for (let k = 1; k <= NQ; k++) row.push(-f[i] * z ** k);
    for (let r = 0; r < nu; r++) {
      b[r] += w * row[r] * (f[i] - 1);
      for (let c = 0; c < nu; c++) A[r][c] += w * row[r] * row[c];
    }
  });
  const s = solve(A, b);
  P = [1, ...s.slice(0, NP)];
  Q = [1, ...s.slice(NP)];
  const err = xs.map((x, i) => Math.abs(horner(P, x * x) / horner(Q, x * x) / f[i] - 1));
  const mean = err.reduce((a, e) => a + e, 0) / err.length;
  if (it >= 20) lawson = lawson.map((l, i) => l * (err[i] / mean) ** 0.5); // Lawson: weight the worst points up
  const tot = lawson.reduce((a, l) => a + l, 0);
  lawson = lawson.map((l) => (l * xs.length) / tot);
}
const fr = Math.fround;
const P32 = P.map(fr), Q32 = Q.map(fr);
const eval32 = (x, fused) => {
  const z = fr(x * x);
  const step = (acc, k) => (fused ? fr(acc * z + k) : fr(fr(acc * z) + k));
  let p = P32[NP];
  for (let k = NP - 1; k >= 0; k--) p = step(p, P32[k]);
  let q = Q32[NQ];
  for (let k = NQ - 1; k >= 0; k--) q = step(q, Q32[k]);
  return Math.min(fr(fr(x * p) / q), 1);
};
let e64 = 0, e32 = 0, e32f = 0, at = 0;
for (let i = 0; i <= 2_000_000; i++) {
  const x = fr(2 ** -12 + (XMAX - 2 ** -12) * (i / 2_000_000) ** 2);
  const t = Math.tanh(x);
  e64 = Math.max(e64, Math.abs((x * horner(P, x * x)) / horner(Q, x * x) / t - 1));
  const r = Math.abs(eval32(x, false) / t - 1);
  if (r > e32) { e32 = r; at = x; }
  e32f = Math.max(e32f, Math.abs(eval32(x, true) / t - 1));
}
console.log('P', P32.map((c) => c.toPrecision(9)).join(', '));
console.log('Q', Q32.map((c) => c.toPrecision(9)).join(', '));
console.log(`max relative error: float64 ${e64.toExponential(2)}, float32 mul+add ${e32.toExponential(2)} (at ${at}), fused ${e32f.toExponential(2)}`);
console.log('at 9.01 (float32):', eval32(fr(9.01), false), eval32(fr(9.01), true));
