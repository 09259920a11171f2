// @unfold/rnn — cells, layers, models and training loops.
export {};
