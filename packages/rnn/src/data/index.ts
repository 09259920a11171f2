// Data utilities: vocabularies, corpora, stream batching, padding/bucketing, time series and toy tasks.
export { CharVocab, type CharVocabJSON, type EncodeOptions, describeChar } from './vocab';
export { type Corpus, decodeText, splitText, type SplitFractions, type Splits } from './corpus';
export { StreamBatcher, type StreamBatcherOptions, type StreamBatcherState, type StreamWindow, checkStreamLength } from './stream';
export { padSequences, padFeatureSequences, type PadOptions, type PaddedIds, type PaddedFeatures } from './padding';
export { bucketByLength, paddingFraction, type BucketOptions } from './bucketing';
export { type SeriesInput, type SeriesMatrix, toSeriesMatrix } from './series';
export { makeWindows, syntheticSeries, type WindowOptions, type Windows, type SyntheticSeriesOptions } from './timeseries';
export { Normalizer, type NormalizerJSON, type FeatureSelect } from './normalizer';
export { makeSentimentDataset, SENTIMENT_VOCAB, SENTIMENT_LABELS, type SentimentDataset, type SentimentOptions } from './sentiment';
export { makeTaggingDataset, TAGGING_VOCAB, TAG_NAMES, type TaggingDataset } from './tagging';
export {
  makeReverseDataset,
  makeAdditionDataset,
  tokensToString,
  stringToTokens,
  SEQ2SEQ_VOCAB,
  PAD_ID,
  SOS_ID,
  EOS_ID,
  type Seq2SeqDataset,
} from './seq2seq';
