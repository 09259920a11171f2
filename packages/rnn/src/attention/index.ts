// Attention over encoder outputs: Luong's multiplicative scores and Bahdanau's additive one.
export { Attention, AttentionOutput, AttentionMemory, dotScores } from './base';
export { LuongAttention, LuongOptions, LuongScore } from './luong';
export { BahdanauAttention, BahdanauOptions } from './bahdanau';
