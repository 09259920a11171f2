import { confusion, nameData, ngramNaiveBayes, runNames } from '../src/real/names';
import { runNameGen } from '../src/real/nameGen';

describe('first names (real data): classification and conditioned generation', () => {
  test('the split covers every distinct name once, with the class the two lists give it', () => {
    const d = nameData(1);
    expect(d.names.length).toBeLessThanOrEqual(4951 + 3898 - 419); // 419 in both lists
    expect(d.names.length).toBeGreaterThan(8300); // (a few more fold together in lower case)
    expect(new Set([...d.train, ...d.val, ...d.test]).size).toBe(d.names.length);
    expect(d.labels.filter((l) => l === 2).length).toBeGreaterThan(350); // "both"
    expect(d.names[d.labels.indexOf(2)]).toBeDefined();
    expect(nameData(1).test).toEqual(d.test); // seeded
  });

  test('a char GRU on a 2,000-name slice beats the majority class by 15 points', () => {
    const r = runNames({ trainSize: 2000, epochs: 4, hiddenSize: 32, quiet: true });
    expect(r.majority).toBeGreaterThan(0.45);
    expect(r.majority).toBeLessThan(0.6);
    expect(r.accuracy).toBeGreaterThan(r.majority + 0.15);
    expect(r.confusion.flat().reduce((a, b) => a + b, 0)).toBe(r.nTest);
  });

  test('the naive Bayes baseline and the confusion table are right on a hand example', () => {
    const nb = ngramNaiveBayes(['anna', 'maria', 'john', 'mark'], [0, 0, 1, 1], 2);
    expect(nb('anja')).toBe(0);
    expect(nb('jon')).toBe(1);
    expect(confusion([0, 1, 1, 2], [0, 1, 2, 2], 3)).toEqual([[1, 0, 0], [0, 1, 1], [0, 0, 1]]);
  });

  test('a conditioned char GRU on a slice reaches lower validation nats/char than the unigram by 0.4', () => {
    const r = runNameGen({ trainSize: 2000, steps: 250, hiddenSize: 48, samples: 20, quiet: true });
    expect(r.unigram).toBeGreaterThan(2.6);
    expect(r.gru).toBeLessThan(r.unigram - 0.4);
    expect(r.samples.female.length).toBe(20);
  });
});
