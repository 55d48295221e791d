/**
 * `Module`: parameters, buffers, children, train/eval mode and state dicts.
 * @module
 */
import { type Var, zeroGrad } from '@chainrule/autograd';
import { ChainruleError, clone, fmtShape, shapesEqual, type Tensor } from '@chainrule/tensor';

/** A flat map from dotted names (`fc1.weight`, `bn1.runningMean`) to tensors. */
export type StateDict = Record<string, Tensor>;

/**
 * The base class of layers and networks. Subclasses register what they own in their
 * constructor with `registerParameter`, `registerBuffer` and `registerModule`, and
 * implement `forward`.
 */
export abstract class Module {
  /** True in training mode (the default), false after `eval()`. */
  training = true;
  private readonly _params = new Map<string, Var>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _children = new Map<string, Module>();

  /** Register a trainable parameter under `name`. Returns it. */
  protected registerParameter(name: string, v: Var): Var {
    this.checkName(name);
    v.name ??= name;
    this._params.set(name, v);
    return v;
  }

  /** Register (or replace) a non-trainable buffer, such as a running statistic. */
  protected registerBuffer(name: string, t: Tensor): void {
    if (!this._buffers.has(name)) this.checkName(name);
    this._buffers.set(name, t);
  }

  /** Replace a buffer's value. */
  protected setBuffer(name: string, t: Tensor): void {
    if (!this._buffers.has(name)) throw new ChainruleError('Module.setBuffer', `no buffer named "${name}"`);
    this._buffers.set(name, t);
  }

  /** A buffer's current value. */
  protected buffer(name: string): Tensor {
    const t = this._buffers.get(name);
    if (!t) throw new ChainruleError('Module.buffer', `no buffer named "${name}"`);
    return t;
  }

  /** Register a child module under `name`. Returns it. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    this._children.set(name, m);
    return m;
  }

  private checkName(name: string): void {
    if (!name || name.includes('.'))
      throw new ChainruleError('Module', `invalid name "${name}": expected a non-empty name without dots`);
    if (this._params.has(name) || this._buffers.has(name) || this._children.has(name)) {
      throw new ChainruleError('Module', `the name "${name}" is already registered`);
    }
  }

  /** The forward computation. */
  abstract forward(...inputs: Var[]): Var;

  /** Direct children, with their names. */
  namedChildren(): [string, Module][] {
    return [...this._children];
  }

  /** Direct children. */
  children(): Module[] {
    return [...this._children.values()];
  }

  /** All parameters of this module and its descendants, with dotted names, in registration order. */
  namedParameters(prefix = ''): [string, Var][] {
    const out: [string, Var][] = [];
    for (const [n, p] of this._params) out.push([prefix + n, p]);
    for (const [n, c] of this._children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  /** All parameters. */
  parameters(): Var[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** All buffers with dotted names. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this._buffers) out.push([prefix + n, b]);
    for (const [n, c] of this._children) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  /** All buffers. */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Set training mode on this module and its descendants. */
  train(on = true): this {
    this.training = on;
    for (const c of this._children.values()) c.train(on);
    return this;
  }

  /** Set evaluation mode (BatchNorm uses running statistics). */
  eval(): this {
    return this.train(false);
  }

  /** Clear `.grad` of every parameter. */
  zeroGrad(): void {
    zeroGrad(this.parameters());
  }

  /** Parameters and buffers by dotted name (copies, safe to keep). */
  stateDict(): StateDict {
    const sd: StateDict = {};
    for (const [n, p] of this.namedParameters()) sd[n] = clone(p.value);
    for (const [n, b] of this.namedBuffers()) sd[n] = clone(b);
    return sd;
  }

  /**
   * Load parameters and buffers. Strict: a missing key, an unexpected key, or a shape or
   * dtype mismatch throws one error listing every such key, and nothing is changed.
   */
  loadStateDict(sd: StateDict): void {
    const params = new Map(this.namedParameters());
    const bufs = new Map(this.namedBuffers());
    const missing: string[] = [];
    const mismatched: string[] = [];
    for (const [n, cur] of [...[...params].map(([k, v]) => [k, v.value] as const), ...bufs]) {
      const t = sd[n];
      if (!t) missing.push(n);
      else if (!shapesEqual(t.shape, cur.shape) || t.dtype !== cur.dtype) {
        mismatched.push(
          `${n} (expected ${cur.dtype} ${fmtShape(cur.shape)}, got ${t.dtype} ${fmtShape(t.shape)})`,
        );
      }
    }
    const unexpected = Object.keys(sd).filter((k) => !params.has(k) && !bufs.has(k));
    if (missing.length || unexpected.length || mismatched.length) {
      const parts = [
        missing.length ? `missing keys: ${missing.join(', ')}` : '',
        unexpected.length ? `unexpected keys: ${unexpected.join(', ')}` : '',
        mismatched.length ? `shape or dtype mismatches: ${mismatched.join('; ')}` : '',
      ].filter(Boolean);
      throw new ChainruleError('loadStateDict', `${parts.join('; ')}. Nothing was loaded.`);
    }
    for (const [n, p] of params) p.value = clone(sd[n]!);
    for (const n of bufs.keys()) this.assignBuffer(n, clone(sd[n]!));
  }

  /** Set a buffer by dotted name (used by loadStateDict and hardUpdate). */
  assignBuffer(dotted: string, t: Tensor): void {
    const i = dotted.indexOf('.');
    if (i < 0) {
      this.setBuffer(dotted, t);
      return;
    }
    const child = this._children.get(dotted.slice(0, i));
    if (!child) throw new ChainruleError('Module.assignBuffer', `no child module for "${dotted}"`);
    child.assignBuffer(dotted.slice(i + 1), t);
  }

  /** Every tensor this module holds: parameter values, their gradients and buffers (e.g. to keep them in a `tidy` scope). */
  liveTensors(): Tensor[] {
    const out: Tensor[] = [];
    for (const p of this.parameters()) {
      out.push(p.value);
      if (p.grad) out.push(p.grad);
    }
    out.push(...this.buffers());
    return out;
  }

  /** The number of scalar parameters. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }
}
