import * as T from '@chainrule/tensor';
import * as A from '@chainrule/autograd';
import * as nn from '@chainrule/nn';
{
console.log("@@chainrule-docs-block@@0");
// --- block at line 1
const x = 1;
console.log("@@chainrule-docs-block@@1");
// --- block at line 5
T.tensor([1, 2]).reshape([3]);
}
console.log("@@chainrule-docs-block@@end");
