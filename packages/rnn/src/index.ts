// @unfold/rnn — cells, layers, models and training loops.
export * from './optim';
export * from './checkpoint';
export * from './data';
export { Module } from './nn/module';
export { Linear, LinearOptions } from './nn/linear';
export { Embedding } from './nn/embedding';
export { Dropout } from './nn/dropout';
export { orthogonal, xavierUniform, uniformRange, identityInit } from './nn/init';
export * from './cells';
export { RecurrentLayer, SimpleRNN, LSTM, GRU, RecurrentInput, RecurrentOutput } from './layers/recurrent';
export { RecurrentOptions, RecurrentInit } from './layers/options';
export { CharRNN, CharRNNOptions, CharState, CellName, CELL_NAMES, detachState } from './models/charRnn';
export { sampleIds, drawFrom, SampleOptions } from './models/sample';
export { computeGradients } from './train/gradients';
