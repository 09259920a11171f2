// Size probe: the whole library (every export kept alive).
import * as tensor from '@unfold/tensor';
import * as autodiff from '@unfold/autodiff';
import * as rnn from '@unfold/rnn';

console.log(Object.keys(tensor).length + Object.keys(autodiff).length + Object.keys(rnn).length);
