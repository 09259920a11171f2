/**
 * Makes the spoken-digit set: "zero" … "nine" spoken by espeak-ng in 8 English accents × 4
 * voice variants (32 voices), twice each with a random speed and pitch, as 16-band log-mel
 * frames (25 ms Hann window, 20 ms hop, 22,050 Hz, fft.js), leading and trailing silence
 * trimmed, quantised to one byte per value. Writes examples/data/digits.json, which is
 * committed, so the example and its test need neither espeak-ng nor this script.
 *
 *   apt-get install espeak-ng   # (already on the development machine)
 *   npm run example -- make-digits
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Rng, TensorError } from '@unfold/tensor';
// fft.js 4.0.4 (radix-4, MIT) has no types of its own
// eslint-disable-next-line @typescript-eslint/no-var-requires
const FFT = require('fft.js') as new (n: number) => { createComplexArray(): number[]; realTransform(out: number[], x: ArrayLike<number>): void };

export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
export const ACCENTS = ['en-gb', 'en-us', 'en-gb-scotland', 'en-gb-x-gbclan', 'en-gb-x-rp', 'en-gb-x-gbcwmd', 'en-029', 'en-us-nyc'];
export const VARIANTS = ['m1', 'm3', 'f2', 'f4'];
const RATE = 22050;
const WIN = 551; // 25 ms
const HOP = 441; // 20 ms
const NFFT = 1024;
const MELS = 16;
const LO = -10; // log-mel range mapped to bytes 0 … 255 (checked: none clip at the top, 1 % of near-silent bands at the floor)
const HI = 10;

/** 16-bit PCM mono WAV → samples in [−1, 1] (espeak-ng writes exactly this). */
export function readWav(buf: Buffer): Float32Array {
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new TensorError('readWav', 'not a RIFF/WAVE file');
  let at = 12;
  let fmt: { ch: number; rate: number; bits: number } | null = null;
  while (at + 8 <= buf.length) {
    const id = buf.toString('ascii', at, at + 4);
    let size = buf.readUInt32LE(at + 4);
    if (id === 'fmt ') fmt = { ch: buf.readUInt16LE(at + 10), rate: buf.readUInt32LE(at + 12), bits: buf.readUInt16LE(at + 22) };
    if (id === 'data') {
      if (!fmt || fmt.ch !== 1 || fmt.bits !== 16 || fmt.rate !== RATE) throw new TensorError('readWav', `need 16-bit mono ${RATE} Hz, got ${JSON.stringify(fmt)}`);
      if (size === 0 || at + 8 + size > buf.length) size = buf.length - at - 8; // streamed WAVs leave the size 0
      const out = new Float32Array(size >> 1);
      for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(at + 8 + 2 * i) / 32768;
      return out;
    }
    at += 8 + size + (size & 1);
  }
  throw new TensorError('readWav', 'no data chunk');
}

/** Triangular mel filters [MELS][NFFT/2 + 1] from 80 Hz to 7,600 Hz. */
function melBank(): Float64Array[] {
  const mel = (f: number): number => 2595 * Math.log10(1 + f / 700);
  const hz = (m: number): number => 700 * (10 ** (m / 2595) - 1);
  const pts = Array.from({ length: MELS + 2 }, (_, i) => hz(mel(80) + ((mel(7600) - mel(80)) * i) / (MELS + 1)));
  const bin = (f: number): number => (f * NFFT) / RATE;
  return Array.from({ length: MELS }, (_, m) => {
    const w = new Float64Array(NFFT / 2 + 1);
    for (let k = 0; k < w.length; k++) {
      const [a, b, c] = [bin(pts[m]), bin(pts[m + 1]), bin(pts[m + 2])];
      w[k] = k < a || k > c ? 0 : k <= b ? (k - a) / (b - a) : (c - k) / (c - b);
    }
    return w;
  });
}

/** Samples → log-mel frames [T][MELS], silence (< 1 % of the peak frame energy) trimmed at both ends. */
export function logMel(x: Float32Array): number[][] {
  const fft = new FFT(NFFT);
  const bank = melBank();
  const hann = Array.from({ length: WIN }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (WIN - 1)));
  const frames: number[][] = [];
  const energy: number[] = [];
  const buf = new Float64Array(NFFT);
  const spec = fft.createComplexArray();
  for (let s = 0; s + WIN <= x.length; s += HOP) {
    buf.fill(0);
    let e = 0;
    for (let i = 0; i < WIN; i++) {
      buf[i] = x[s + i] * hann[i];
      e += buf[i] * buf[i];
    }
    fft.realTransform(spec, buf);
    const pow = new Float64Array(NFFT / 2 + 1);
    for (let k = 0; k <= NFFT / 2; k++) pow[k] = spec[2 * k] ** 2 + spec[2 * k + 1] ** 2;
    frames.push(bank.map((w) => Math.log(1e-5 + w.reduce((a, v, k) => a + v * pow[k], 0))));
    energy.push(e);
  }
  const peak = Math.max(...energy);
  const first = energy.findIndex((e) => e > 0.01 * peak);
  let last = energy.length - 1;
  while (last > first && energy[last] <= 0.01 * peak) last--;
  return frames.slice(first, last + 1);
}

export interface DigitUtterance {
  digit: number;
  accent: string;
  variant: string;
  speed: number;
  pitch: number;
  frames: number;
  /** base64 of frames × MELS bytes, byte = round(255 (v − lo) / (hi − lo)). */
  data: string;
}

export interface DigitSet {
  mels: number;
  hopMs: number;
  lo: number;
  hi: number;
  utterances: DigitUtterance[];
}

function main(): void {
  const rng = new Rng(20);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digits-'));
  const wav = path.join(tmp, 'u.wav');
  const utterances: DigitUtterance[] = [];
  try {
    for (const accent of ACCENTS) {
      for (const variant of VARIANTS) {
        for (let digit = 0; digit < 10; digit++) {
          for (let rep = 0; rep < 2; rep++) {
            const speed = 120 + Math.floor(rng.next() * 90); // words per minute
            const pitch = 20 + Math.floor(rng.next() * 60); // 0 … 99
            execFileSync('espeak-ng', ['-v', `${accent}+${variant}`, '-s', String(speed), '-p', String(pitch), '-w', wav, DIGIT_WORDS[digit]]);
            const m = logMel(readWav(fs.readFileSync(wav)));
            const bytes = Buffer.from(m.flat().map((v) => Math.max(0, Math.min(255, Math.round((255 * (v - LO)) / (HI - LO))))));
            utterances.push({ digit, accent, variant, speed, pitch, frames: m.length, data: bytes.toString('base64') });
          }
        }
      }
      process.stdout.write(`${accent}: ${utterances.length} utterances so far\n`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const out = path.join(__dirname, '..', '..', 'data', 'digits.json');
  const set: DigitSet = { mels: MELS, hopMs: 20, lo: LO, hi: HI, utterances };
  fs.writeFileSync(out, `${JSON.stringify(set)}\n`);
  process.stdout.write(`${utterances.length} utterances, ${utterances.reduce((a, u) => a + u.frames, 0)} frames → ${out} (${(fs.statSync(out).size / 1024).toFixed(0)} KiB)\n`);
}

if (require.main === module) main();
