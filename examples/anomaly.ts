import * as A from '@chainrule/autograd';

try {
  A.detectAnomaly(() => {
    const x = A.param([0, 1], { dtype: 'float64' });
    A.sum(A.sqrt(x)).backward(); // d√x/dx = 1/(2√x) is Infinity at 0
  });
} catch (e) {
  // The message, and the first frame of the forward call site (the rest is Node's loader).
  console.log((e as Error).message.split('\n').slice(0, 3).join('\n'));
}
