// @unfold/autodiff — tape-based reverse-mode autodiff with explicit BPTT.
export {};
