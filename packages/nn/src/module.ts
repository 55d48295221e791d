/**
 * `Module`: parameters, buffers, children, train/eval mode and state dicts.
 *
 * Parameter values and buffers are tensor variables (`keep()`): no `tidy` scope releases
 * them, and updates (`loadStateDict`, running statistics, optimisers, target updates)
 * `assign()` new values in place. See docs/memory.md.
 * @module
 */
import { type Var, zeroGrad } from '@chainrule/autograd';
import { ChainruleError, clone, fmtShape, keep, shapesEqual, type Tensor } from '@chainrule/tensor';

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

  /** Register a trainable parameter under `name` (its value becomes a variable). Returns it. */
  protected registerParameter(name: string, v: Var): Var {
    this.checkName(name);
    keep(v.value);
    v.name ??= name;
    this._params.set(name, v);
    return v;
  }

  /** Register (or replace) a non-trainable buffer, such as a running statistic. It becomes a variable. */
  protected registerBuffer(name: string, t: Tensor): void {
    if (!this._buffers.has(name)) this.checkName(name);
    this._buffers.set(name, keep(t));
  }

  /** Give a buffer a new value in place (`assign`: same shape and dtype). */
  protected setBuffer(name: string, t: Tensor): void {
    const cur = this._buffers.get(name);
    if (!cur) throw new ChainruleError('Module.setBuffer', `no buffer named "${name}"`);
    cur.assign(t);
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
    // Tensors are immutable, so the variables may share the state dict's storage.
    for (const [n, p] of params) p.value.assign(sd[n]!);
    for (const [n, b] of bufs) b.assign(sd[n]!);
  }

  /**
   * Replace a buffer by dotted name with `t`, which becomes a variable (any shape or dtype,
   * for example to cast a module to float64). To update a buffer's value in place, use
   * `namedBuffers()` and `assign()` instead.
   */
  assignBuffer(dotted: string, t: Tensor): void {
    const i = dotted.indexOf('.');
    if (i < 0) {
      if (!this._buffers.has(dotted))
        throw new ChainruleError('Module.assignBuffer', `no buffer named "${dotted}"`);
      this._buffers.set(dotted, keep(t));
      return;
    }
    const child = this._children.get(dotted.slice(0, i));
    if (!child) throw new ChainruleError('Module.assignBuffer', `no child module for "${dotted}"`);
    child.assignBuffer(dotted.slice(i + 1), t);
  }

  /**
   * Release every parameter value, gradient and buffer of this module and its descendants
   * (they are variables, which no scope releases). Using the module afterwards is an error.
   */
  dispose(): void {
    for (const p of this.parameters()) {
      p.value.dispose();
      p.grad?.dispose();
      p.grad = null;
    }
    for (const b of this.buffers()) b.dispose();
  }

  /** The number of scalar parameters. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }
}
