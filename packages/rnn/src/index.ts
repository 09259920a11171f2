// @unfold/rnn — cells, layers, models and training loops.
export * from './optim';
export * from './checkpoint';
export * from './data';
