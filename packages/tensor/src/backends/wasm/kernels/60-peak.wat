;; The machine's SIMD peak, for reports ("this kernel runs at x% of what wasm SIMD can do
;; here"): peak_madd(iters) runs `iters` rounds of 12 independent multiply-adds
;; acc_i = acc_i*a + b on four lanes, all in registers (no loads or stores), and returns
;; a sum of the accumulators so that nothing is optimised away. One round is
;; 12 x 4 x 2 = 96 flops. The `fma` build keeps each relaxed_madd (one fused
;; instruction where the hardware has FMA), the `simd` build rewrites it to a mul and an
;; add. Each step depends on its accumulator (a*acc, not a loop-invariant product), and 12
;; chains cover the latency of 2 pipes: FMA (4 cycles) and mul+add (3+3) on Zen 4.
;; a < 1 and b > 0 keep every value normal: acc converges to b/(1-a).
(func (export "peak_madd") (param $iters i32) (result f32)
  (local $a v128) (local $b v128)
  (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
  (local $c4 v128) (local $c5 v128) (local $c6 v128) (local $c7 v128)
  (local $c8 v128) (local $c9 v128) (local $c10 v128) (local $c11 v128)
  (local.set $a (v128.const f32x4 0.999 0.999 0.999 0.999))
  (local.set $b (v128.const f32x4 0.001 0.001 0.001 0.001))
  (local.set $c0 (v128.const f32x4 0.1 0.2 0.3 0.4))
  (local.set $c1 (f32x4.add (local.get $c0) (local.get $b)))
  (local.set $c2 (f32x4.add (local.get $c1) (local.get $b)))
  (local.set $c3 (f32x4.add (local.get $c2) (local.get $b)))
  (local.set $c4 (f32x4.add (local.get $c3) (local.get $b)))
  (local.set $c5 (f32x4.add (local.get $c4) (local.get $b)))
  (local.set $c6 (f32x4.add (local.get $c5) (local.get $b)))
  (local.set $c7 (f32x4.add (local.get $c6) (local.get $b)))
  (local.set $c8 (f32x4.add (local.get $c7) (local.get $b)))
  (local.set $c9 (f32x4.add (local.get $c8) (local.get $b)))
  (local.set $c10 (f32x4.add (local.get $c9) (local.get $b)))
  (local.set $c11 (f32x4.add (local.get $c10) (local.get $b)))
  (block $d (loop $l
    (br_if $d (i32.eqz (local.get $iters)))
    (local.set $c0 (f32x4.relaxed_madd (local.get $c0) (local.get $a) (local.get $b)))
    (local.set $c1 (f32x4.relaxed_madd (local.get $c1) (local.get $a) (local.get $b)))
    (local.set $c2 (f32x4.relaxed_madd (local.get $c2) (local.get $a) (local.get $b)))
    (local.set $c3 (f32x4.relaxed_madd (local.get $c3) (local.get $a) (local.get $b)))
    (local.set $c4 (f32x4.relaxed_madd (local.get $c4) (local.get $a) (local.get $b)))
    (local.set $c5 (f32x4.relaxed_madd (local.get $c5) (local.get $a) (local.get $b)))
    (local.set $c6 (f32x4.relaxed_madd (local.get $c6) (local.get $a) (local.get $b)))
    (local.set $c7 (f32x4.relaxed_madd (local.get $c7) (local.get $a) (local.get $b)))
    (local.set $c8 (f32x4.relaxed_madd (local.get $c8) (local.get $a) (local.get $b)))
    (local.set $c9 (f32x4.relaxed_madd (local.get $c9) (local.get $a) (local.get $b)))
    (local.set $c10 (f32x4.relaxed_madd (local.get $c10) (local.get $a) (local.get $b)))
    (local.set $c11 (f32x4.relaxed_madd (local.get $c11) (local.get $a) (local.get $b)))
    (local.set $iters (i32.sub (local.get $iters) (i32.const 1)))
    (br $l)))
  (local.set $c0 (f32x4.add
    (f32x4.add (f32x4.add (f32x4.add (local.get $c0) (local.get $c1)) (f32x4.add (local.get $c2) (local.get $c3)))
               (f32x4.add (f32x4.add (local.get $c4) (local.get $c5)) (f32x4.add (local.get $c6) (local.get $c7))))
    (f32x4.add (f32x4.add (local.get $c8) (local.get $c9)) (f32x4.add (local.get $c10) (local.get $c11)))))
  (f32.add
    (f32.add (f32x4.extract_lane 0 (local.get $c0)) (f32x4.extract_lane 1 (local.get $c0)))
    (f32.add (f32x4.extract_lane 2 (local.get $c0)) (f32x4.extract_lane 3 (local.get $c0)))))
