/**
 * A seeded, platform-independent random number generator: PCG32 (O'Neill 2014,
 * "PCG: A Family of Simple Fast Space-Efficient Statistically Good Algorithms"),
 * the `pcg32_random_r` variant of the reference C library (XSH RR 64/32).
 *
 * The 64-bit state is kept as two unsigned 32-bit halves so that every step is plain
 * integer arithmetic: no BigInt in the hot path, identical results on every platform.
 * Every random draw in chainrule goes through a {@link Rng}; nothing calls `Math.random()`.
 *
 * @module
 */
import { noteRandom } from './capture-hooks.ts';

const MUL_HI = 0x5851f42d;
const MUL_LO = 0x4c957f2d;
const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** The serialisable state of a {@link Rng}, as written into checkpoints. */
export interface RngState {
  /** Always `'pcg32'`. */
  readonly algorithm: 'pcg32';
  /** The 64-bit state as 16 lowercase hex digits. */
  readonly state: string;
  /** The 64-bit increment (stream selector, always odd) as 16 lowercase hex digits. */
  readonly inc: string;
}

/** The high 32 bits of the 64-bit product of two unsigned 32-bit integers. */
function mulHigh32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const x = a0 * b0;
  const y = a1 * b0 + a0 * b1 + Math.floor(x / 65536);
  return (a1 * b1 + Math.floor(y / 65536)) >>> 0;
}

function toU64(value: number | bigint, what: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`Rng: ${what} must be a non-negative safe integer or a bigint, got ${value}`);
    }
    return BigInt(value);
  }
  if (value < 0n) throw new RangeError(`Rng: ${what} must be non-negative, got ${value}`);
  return BigInt.asUintN(64, value);
}

function hex64(hi: number, lo: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/**
 * PCG32 generator with uniform, integer and normal draws.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * rng.uniform();      // a double in [0, 1)
 * rng.normal();       // a standard normal draw
 * const saved = rng.getState();
 * const again = Rng.fromState(saved); // continues the same stream
 * ```
 */
export class Rng {
  private stateHi = 0;
  private stateLo = 0;
  private incHi = 0;
  private incLo = 1;

  /**
   * Seed the generator as `pcg32_srandom_r(seed, stream)` does in the reference C code.
   * @param seed the initial state, a non-negative integer (or bigint, reduced mod 2^64).
   * @param stream the stream selector; different streams with the same seed are independent.
   */
  constructor(seed: number | bigint = 0, stream: number | bigint = 54) {
    const s = toU64(seed, 'seed');
    const inc = BigInt.asUintN(64, (toU64(stream, 'stream') << 1n) | 1n);
    this.incHi = Number(inc >> 32n);
    this.incLo = Number(inc & 0xffffffffn);
    this.stateHi = 0;
    this.stateLo = 0;
    this.nextUint32();
    this.add64(Number(s >> 32n), Number(s & 0xffffffffn));
    this.nextUint32();
  }

  /** Rebuild a generator from {@link Rng.getState} output. */
  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    rng.setState(state);
    return rng;
  }

  private add64(hi: number, lo: number): void {
    const sumLo = this.stateLo + lo;
    const carry = sumLo >= TWO_POW_32 ? 1 : 0;
    this.stateLo = sumLo >>> 0;
    this.stateHi = (this.stateHi + hi + carry) >>> 0;
  }

  /** The next raw 32-bit output, an integer in [0, 2^32). */
  nextUint32(): number {
    noteRandom();
    const oldHi = this.stateHi;
    const oldLo = this.stateLo;
    // state = state * MULT + inc  (mod 2^64)
    const lo = Math.imul(oldLo, MUL_LO) >>> 0;
    const hi = (mulHigh32(oldLo, MUL_LO) + Math.imul(oldHi, MUL_LO) + Math.imul(oldLo, MUL_HI)) >>> 0;
    this.stateHi = hi;
    this.stateLo = lo;
    this.add64(this.incHi, this.incLo);
    // output = rotr32(((old >> 18) ^ old) >> 27, old >> 59)
    const xHi = oldHi ^ (oldHi >>> 18);
    const xLo = oldLo ^ ((oldLo >>> 18) | (oldHi << 14));
    const xorshifted = ((xLo >>> 27) | (xHi << 5)) >>> 0;
    const rot = oldHi >>> 27;
    return ((xorshifted >>> rot) | (xorshifted << (-rot & 31))) >>> 0;
  }

  /** A double uniform in [0, 1) with 53 random bits (two 32-bit draws). */
  uniform(): number;
  /** A double uniform in [low, high). */
  uniform(low: number, high: number): number;
  uniform(low = 0, high = 1): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    const u = (a * 67108864 + b) / TWO_POW_53;
    return low + (high - low) * u;
  }

  /**
   * An integer uniform in [0, n), without modulo bias (the reference `pcg32_boundedrand_r`).
   * @param n the exclusive upper bound, an integer in [1, 2^32].
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    if (n === TWO_POW_32) return this.nextUint32();
    const threshold = (TWO_POW_32 - n) % n;
    for (;;) {
      const r = this.nextUint32();
      if (r >= threshold) return r % n;
    }
  }

  /**
   * A normal draw by the Box–Muller transform. No second value is cached, so the
   * generator's whole state is {@link Rng.getState}.
   * @param mean the mean (default 0).
   * @param std the standard deviation (default 1).
   */
  normal(mean = 0, std = 1): number {
    const u1 = 1 - this.uniform(); // in (0, 1], so log is finite
    const u2 = this.uniform();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Fill `out` with uniform draws in [low, high) and return it. */
  fillUniform<T extends Float32Array | Float64Array>(out: T, low = 0, high = 1): T {
    for (let i = 0; i < out.length; i++) {
      out[i] = this.uniform(low, high);
      // Rounding (to float32 above all: float32(1 - 2^-27) is 1) can store exactly `high`;
      // draw again so the result stays in [low, high). Bounded in case no stored value is below high.
      for (let retry = 0; out[i]! >= high && low < high && retry < 16; retry++) {
        out[i] = this.uniform(low, high);
      }
    }
    return out;
  }

  /** Fill `out` with normal draws and return it. */
  fillNormal<T extends Float32Array | Float64Array>(out: T, mean = 0, std = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, std);
    return out;
  }

  /** A JSON-safe snapshot of the state; {@link Rng.setState} restores it exactly. */
  getState(): RngState {
    return {
      algorithm: 'pcg32',
      state: hex64(this.stateHi, this.stateLo),
      inc: hex64(this.incHi, this.incLo),
    };
  }

  /** Restore a state captured by {@link Rng.getState}. Throws on a malformed state. */
  setState(state: RngState): void {
    const hex = /^[0-9a-f]{16}$/;
    if (
      state === null ||
      typeof state !== 'object' ||
      state.algorithm !== 'pcg32' ||
      typeof state.state !== 'string' ||
      typeof state.inc !== 'string' ||
      !hex.test(state.state) ||
      !hex.test(state.inc) ||
      (Number.parseInt(state.inc.slice(15), 16) & 1) !== 1
    ) {
      throw new TypeError(
        `Rng.setState: expected { algorithm: 'pcg32', state: 16 hex digits, inc: 16 hex digits (odd) }, got ${JSON.stringify(state)}`,
      );
    }
    this.stateHi = Number.parseInt(state.state.slice(0, 8), 16) >>> 0;
    this.stateLo = Number.parseInt(state.state.slice(8), 16) >>> 0;
    this.incHi = Number.parseInt(state.inc.slice(0, 8), 16) >>> 0;
    this.incLo = Number.parseInt(state.inc.slice(8), 16) >>> 0;
  }

  /** An independent copy that continues the same stream. */
  clone(): Rng {
    return Rng.fromState(this.getState());
  }
}
