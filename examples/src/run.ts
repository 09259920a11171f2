// `npm run example -- <name> [args…]`: runs one example (its compiled file, in a child node
// with the same flags) and lists them when the name is missing or unknown.
import { spawnSync } from 'child_process';
import * as path from 'path';

const EXAMPLES: Record<string, [string, string]> = {
  names: ['real/names.js', 'first name → female / male / both: char GRU vs char n-gram naive Bayes'],
  forecast: ['real/forecast.js', 'Seattle weather, Mauna Loa CO2, stocks: GRU vs persistence, seasonal naive, linear AR (+ missing values)'],
  g2p: ['real/g2p.js', 'CMUdict grapheme → phoneme: attention encoder–decoder, greedy and beam decoding, PER/WER'],
  'name-gen': ['real/nameGen.js', 'names generated conditioned on their list: char GRU vs bigram, nats/char, novelty'],
  'make-digits': ['real/makeDigits.js', 'makes examples/data/digits.json with espeak-ng (committed; needs espeak-ng)'],
  digits: ['real/digits.js', 'spoken digits (espeak-ng voices): GRU on log-mel frames vs logistic regression, unseen voices'],
  sentiment: ['sentiment.js', 'synthetic sentiment (many-to-one)'],
  seq2seq: ['seq2seq.js', 'digit-string reversal with attention'],
  tagging: ['tagging.js', 'synthetic tagging (many-to-many)'],
  'char-generation': ['charGeneration.js', 'character language model on Shakespeare'],
  'synthetic-forecast': ['forecast.js', 'synthetic seasonal series with missing values'],
};

const [name, ...args] = process.argv.slice(2);
if (!name || !(name in EXAMPLES)) {
  if (name) process.stderr.write(`unknown example "${name}"\n`);
  process.stderr.write(`usage: npm run example -- <name> [args]\n${Object.entries(EXAMPLES).map(([k, [, d]]) => `  ${k.padEnd(20)}${d}`).join('\n')}\n`);
  process.exit(name ? 2 : 0);
}
const r = spawnSync(process.execPath, [...process.execArgv, path.join(__dirname, EXAMPLES[name][0]), ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
