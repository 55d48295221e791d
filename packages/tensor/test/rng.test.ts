import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.ts';

const MASK64 = (1n << 64n) - 1n;
const MULT = 6364136223846793005n;

/**
 * A straightforward BigInt PCG32 (pcg32_srandom_r / pcg32_random_r / pcg32_boundedrand_r
 * from pcg-c-basic), independent of the 32-bit-halves arithmetic in src/rng.ts.
 */
class RefPcg32 {
  state = 0n;
  readonly inc: bigint;
  constructor(seed: bigint, stream: bigint) {
    this.inc = ((stream << 1n) | 1n) & MASK64;
    this.next();
    this.state = (this.state + (seed & MASK64)) & MASK64;
    this.next();
  }
  next(): number {
    const old = this.state;
    this.state = (old * MULT + this.inc) & MASK64;
    const xorshifted = Number((((old >> 18n) ^ old) >> 27n) & 0xffffffffn);
    const rot = Number(old >> 59n);
    return ((xorshifted >>> rot) | (xorshifted << (-rot & 31))) >>> 0;
  }
  bounded(n: number): number {
    const threshold = (2 ** 32 - n) % n;
    for (;;) {
      const r = this.next();
      if (r >= threshold) return r % n;
    }
  }
}

const hex16 = (v: bigint) => v.toString(16).padStart(16, '0');

describe('Rng: PCG32 reference outputs', () => {
  it('matches the pcg-c-basic demo (initstate 42, initseq 54)', () => {
    const rng = new T.Rng(42, 54);
    const got = Array.from({ length: 6 }, () => rng.nextUint32());
    expect(got).toEqual([0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e]);
  });

  it('defaults the stream to 54 and the seed to 0', () => {
    const a = new T.Rng(42);
    const b = new T.Rng(42, 54);
    for (let i = 0; i < 10; i++) expect(a.nextUint32()).toBe(b.nextUint32());
    const c = new T.Rng();
    const ref = new RefPcg32(0n, 54n);
    for (let i = 0; i < 10; i++) expect(c.nextUint32()).toBe(ref.next());
  });

  it('agrees with a BigInt PCG32 over 1000 draws for random seeds and streams', () => {
    const seedArb = fc.oneof(
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.bigInt({ min: 0n, max: MASK64 }),
      // seeds beyond 2^64 are reduced mod 2^64
      fc.bigInt({ min: MASK64 + 1n, max: (1n << 80n) - 1n }),
    );
    const streamArb = fc.oneof(
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.bigInt({ min: 0n, max: MASK64 }),
    );
    fc.assert(
      fc.property(seedArb, streamArb, (seed, stream) => {
        const rng = new T.Rng(seed, stream);
        const ref = new RefPcg32(BigInt(seed), BigInt(stream));
        expect(rng.getState()).toEqual({ algorithm: 'pcg32', state: hex16(ref.state), inc: hex16(ref.inc) });
        for (let i = 0; i < 1000; i++) {
          const got = rng.nextUint32();
          const want = ref.next();
          if (got !== want)
            expect.fail(`draw ${i}: got ${got}, expected ${want} (seed ${seed}, stream ${stream})`);
        }
        expect(rng.getState().state).toBe(hex16(ref.state));
      }),
      { numRuns: 60 },
    );
  });

  it('agrees with the BigInt PCG32 at the edges of the state space', () => {
    const seeds = [0n, 1n, 0xffffffffn, 0x100000000n, MASK64, 1n << 63n, 0x8000000080000000n];
    for (const seed of seeds) {
      for (const stream of [0n, 1n, MASK64, 1n << 63n]) {
        const rng = new T.Rng(seed, stream);
        const ref = new RefPcg32(seed, stream);
        for (let i = 0; i < 200; i++) expect(rng.nextUint32()).toBe(ref.next());
      }
    }
  });

  it('uses independent streams for the same seed', () => {
    const a = new T.Rng(7, 1);
    const b = new T.Rng(7, 2);
    const da = Array.from({ length: 8 }, () => a.nextUint32());
    const db = Array.from({ length: 8 }, () => b.nextUint32());
    expect(da).not.toEqual(db);
  });

  it('rejects negative, fractional and unsafe seeds and streams', () => {
    expect(() => new T.Rng(-1)).toThrow(/Rng: seed must be a non-negative safe integer or a bigint, got -1/);
    expect(() => new T.Rng(1.5)).toThrow(/seed must be a non-negative safe integer/);
    expect(() => new T.Rng(2 ** 60)).toThrow(/seed must be a non-negative safe integer/);
    expect(() => new T.Rng(-3n)).toThrow(/Rng: seed must be non-negative, got -3/);
    expect(() => new T.Rng(0, -1)).toThrow(/Rng: stream must be a non-negative safe integer/);
    expect(() => new T.Rng(0, Number.NaN)).toThrow(RangeError);
  });
});

describe('Rng: uniform', () => {
  it('builds a 53-bit double from two draws', () => {
    const rng = new T.Rng(3, 9);
    const ref = new RefPcg32(3n, 9n);
    for (let i = 0; i < 100; i++) {
      const a = ref.next() >>> 5;
      const b = ref.next() >>> 6;
      expect(rng.uniform()).toBe((a * 2 ** 26 + b) / 2 ** 53);
    }
  });

  it('stays in [0, 1) with mean ~1/2 and variance ~1/12', () => {
    const rng = new T.Rng(2024);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      s += u;
      s2 += u * u;
    }
    const mean = s / n;
    // standard error of the mean is sqrt(1/12 / n) ~ 0.002; allow ~10 se.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(s2 / n - mean * mean - 1 / 12)).toBeLessThan(0.01);
  });

  it('scales to [low, high)', () => {
    const rng = new T.Rng(5);
    for (let i = 0; i < 2000; i++) {
      const u = rng.uniform(-3, 2);
      expect(u).toBeGreaterThanOrEqual(-3);
      expect(u).toBeLessThan(2);
    }
  });

  it('an all-ones first draw gives u just below 1, never 1', () => {
    // State with rot = 0 and xorshifted = 0xffffffff: bits 41..58 set (derived from the output function).
    const rng = T.Rng.fromState({ algorithm: 'pcg32', state: '07fffe0000000000', inc: '0000000000000001' });
    expect(rng.clone().nextUint32()).toBe(0xffffffff);
    const u = rng.uniform();
    expect(u).toBeLessThan(1);
    expect(u).toBeGreaterThan(1 - 2 ** -26);
  });

  it('fillUniform keeps float32 output below high even when the double rounds up to 1', () => {
    // float32(1 - 2^-27) === 1: without a redraw this would store exactly `high`.
    const rng = T.Rng.fromState({ algorithm: 'pcg32', state: '07fffe0000000000', inc: '0000000000000001' });
    const out = rng.fillUniform(new Float32Array(4));
    for (const v of out) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
    }
  });
});

describe('Rng: int', () => {
  it('returns integers in [0, n) and matches pcg32_boundedrand_r', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 2 ** 32 - 1 }),
        (seed, n) => {
          const rng = new T.Rng(seed, 11);
          const ref = new RefPcg32(BigInt(seed), 11n);
          for (let i = 0; i < 50; i++) {
            const v = rng.int(n);
            expect(Number.isInteger(v) && v >= 0 && v < n).toBe(true);
            expect(v).toBe(ref.bounded(n));
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('is unbiased for a small n (counts within 5% of uniform over 60k draws)', () => {
    const rng = new T.Rng(99);
    const counts = new Array<number>(6).fill(0);
    const draws = 60000;
    for (let i = 0; i < draws; i++) counts[rng.int(6)]!++;
    for (const c of counts) expect(Math.abs(c - draws / 6) / (draws / 6)).toBeLessThan(0.05);
  });

  it('int(1) is always 0 and int(2^32) is the raw draw', () => {
    const rng = new T.Rng(1);
    for (let i = 0; i < 20; i++) expect(rng.int(1)).toBe(0);
    const a = new T.Rng(8);
    const b = new T.Rng(8);
    for (let i = 0; i < 20; i++) expect(a.int(2 ** 32)).toBe(b.nextUint32());
  });

  it('rejects bad bounds', () => {
    const rng = new T.Rng(1);
    expect(() => rng.int(0)).toThrow(/Rng.int: n must be an integer in \[1, 2\^32\], got 0/);
    expect(() => rng.int(2.5)).toThrow(/got 2.5/);
    expect(() => rng.int(2 ** 32 + 1)).toThrow(/n must be an integer in \[1, 2\^32\]/);
    expect(() => rng.int(Number.NaN)).toThrow(RangeError);
  });
});

describe('Rng: normal', () => {
  it('has mean ~0 and variance ~1 over 20k draws', () => {
    const rng = new T.Rng(12345);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const x = rng.normal();
      expect(Number.isFinite(x)).toBe(true);
      s += x;
      s2 += x * x;
    }
    const mean = s / n;
    const variance = s2 / n - mean * mean;
    // se(mean) ~ 0.007, se(var) ~ 0.01: loose bounds.
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it('honours mean and std', () => {
    const rng = new T.Rng(7);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const x = rng.normal(3, 0.5);
      s += x;
      s2 += x * x;
    }
    const mean = s / n;
    expect(mean).toBeCloseTo(3, 1);
    expect(Math.sqrt(s2 / n - mean * mean)).toBeCloseTo(0.5, 1);
  });

  it('fillNormal fills every slot with finite values and consumes the same stream as normal()', () => {
    const a = new T.Rng(4);
    const b = new T.Rng(4);
    const out = a.fillNormal(new Float64Array(50), 1, 2);
    for (let i = 0; i < 50; i++) expect(out[i]).toBe(b.normal(1, 2));
  });
});

describe('Rng: state', () => {
  it('getState / setState / fromState / clone continue identically', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MASK64 }), fc.integer({ min: 0, max: 50 }), (seed, skip) => {
        const rng = new T.Rng(seed, 3);
        for (let i = 0; i < skip; i++) rng.uniform();
        const saved = rng.getState();
        expect(saved.state).toMatch(/^[0-9a-f]{16}$/);
        expect(saved.inc).toMatch(/^[0-9a-f]{15}[13579bdf]$/);
        // round-trips through JSON, as in a checkpoint
        const restored = T.Rng.fromState(JSON.parse(JSON.stringify(saved)));
        const cloned = rng.clone();
        const other = new T.Rng(0, 0);
        other.setState(saved);
        const expected = [rng.nextUint32(), rng.uniform(), rng.normal(), rng.int(10)];
        for (const g of [restored, cloned, other]) {
          expect([g.nextUint32(), g.uniform(), g.normal(), g.int(10)]).toEqual(expected);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('a clone is independent of the original', () => {
    const rng = new T.Rng(10);
    const c = rng.clone();
    rng.nextUint32();
    rng.nextUint32();
    const fresh = new T.Rng(10);
    expect(c.nextUint32()).toBe(fresh.nextUint32());
  });

  it('setState rejects malformed input with a clear message', () => {
    const rng = new T.Rng(1);
    const before = rng.getState();
    const bad: unknown[] = [
      null,
      undefined,
      42,
      'pcg32',
      {},
      { algorithm: 'mt19937', state: '0000000000000000', inc: '0000000000000001' },
      { algorithm: 'pcg32', state: '000000000000000', inc: '0000000000000001' },
      { algorithm: 'pcg32', state: '000000000000000g', inc: '0000000000000001' },
      { algorithm: 'pcg32', state: '00000000000000000', inc: '0000000000000001' },
      { algorithm: 'pcg32', state: '00000000000000AB', inc: '0000000000000001' },
      // even increment: not a valid PCG stream
      { algorithm: 'pcg32', state: '0000000000000000', inc: '0000000000000002' },
      // numbers whose decimal digits look like 16 hex digits
      { algorithm: 'pcg32', state: 1234567890123456, inc: '0000000000000001' },
      { algorithm: 'pcg32', state: '0000000000000000', inc: 1111111111111111 },
    ];
    for (const b of bad) {
      expect(() => rng.setState(b as T.RngState), JSON.stringify(b)).toThrow(
        /Rng\.setState: expected \{ algorithm: 'pcg32', state: 16 hex digits, inc: 16 hex digits \(odd\) \}, got/,
      );
    }
    expect(() => rng.setState(bad[5] as T.RngState)).toThrow(/got \{"algorithm":"mt19937"/);
    // a rejected state leaves the generator untouched
    expect(rng.getState()).toEqual(before);
  });
});
