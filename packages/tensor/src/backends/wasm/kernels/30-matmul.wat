;; Matrix multiply C = act(A' B' + bias), float32, as in BLIS/GotoBLAS: pack a block of A'
;; into 4-row panels and a block of B' into 8-column panels, then run a register-tiled
;; 4x8 micro-kernel whose 8 accumulators (4 rows x two vectors) stay in SIMD registers for
;; the whole k loop. A' is A or its transpose and B' is B or its transpose: the transposes
;; are absorbed by the packing, so all four variants run the same micro-kernel.
;;
;; Sizes that are not multiples of the tile: packing pads panels with zeros, and an edge
;; tile is computed in full into a 128-byte scratch tile (a parameter: each thread has its
;; own) and only its valid part copied to C.
;;
;; Each step is c += a*b as (f32x4.relaxed_madd a b c): the `fma` build keeps it (one
;; rounding where the hardware fuses), the `simd` build rewrites it to a mul and an add
;; (see scripts/build-wasm.ts). Either way each output element is the same sum in the
;; same order, k ascending, whatever part of C a call computes: splitting C by rows or
;; columns across threads gives bit-identical results.

;; Pack a panel of width w (4 or 8): dst[t*w + c] = S(t, c) for t < len, c < w, where
;; S(t, c) is the float at src + t*ts + c*cs, and 0 for c >= valid.
(func $pack (param $src i32) (param $ts i32) (param $cs i32) (param $len i32) (param $valid i32)
            (param $w i32) (param $dst i32)
  (local $t i32) (local $c i32) (local $q i32) (local $p i32) (local $d i32) (local $row i32)
  (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
  (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
  (local.set $row (i32.shl (local.get $w) (i32.const 2)))
  (if (i32.eq (local.get $valid) (local.get $w))
    (then
      ;; Contiguous along the panel: copy w floats per t.
      (if (i32.eq (local.get $cs) (i32.const 4))
        (then
          (block $d1 (loop $l1
            (br_if $d1 (i32.ge_u (local.get $t) (local.get $len)))
            (local.set $p (i32.add (local.get $src) (i32.mul (local.get $t) (local.get $ts))))
            (v128.store (local.get $dst) (v128.load (local.get $p)))
            (if (i32.eq (local.get $w) (i32.const 8))
              (then (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $p)))))
            (local.set $dst (i32.add (local.get $dst) (local.get $row)))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $l1)))
          (return)))
      ;; Contiguous along t: 4x4 transposes.
      (if (i32.eq (local.get $ts) (i32.const 4))
        (then
          (block $d2 (loop $l2
            (br_if $d2 (i32.gt_u (i32.add (local.get $t) (i32.const 4)) (local.get $len)))
            (local.set $q (i32.const 0))
            (block $d3 (loop $l3
              (br_if $d3 (i32.ge_u (local.get $q) (local.get $w)))
              (local.set $p (i32.add (i32.add (local.get $src) (i32.shl (local.get $t) (i32.const 2)))
                (i32.mul (local.get $q) (local.get $cs))))
              (local.set $r0 (v128.load (local.get $p)))
              (local.set $p (i32.add (local.get $p) (local.get $cs)))
              (local.set $r1 (v128.load (local.get $p)))
              (local.set $p (i32.add (local.get $p) (local.get $cs)))
              (local.set $r2 (v128.load (local.get $p)))
              (local.set $p (i32.add (local.get $p) (local.get $cs)))
              (local.set $r3 (v128.load (local.get $p)))
              ;; r_c holds S(t..t+3, q+c); transpose so that t_j holds S(t+j, q..q+3).
              (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
              (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
              (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
              (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
              (local.set $d (i32.add (local.get $dst)
                (i32.shl (i32.add (i32.mul (local.get $t) (local.get $w)) (local.get $q)) (i32.const 2))))
              (v128.store (local.get $d)
                (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
              (local.set $d (i32.add (local.get $d) (local.get $row)))
              (v128.store (local.get $d)
                (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
              (local.set $d (i32.add (local.get $d) (local.get $row)))
              (v128.store (local.get $d)
                (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
              (local.set $d (i32.add (local.get $d) (local.get $row)))
              (v128.store (local.get $d)
                (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
              (local.set $q (i32.add (local.get $q) (i32.const 4)))
              (br $l3)))
            (local.set $t (i32.add (local.get $t) (i32.const 4)))
            (br $l2)))))))
  ;; The rest (remaining t, edge panels, other layouts): one float at a time, zeros past valid.
  (block $d4 (loop $l4
    (br_if $d4 (i32.ge_u (local.get $t) (local.get $len)))
    (local.set $c (i32.const 0))
    (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $t) (local.get $row))))
    (local.set $p (i32.add (local.get $src) (i32.mul (local.get $t) (local.get $ts))))
    (block $d5 (loop $l5
      (br_if $d5 (i32.ge_u (local.get $c) (local.get $w)))
      (f32.store (local.get $d)
        (if (result f32) (i32.lt_u (local.get $c) (local.get $valid))
          (then (f32.load (local.get $p)))
          (else (f32.const 0))))
      (local.set $d (i32.add (local.get $d) (i32.const 4)))
      (local.set $p (i32.add (local.get $p) (local.get $cs)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $l5)))
    (local.set $t (i32.add (local.get $t) (i32.const 1)))
    (br $l4))))

;; Copy an mr x nr block between C (row stride ldc) and a scratch tile (row stride 32).
(func $tile_copy (param $from i32) (param $fromLd i32) (param $to i32) (param $toLd i32)
                 (param $mr i32) (param $nr i32)
  (local $r i32) (local $c i32)
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $r) (local.get $mr)))
    (local.set $c (i32.const 0))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $c) (local.get $nr)))
      (f32.store
        (i32.add (i32.add (local.get $to) (i32.mul (local.get $r) (local.get $toLd))) (i32.shl (local.get $c) (i32.const 2)))
        (f32.load
          (i32.add (i32.add (local.get $from) (i32.mul (local.get $r) (local.get $fromLd))) (i32.shl (local.get $c) (i32.const 2)))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $l2)))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $l))))

;; The activation of the fused dense layer: 0 linear, 1 relu, 2 tanh, 3 sigmoid.
(func $act (param $v v128) (param $act i32) (result v128)
  (if (i32.eq (local.get $act) (i32.const 1))
    (then (return (f32x4.max (local.get $v) (v128.const i32x4 0 0 0 0)))))
  (if (i32.eq (local.get $act) (i32.const 2)) (then (return (call $tanh4 (local.get $v)))))
  (if (i32.eq (local.get $act) (i32.const 3)) (then (return (call $sigmoid4 (local.get $v)))))
  (local.get $v))

;; The 4x8 micro-kernel: C[0..mr, 0..nr] (+)= sum_t pa[t*4 + r] * pb[t*8 + c] over t < kc.
;; Per k step: two vector loads of B, four broadcast loads of A, 8 multiply-adds into the 8
;; accumulators. 4x8 uses 11 of V8's 15 allocatable xmm registers; 5x8 and 6x8 tiles and a
;; 2x unrolled k loop were all measured slower under V8 (TurboFan) on x64.
;; first: overwrite C (else add to it). last: then add bias[0..8) (if bias != 0) and apply
;; the activation. A full tile works on C directly, an edge tile on the scratch tile.
(func $kernel (param $pa i32) (param $pb i32) (param $kc i32) (param $c i32) (param $ldc i32)
              (param $mr i32) (param $nr i32) (param $first i32) (param $last i32)
              (param $bias i32) (param $act i32) (param $tile i32)
  (local $end i32) (local $cp i32) (local $ld i32) (local $full i32)
  (local $a v128) (local $b0 v128) (local $b1 v128)
  (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
  (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
  (local.set $end (i32.add (local.get $pb) (i32.shl (local.get $kc) (i32.const 5))))
  (if (local.get $kc) (then (loop $l
    (local.set $b0 (v128.load (local.get $pb)))
    (local.set $b1 (v128.load offset=16 (local.get $pb)))
    (local.set $a (v128.load32_splat (local.get $pa)))
    (local.set $c00 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c00)))
    (local.set $c01 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c01)))
    (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
    (local.set $c10 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c10)))
    (local.set $c11 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c11)))
    (local.set $a (v128.load32_splat offset=8 (local.get $pa)))
    (local.set $c20 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c20)))
    (local.set $c21 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c21)))
    (local.set $a (v128.load32_splat offset=12 (local.get $pa)))
    (local.set $c30 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c30)))
    (local.set $c31 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c31)))
    (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
    (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
    (br_if $l (i32.lt_u (local.get $pb) (local.get $end))))))
  (local.set $full (i32.and (i32.eq (local.get $mr) (i32.const 4)) (i32.eq (local.get $nr) (i32.const 8))))
  (if (local.get $full)
    (then (local.set $cp (local.get $c)) (local.set $ld (local.get $ldc)))
    (else
      (local.set $cp (local.get $tile))
      (local.set $ld (i32.const 32))
      (if (i32.eqz (local.get $first))
        (then (call $tile_copy (local.get $c) (local.get $ldc) (local.get $tile) (i32.const 32)
          (local.get $mr) (local.get $nr))))))
  (if (i32.eqz (local.get $first))
    (then
      (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $cp))))
      (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $cp))))
      (local.set $c10 (f32x4.add (local.get $c10) (v128.load (i32.add (local.get $cp) (local.get $ld)))))
      (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (i32.add (local.get $cp) (local.get $ld)))))
      (local.set $c20 (f32x4.add (local.get $c20)
        (v128.load (i32.add (local.get $cp) (i32.shl (local.get $ld) (i32.const 1))))))
      (local.set $c21 (f32x4.add (local.get $c21)
        (v128.load offset=16 (i32.add (local.get $cp) (i32.shl (local.get $ld) (i32.const 1))))))
      (local.set $c30 (f32x4.add (local.get $c30)
        (v128.load (i32.add (local.get $cp) (i32.mul (local.get $ld) (i32.const 3))))))
      (local.set $c31 (f32x4.add (local.get $c31)
        (v128.load offset=16 (i32.add (local.get $cp) (i32.mul (local.get $ld) (i32.const 3))))))))
  (if (local.get $last)
    (then
      (if (local.get $bias)
        (then
          (local.set $b0 (v128.load (local.get $bias)))
          (local.set $b1 (v128.load offset=16 (local.get $bias)))
          (local.set $c00 (f32x4.add (local.get $c00) (local.get $b0)))
          (local.set $c01 (f32x4.add (local.get $c01) (local.get $b1)))
          (local.set $c10 (f32x4.add (local.get $c10) (local.get $b0)))
          (local.set $c11 (f32x4.add (local.get $c11) (local.get $b1)))
          (local.set $c20 (f32x4.add (local.get $c20) (local.get $b0)))
          (local.set $c21 (f32x4.add (local.get $c21) (local.get $b1)))
          (local.set $c30 (f32x4.add (local.get $c30) (local.get $b0)))
          (local.set $c31 (f32x4.add (local.get $c31) (local.get $b1)))))
      ;; relu inline (the same f32x4.max as $act): eight calls per tile cost 8% of a
      ;; 256x256x256 product on V8, which does not inline them.
      (if (i32.eq (local.get $act) (i32.const 1))
        (then
          (local.set $c00 (f32x4.max (local.get $c00) (v128.const i32x4 0 0 0 0)))
          (local.set $c01 (f32x4.max (local.get $c01) (v128.const i32x4 0 0 0 0)))
          (local.set $c10 (f32x4.max (local.get $c10) (v128.const i32x4 0 0 0 0)))
          (local.set $c11 (f32x4.max (local.get $c11) (v128.const i32x4 0 0 0 0)))
          (local.set $c20 (f32x4.max (local.get $c20) (v128.const i32x4 0 0 0 0)))
          (local.set $c21 (f32x4.max (local.get $c21) (v128.const i32x4 0 0 0 0)))
          (local.set $c30 (f32x4.max (local.get $c30) (v128.const i32x4 0 0 0 0)))
          (local.set $c31 (f32x4.max (local.get $c31) (v128.const i32x4 0 0 0 0))))
      (else (if (local.get $act)
        (then
          (local.set $c00 (call $act (local.get $c00) (local.get $act)))
          (local.set $c01 (call $act (local.get $c01) (local.get $act)))
          (local.set $c10 (call $act (local.get $c10) (local.get $act)))
          (local.set $c11 (call $act (local.get $c11) (local.get $act)))
          (local.set $c20 (call $act (local.get $c20) (local.get $act)))
          (local.set $c21 (call $act (local.get $c21) (local.get $act)))
          (local.set $c30 (call $act (local.get $c30) (local.get $act)))
          (local.set $c31 (call $act (local.get $c31) (local.get $act)))))))))
  (v128.store (local.get $cp) (local.get $c00))
  (v128.store offset=16 (local.get $cp) (local.get $c01))
  (local.set $cp (i32.add (local.get $cp) (local.get $ld)))
  (v128.store (local.get $cp) (local.get $c10))
  (v128.store offset=16 (local.get $cp) (local.get $c11))
  (local.set $cp (i32.add (local.get $cp) (local.get $ld)))
  (v128.store (local.get $cp) (local.get $c20))
  (v128.store offset=16 (local.get $cp) (local.get $c21))
  (local.set $cp (i32.add (local.get $cp) (local.get $ld)))
  (v128.store (local.get $cp) (local.get $c30))
  (v128.store offset=16 (local.get $cp) (local.get $c31))
  (if (i32.eqz (local.get $full))
    (then (call $tile_copy (local.get $tile) (i32.const 32) (local.get $c) (local.get $ldc)
      (local.get $mr) (local.get $nr)))))

;; matmul(a, b, c, m, k, n, transposeA, transposeB, packA, packB, kcMax, bias, act,
;;        i0, i1, j0, j1, tile):
;; C[i0:i1, j0:j1] = act(A'[m,k] B'[k,n] + bias[n]) for that block of C. A is stored [m,k]
;; (or [k,m] when transposeA), B is [k,n] (or [n,k] when transposeB), C is [m,n], all
;; row-major. i0 is a multiple of 4 and j0 of 8 (i1 and j1 too, unless they are m or n):
;; the block is a set of whole tiles. packA needs 4*ceil((i1-i0)/4)*min(k,kcMax) floats
;; and packB 8*min(k,kcMax) floats of scratch, and tile 32 floats. k is done in blocks of
;; kcMax so the packed panels stay in cache. bias = 0 means no bias. k = 0 gives act(bias)
;; (or zeros). Threads call this on disjoint blocks with their own scratch.
(func (export "matmul")
  (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32)
  (param $ta i32) (param $tb i32) (param $packA i32) (param $packB i32) (param $kcMax i32)
  (param $bias i32) (param $act i32)
  (param $i0 i32) (param $i1 i32) (param $j0 i32) (param $j1 i32) (param $tile i32)
  (local $ats i32) (local $acs i32) (local $bts i32) (local $bcs i32) (local $ldc i32)
  (local $p0 i32) (local $kc i32) (local $first i32) (local $last i32) (local $i i32) (local $j i32)
  (local $nr i32)
  (if (i32.gt_u (local.get $i1) (local.get $m)) (then (local.set $i1 (local.get $m))))
  (if (i32.gt_u (local.get $j1) (local.get $n)) (then (local.set $j1 (local.get $n))))
  ;; A'(i, p) is at a + p*ats + i*acs; B'(p, j) at b + p*bts + j*bcs.
  (if (local.get $ta)
    (then (local.set $ats (i32.shl (local.get $m) (i32.const 2))) (local.set $acs (i32.const 4)))
    (else (local.set $ats (i32.const 4)) (local.set $acs (i32.shl (local.get $k) (i32.const 2)))))
  (if (local.get $tb)
    (then (local.set $bts (i32.const 4)) (local.set $bcs (i32.shl (local.get $k) (i32.const 2))))
    (else (local.set $bts (i32.shl (local.get $n) (i32.const 2))) (local.set $bcs (i32.const 4))))
  (local.set $ldc (i32.shl (local.get $n) (i32.const 2)))
  (local.set $first (i32.const 1))
  (loop $kblock
    (local.set $kc (i32.sub (local.get $k) (local.get $p0)))
    (if (i32.gt_u (local.get $kc) (local.get $kcMax)) (then (local.set $kc (local.get $kcMax))))
    (local.set $last (i32.ge_u (i32.add (local.get $p0) (local.get $kc)) (local.get $k)))
    ;; Pack every 4-row panel of A'[i0:i1, p0:p0+kc].
    (local.set $i (local.get $i0))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $i1)))
      (call $pack
        (i32.add (i32.add (local.get $a) (i32.mul (local.get $p0) (local.get $ats))) (i32.mul (local.get $i) (local.get $acs)))
        (local.get $ats) (local.get $acs) (local.get $kc)
        (select (i32.const 4) (i32.sub (local.get $m) (local.get $i))
          (i32.ge_u (i32.sub (local.get $m) (local.get $i)) (i32.const 4)))
        (i32.const 4)
        (i32.add (local.get $packA)
          (i32.shl (i32.mul (i32.sub (local.get $i) (local.get $i0)) (local.get $kc)) (i32.const 2))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l)))
    ;; For each 8-column panel of B'[p0:p0+kc, j0:j1]: pack it, then run down the row panels.
    (local.set $j (local.get $j0))
    (block $dj (loop $lj
      (br_if $dj (i32.ge_u (local.get $j) (local.get $j1)))
      (local.set $nr (select (i32.const 8) (i32.sub (local.get $n) (local.get $j))
        (i32.ge_u (i32.sub (local.get $n) (local.get $j)) (i32.const 8))))
      (call $pack
        (i32.add (i32.add (local.get $b) (i32.mul (local.get $p0) (local.get $bts))) (i32.mul (local.get $j) (local.get $bcs)))
        (local.get $bts) (local.get $bcs) (local.get $kc) (local.get $nr) (i32.const 8) (local.get $packB))
      (local.set $i (local.get $i0))
      (block $di (loop $li
        (br_if $di (i32.ge_u (local.get $i) (local.get $i1)))
        (call $kernel
          (i32.add (local.get $packA)
            (i32.shl (i32.mul (i32.sub (local.get $i) (local.get $i0)) (local.get $kc)) (i32.const 2)))
          (local.get $packB) (local.get $kc)
          (i32.add (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))) (i32.shl (local.get $j) (i32.const 2)))
          (local.get $ldc)
          (select (i32.const 4) (i32.sub (local.get $m) (local.get $i))
            (i32.ge_u (i32.sub (local.get $m) (local.get $i)) (i32.const 4)))
          (local.get $nr) (local.get $first) (local.get $last)
          (select (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))) (i32.const 0) (local.get $bias))
          (local.get $act) (local.get $tile))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $li)))
      (local.set $j (i32.add (local.get $j) (i32.const 8)))
      (br $lj)))
    (local.set $first (i32.const 0))
    (local.set $p0 (i32.add (local.get $p0) (local.get $kc)))
    (br_if $kblock (i32.lt_u (local.get $p0) (local.get $k)))))
