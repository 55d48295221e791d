import * as T from '@chainrule/tensor';
import * as A from '@chainrule/autograd';
import * as nn from '@chainrule/nn';
void T;
void A;
void nn;

console.log("@@chainrule-docs-block@@0");
// --- block at line 2
const x = T.tensor([1, 2]);
console.log("@@chainrule-docs-block@@1");
// --- block at line 7
x.reshape([3]);
console.log("@@chainrule-docs-block@@end");
