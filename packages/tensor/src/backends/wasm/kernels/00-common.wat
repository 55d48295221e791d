;; chainrule wasm kernels: shared helpers and float32 SIMD approximations of exp, tanh and
;; sigmoid.
;;
;; The files in this folder are module fields, not whole modules: scripts/build-wasm.ts
;; concatenates them in file-name order inside
;;   (module (import "env" "memory" (memory 1)) ...)
;; and expands the small template macros (";; @define NAME(P | Q) ... ;; @end" and
;; ";; @use NAME(a | b)", with {{P}} placeholders in the body). The memory is created and
;; grown by the TypeScript allocator (memory.ts). Bytes [0, 1024) are reserved: pointer 0
;; is "no tensor", and [256, 1024) is per-call scratch (matmul edge tiles, tails).
;; Every pointer and stride below is in bytes.

;; A vector from the n (1..3) floats at p; other lanes are 0. For the tails of SIMD loops.
(func $load_partial (param $p i32) (param $n i32) (result v128)
  (local $v v128)
  (local.set $v (f32x4.replace_lane 0 (v128.const i32x4 0 0 0 0) (f32.load (local.get $p))))
  (if (i32.gt_u (local.get $n) (i32.const 1))
    (then (local.set $v (f32x4.replace_lane 1 (local.get $v) (f32.load offset=4 (local.get $p))))))
  (if (i32.gt_u (local.get $n) (i32.const 2))
    (then (local.set $v (f32x4.replace_lane 2 (local.get $v) (f32.load offset=8 (local.get $p))))))
  (local.get $v))

;; Store the first n (1..3) lanes of v at p.
(func $store_partial (param $p i32) (param $v v128) (param $n i32)
  (f32.store (local.get $p) (f32x4.extract_lane 0 (local.get $v)))
  (if (i32.gt_u (local.get $n) (i32.const 1))
    (then (f32.store offset=4 (local.get $p) (f32x4.extract_lane 1 (local.get $v)))))
  (if (i32.gt_u (local.get $n) (i32.const 2))
    (then (f32.store offset=8 (local.get $p) (f32x4.extract_lane 2 (local.get $v))))))

;; e^x, four lanes (Cephes expf). Range reduction x = n ln2 + r with ln2 split in two
;; (C1 = 0.693359375 has 9 significant bits, so n*C1 is exact), e^r by a degree-7
;; polynomial, then 2^n applied in two halves so that results near overflow and in the
;; subnormal range come out right. x is clamped to [-104, 89] first (e^-104 rounds to 0,
;; e^89 overflows to +Infinity); NaN propagates through the clamp and the polynomial.
;; Measured against Math.exp rounded to float32 over 2^20 points of [-104, 89]: at most
;; 1 ulp (relative 1.2e-7) for normal results, 1 subnormal ulp (1.4e-45) below them
;; (test/wasm-math.test.ts checks this).
(func $exp4 (param $x v128) (result v128)
  (local $t v128) (local $fx v128) (local $r v128) (local $y v128) (local $n v128) (local $n1 v128)
  ;; pmax/pmin (one instruction each) keep NaN when it is the first operand.
  (local.set $x
    (f32x4.pmin
      (f32x4.pmax (local.get $x) (v128.const f32x4 -104 -104 -104 -104))
      (v128.const f32x4 89 89 89 89)))
  ;; n = round(x log2 e) by adding 1.5*2^23: the float sum rounds to an integer (ties to
  ;; even) held in the low mantissa bits, so n's bits are t's bits minus 0x4B400000.
  (local.set $t
    (f32x4.add
      (f32x4.mul (local.get $x)
        (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))
      (v128.const f32x4 12582912 12582912 12582912 12582912)))
  (local.set $fx (f32x4.sub (local.get $t) (v128.const f32x4 12582912 12582912 12582912 12582912)))
  (local.set $r (f32x4.sub (local.get $x)
    (f32x4.mul (local.get $fx) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
  (local.set $r (f32x4.add (local.get $r)
    (f32x4.mul (local.get $fx) (v128.const f32x4 2.12194440e-4 2.12194440e-4 2.12194440e-4 2.12194440e-4))))
  (local.set $y (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
  (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
    (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
  (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
    (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
  (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
    (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
  (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
    (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
  (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r))
    (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
  ;; y = y r^2 + r + 1
  (local.set $y
    (f32x4.add
      (f32x4.add (f32x4.mul (local.get $y) (f32x4.mul (local.get $r) (local.get $r))) (local.get $r))
      (v128.const f32x4 1 1 1 1)))
  ;; 2^n = 2^n1 * 2^(n - n1), each half a normal float built from its exponent bits.
  (local.set $n (i32x4.sub (local.get $t) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000)))
  (local.set $n1 (i32x4.shr_s (local.get $n) (i32.const 1)))
  (f32x4.mul
    (f32x4.mul (local.get $y)
      (i32x4.shl (i32x4.add (local.get $n1) (v128.const i32x4 127 127 127 127)) (i32.const 23)))
    (i32x4.shl
      (i32x4.add (i32x4.sub (local.get $n) (local.get $n1)) (v128.const i32x4 127 127 127 127))
      (i32.const 23))))

;; tanh(x), four lanes (Cephes tanhf). |x| < 0.625: odd polynomial x + x^3 P(x^2);
;; otherwise 1 - 2/(e^{2|x|} + 1); then the sign of x. Large |x| gives exactly ±1, NaN stays NaN.
;; Measured against Math.tanh rounded to float32: at most 1 ulp (relative 1.2e-7).
(func $tanh4 (param $x v128) (result v128)
  (local $ax v128) (local $z v128) (local $big v128) (local $small v128)
  (local.set $ax (f32x4.abs (local.get $x)))
  (local.set $big
    (f32x4.sub (v128.const f32x4 1 1 1 1)
      (f32x4.div (v128.const f32x4 2 2 2 2)
        (f32x4.add (call $exp4 (f32x4.add (local.get $ax) (local.get $ax))) (v128.const f32x4 1 1 1 1)))))
  (local.set $z (f32x4.mul (local.get $x) (local.get $x)))
  (local.set $small (v128.const f32x4 -5.70498872745e-3 -5.70498872745e-3 -5.70498872745e-3 -5.70498872745e-3))
  (local.set $small (f32x4.add (f32x4.mul (local.get $small) (local.get $z))
    (v128.const f32x4 2.06390887954e-2 2.06390887954e-2 2.06390887954e-2 2.06390887954e-2)))
  (local.set $small (f32x4.add (f32x4.mul (local.get $small) (local.get $z))
    (v128.const f32x4 -5.37397155531e-2 -5.37397155531e-2 -5.37397155531e-2 -5.37397155531e-2)))
  (local.set $small (f32x4.add (f32x4.mul (local.get $small) (local.get $z))
    (v128.const f32x4 1.33314422036e-1 1.33314422036e-1 1.33314422036e-1 1.33314422036e-1)))
  (local.set $small (f32x4.add (f32x4.mul (local.get $small) (local.get $z))
    (v128.const f32x4 -3.33332819422e-1 -3.33332819422e-1 -3.33332819422e-1 -3.33332819422e-1)))
  (local.set $small
    (f32x4.add (f32x4.mul (f32x4.mul (local.get $small) (local.get $z)) (local.get $x)) (local.get $x)))
  ;; copysign(|x| < 0.625 ? small : big, x): tanh is odd, and tanh(-0) = -0.
  (v128.or
    (v128.and
      (v128.bitselect (local.get $small) (local.get $big)
        (f32x4.lt (local.get $ax) (v128.const f32x4 0.625 0.625 0.625 0.625)))
      (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
    (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))

;; The logistic sigmoid, four lanes, without overflow: with e = e^{-|x|},
;; 1/(1+e) for x >= 0 and e/(1+e) otherwise (the js reference's formulas). NaN stays NaN.
;; Measured against the reference rounded to float32: at most 2 ulp (relative 2.3e-7).
(func $sigmoid4 (param $x v128) (result v128)
  (local $e v128) (local $d v128)
  (local.set $e (call $exp4 (f32x4.neg (f32x4.abs (local.get $x)))))
  (local.set $d (f32x4.add (local.get $e) (v128.const f32x4 1 1 1 1)))
  (v128.bitselect
    (f32x4.div (v128.const f32x4 1 1 1 1) (local.get $d))
    (f32x4.div (local.get $e) (local.get $d))
    (f32x4.ge (local.get $x) (v128.const i32x4 0 0 0 0))))

;; Fill n bytes at p with zeros (allocator: recycled blocks must read as zeros).
(func (export "zero") (param $p i32) (param $n i32)
  (memory.fill (local.get $p) (i32.const 0) (local.get $n)))
