;; sin and cos, float32 in and out, computed in float64 lanes (wasm has no sine instruction).
;;
;; Reduction (Cody & Waite 1980): j = round(x·2/π), r = x − j·π/2 with π/2 in three parts
;; (fdlibm's pio2_1, pio2_2, pio2_2t). pio2_1 and pio2_2 have 33 significant bits, so for
;; |j| < 2^20 the products j·pio2_1 and j·pio2_2 are exact, and x − j·pio2_1 is exact too
;; (both are multiples of 2^-32 and the difference is below 1); π/2 − (pio2_1 + pio2_2 +
;; pio2_2t) is about 2^-119. Then sin r and cos r on |r| ≤ π/4 (a little more when x·2/π
;; rounds the other way) by their Taylor series to r^15 and r^14, whose truncation error
;; (< 2e-15) is far below float32's half ulp (3e-8); the quadrant j mod 4 picks ±sin r or
;; ±cos r. The float64 result is rounded once to float32.
;;
;; Valid range: |x| ≤ 2^20 (then |j| < 2^20). un_sin/un_cos return 1 when some input is
;; beyond it (or is ±Infinity), and the TypeScript kernel recomputes those elements with
;; Math.sin/Math.cos; NaN stays NaN. test/wasm-math.test.ts measures the error in ulps.

;; sin (qoff = 0) or cos (qoff = 1: cos x = sin(x + π/2), one quadrant on) of two float64 lanes.
(func $trig2 (param $x v128) (param $qoff i64) (result v128)
  (local $t v128) (local $j v128) (local $r v128) (local $z v128) (local $s v128) (local $c v128) (local $q v128)
  ;; t = x·2/π + 1.5·2^52: the sum rounds to an integer j held in t's low mantissa bits
  ;; (two's complement, so j mod 4 is right for negative j too).
  (local.set $t
    (f64x2.add
      (f64x2.mul (local.get $x) (v128.const f64x2 0.6366197723675814 0.6366197723675814))
      (v128.const f64x2 6755399441055744 6755399441055744)))
  (local.set $j (f64x2.sub (local.get $t) (v128.const f64x2 6755399441055744 6755399441055744)))
  (local.set $r (f64x2.sub (local.get $x)
    (f64x2.mul (local.get $j) (v128.const f64x2 1.57079632673412561417 1.57079632673412561417))))
  (local.set $r (f64x2.sub (local.get $r)
    (f64x2.mul (local.get $j) (v128.const f64x2 6.07710050630396597660e-11 6.07710050630396597660e-11))))
  (local.set $r (f64x2.sub (local.get $r)
    (f64x2.mul (local.get $j) (v128.const f64x2 2.02226624879595063154e-21 2.02226624879595063154e-21))))
  (local.set $z (f64x2.mul (local.get $r) (local.get $r)))
  ;; sin r = r + r·z·(−1/3! + z(1/5! − z(1/7! − …))), to the r^15 term
  (local.set $s (v128.const f64x2 -7.647163731819816e-13 -7.647163731819816e-13))
  (local.set $s (f64x2.add (f64x2.mul (local.get $s) (local.get $z))
    (v128.const f64x2 1.6059043836821613e-10 1.6059043836821613e-10)))
  (local.set $s (f64x2.add (f64x2.mul (local.get $s) (local.get $z))
    (v128.const f64x2 -2.505210838544172e-8 -2.505210838544172e-8)))
  (local.set $s (f64x2.add (f64x2.mul (local.get $s) (local.get $z))
    (v128.const f64x2 2.7557319223985893e-6 2.7557319223985893e-6)))
  (local.set $s (f64x2.add (f64x2.mul (local.get $s) (local.get $z))
    (v128.const f64x2 -1.984126984126984e-4 -1.984126984126984e-4)))
  (local.set $s (f64x2.add (f64x2.mul (local.get $s) (local.get $z))
    (v128.const f64x2 8.333333333333333e-3 8.333333333333333e-3)))
  (local.set $s (f64x2.add (f64x2.mul (local.get $s) (local.get $z))
    (v128.const f64x2 -0.16666666666666666 -0.16666666666666666)))
  (local.set $s (f64x2.add (local.get $r) (f64x2.mul (f64x2.mul (local.get $s) (local.get $z)) (local.get $r))))
  ;; r = −0 (from x = −0) would come out +0 above: keep r itself, so sin(−0) = −0.
  (local.set $s (v128.bitselect (local.get $r) (local.get $s) (f64x2.eq (local.get $r) (v128.const f64x2 0 0))))
  ;; cos r = 1 − z/2 + z²(1/4! − z(1/6! − …)), to the r^14 term
  (local.set $c (v128.const f64x2 -1.1470745597729725e-11 -1.1470745597729725e-11))
  (local.set $c (f64x2.add (f64x2.mul (local.get $c) (local.get $z))
    (v128.const f64x2 2.08767569878681e-9 2.08767569878681e-9)))
  (local.set $c (f64x2.add (f64x2.mul (local.get $c) (local.get $z))
    (v128.const f64x2 -2.755731922398589e-7 -2.755731922398589e-7)))
  (local.set $c (f64x2.add (f64x2.mul (local.get $c) (local.get $z))
    (v128.const f64x2 2.48015873015873e-5 2.48015873015873e-5)))
  (local.set $c (f64x2.add (f64x2.mul (local.get $c) (local.get $z))
    (v128.const f64x2 -1.388888888888889e-3 -1.388888888888889e-3)))
  (local.set $c (f64x2.add (f64x2.mul (local.get $c) (local.get $z))
    (v128.const f64x2 4.1666666666666664e-2 4.1666666666666664e-2)))
  (local.set $c
    (f64x2.add
      (f64x2.sub (v128.const f64x2 1 1) (f64x2.mul (local.get $z) (v128.const f64x2 0.5 0.5)))
      (f64x2.mul (f64x2.mul (local.get $c) (local.get $z)) (local.get $z))))
  ;; quadrant q = (j + qoff) mod 4: q odd takes cos r, q ≥ 2 flips the sign.
  (local.set $q (v128.and (i64x2.add (local.get $t) (i64x2.splat (local.get $qoff))) (v128.const i64x2 3 3)))
  (v128.xor
    (v128.bitselect (local.get $s) (local.get $c)
      (i64x2.eq (v128.and (local.get $q) (v128.const i64x2 1 1)) (v128.const i64x2 0 0)))
    (i64x2.shl (v128.and (local.get $q) (v128.const i64x2 2 2)) (i32.const 62))))

;; Four float32 lanes: widen each half to float64, $trig2, narrow and join.
(func $trig4 (param $v v128) (param $qoff i64) (result v128)
  (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
    (f32x4.demote_f64x2_zero (call $trig2 (f64x2.promote_low_f32x4 (local.get $v)) (local.get $qoff)))
    (f32x4.demote_f64x2_zero
      (call $trig2
        (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
        (local.get $qoff)))))

;; un_NAME(x, out, n) -> 1 if some |x[i]| > 2^20 (not reduced exactly; see above), else 0.
;; @define TRIG(NAME | QOFF)
(func (export "un_{{NAME}}") (param $x i32) (param $o i32) (param $n i32) (result i32)
  (local $end i32) (local $v v128) (local $tail i32) (local $big v128)
  (local.set $tail (i32.and (local.get $n) (i32.const 3)))
  (local.set $end (i32.add (local.get $x) (i32.shl (i32.sub (local.get $n) (local.get $tail)) (i32.const 2))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $v (v128.load (local.get $x)))
      (local.set $big (v128.or (local.get $big)
        (f32x4.gt (f32x4.abs (local.get $v)) (v128.const f32x4 1048576 1048576 1048576 1048576))))
      (v128.store (local.get $o) (call $trig4 (local.get $v) (i64.const {{QOFF}})))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next)))
  (if (local.get $tail)
    (then
      (local.set $v (call $load_partial (local.get $x) (local.get $tail)))
      (local.set $big (v128.or (local.get $big)
        (f32x4.gt (f32x4.abs (local.get $v)) (v128.const f32x4 1048576 1048576 1048576 1048576))))
      (call $store_partial (local.get $o) (call $trig4 (local.get $v) (i64.const {{QOFF}})) (local.get $tail))))
  (v128.any_true (local.get $big)))
;; @end

;; @use TRIG(sin | 0)
;; @use TRIG(cos | 1)
