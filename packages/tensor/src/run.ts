/**
 * The op runner: allocate outputs on the active backend, find the kernel, run it.
 * @module
 */

import { backendByName, getBackend, getKernel, isKernelName, noteFallback } from './backend.ts';
import { activeRecorder } from './capture-hooks.ts';
import type { DType } from './dtype.ts';
import { ChainruleError } from './errors.ts';
import type { AttrsArg, KernelName } from './kernels.ts';
import type { Shape } from './shape.ts';
import { Tensor } from './tensor.ts';

/** The shape and dtype of one kernel output. */
export interface OutSpec {
  readonly shape: Shape;
  readonly dtype: DType;
}

function moveTo(t: Tensor, backendName: string): Tensor {
  const target = backendByName(backendName);
  return Tensor.fromTyped(t.dataSync(), t.shape, target);
}

/**
 * Run built-in kernel `op` on the active backend, with the attributes the contract gives it
 * (`KernelAttrs[op]`: a wrong or missing attribute does not compile). Inputs that live on
 * another backend are copied over first. If the backend has no kernel for `op`, the `js`
 * kernel runs on copies and the fallback is logged and counted (`getFallbackCounts()`).
 */
export function runKernel<K extends KernelName>(
  op: K,
  inputs: readonly Tensor[],
  outs: readonly OutSpec[],
  ...[attrs]: AttrsArg<K>
): Tensor[] {
  return dispatch(op, inputs, outs, attrs ?? {});
}

/**
 * Run the kernel of an op of your own (registered with `registerCustomKernel`, as `defineOp`
 * does), with untyped attributes. Built-in names are refused: call {@link runKernel}.
 */
export function runCustomKernel(
  op: string,
  inputs: readonly Tensor[],
  outs: readonly OutSpec[],
  attrs: object = {},
): Tensor[] {
  if (isKernelName(op)) {
    throw new ChainruleError(
      'runCustomKernel',
      `"${op}" is a built-in kernel; call runKernel, which types its attributes`,
    );
  }
  return dispatch(op, inputs, outs, attrs);
}

function dispatch(op: string, inputs: readonly Tensor[], outs: readonly OutSpec[], attrs: object): Tensor[] {
  const backend = getBackend();
  for (const t of inputs) {
    if (t.isDisposed) throw new ChainruleError(op, 'an input tensor was disposed before use');
  }
  const kernel = getKernel(op, backend.name);
  if (kernel && (!kernel.supports || kernel.supports({ inputs, attrs }))) {
    const moved: Tensor[] = [];
    const ins = inputs.map((t) => {
      if (t.backend === backend) return t;
      const m = moveTo(t, backend.name);
      moved.push(m);
      return m;
    });
    const outputs = outs.map((o) => Tensor.empty(o.shape, o.dtype, backend));
    kernel.fn({ inputs: ins, outputs, attrs });
    const recorder = activeRecorder();
    if (recorder) {
      if (moved.length) recorder.fail(`an input of "${op}" lives on another backend and was copied over`);
      else recorder.kernel(op, kernel.fn, ins, outputs, attrs);
    }
    for (const m of moved) m.dispose();
    return outputs;
  }
  const jsKernel = getKernel(op, 'js');
  if (!jsKernel) throw new ChainruleError(op, `no kernel is registered for this op on ${backend.name} or js`);
  noteFallback(op, backend.name);
  activeRecorder()?.fail(`"${op}" has no ${backend.name} kernel and fell back to js`);
  const js = backendByName('js');
  const ins = inputs.map((t) => (t.backend === js ? t : moveTo(t, 'js')));
  const jsOuts = outs.map((o) => Tensor.empty(o.shape, o.dtype, js));
  jsKernel.fn({ inputs: ins, outputs: jsOuts, attrs });
  for (let i = 0; i < ins.length; i++) if (ins[i] !== inputs[i]) ins[i]!.dispose();
  if (backend === js) return jsOuts;
  return jsOuts.map((t) => {
    const m = moveTo(t, backend.name);
    t.dispose();
    return m;
  });
}
