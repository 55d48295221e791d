;; Training-mode batch norm over the rows of x [n, c] (Ioffe & Szegedy 2015, Alg. 1), forward
;; and first-order backward, four features (columns) at a time: a column group's statistics
;; are lane-wise sums down the rows, so no horizontal reduction is needed and every column is
;; computed the same way whatever group or thread it falls in. Each export takes pointers
;; already offset to its first column, `cols` columns, and the row stride in bytes; the last
;; group of fewer than four columns goes through the partial loads of 00-common.wat.
;; Mean first, then the biased variance as the mean of squared deviations (two passes).

;; Lanes of the partial group (1..3), set by the export just before it calls the partial body.
(global $bn_lanes (mut i32) (i32.const 4))
(func $bn_ld (param $p i32) (result v128) (call $load_partial (local.get $p) (global.get $bn_lanes)))
(func $bn_st (param $p i32) (param $v v128) (call $store_partial (local.get $p) (local.get $v) (global.get $bn_lanes)))

;; y = (x − m)·(γ/√(v + ε)) + β for one group; writes mean and var.
;; @define BN_FWD(NAME | LD | ST)
(func ${{NAME}} (param $x i32) (param $g i32) (param $b i32) (param $y i32) (param $mean i32) (param $var i32)
    (param $n i32) (param $stride i32) (param $veps v128)
  (local $i i32) (local $off i32) (local $vn v128) (local $s v128) (local $d v128) (local $m v128)
  (local $v v128) (local $scale v128) (local $shift v128)
  (local.set $vn (f32x4.splat (f32.convert_i32_u (local.get $n))))
  ;; the group's mean m, then its biased variance v (two passes)
  (local.set $off (i32.const 0))
  (local.set $s (v128.const i32x4 0 0 0 0))
  (local.set $i (local.get $n))
  (loop $l1
    (local.set $s (f32x4.add (local.get $s) ({{LD}} (i32.add (local.get $x) (local.get $off)))))
    (local.set $off (i32.add (local.get $off) (local.get $stride)))
    (br_if $l1 (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
  (local.set $m (f32x4.div (local.get $s) (local.get $vn)))
  (local.set $off (i32.const 0))
  (local.set $s (v128.const i32x4 0 0 0 0))
  (local.set $i (local.get $n))
  (loop $l2
    (local.set $d (f32x4.sub ({{LD}} (i32.add (local.get $x) (local.get $off))) (local.get $m)))
    (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $d) (local.get $d))))
    (local.set $off (i32.add (local.get $off) (local.get $stride)))
    (br_if $l2 (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
  (local.set $v (f32x4.div (local.get $s) (local.get $vn)))
  (local.set $scale (f32x4.div ({{LD}} (local.get $g)) (f32x4.sqrt (f32x4.add (local.get $v) (local.get $veps)))))
  (local.set $shift ({{LD}} (local.get $b)))
  ({{ST}} (local.get $mean) (local.get $m))
  ({{ST}} (local.get $var) (local.get $v))
  (local.set $off (i32.const 0))
  (local.set $i (local.get $n))
  (loop $l3
    ({{ST}} (i32.add (local.get $y) (local.get $off))
      (f32x4.add
        (f32x4.mul (f32x4.sub ({{LD}} (i32.add (local.get $x) (local.get $off))) (local.get $m)) (local.get $scale))
        (local.get $shift)))
    (local.set $off (i32.add (local.get $off) (local.get $stride)))
    (br_if $l3 (local.tee $i (i32.sub (local.get $i) (i32.const 1))))))
;; @end

;; dβ = Σg, dγ = Σg·x̂, dx = γσ⁻¹/n · (n·g − dβ − x̂·dγ) for one group (statistics recomputed).
;; @define BN_BWD(NAME | LD | ST)
(func ${{NAME}} (param $gr i32) (param $x i32) (param $g i32) (param $dx i32) (param $dg i32) (param $db i32)
    (param $n i32) (param $stride i32) (param $veps v128)
  (local $i i32) (local $off i32) (local $vn v128) (local $s v128) (local $d v128) (local $m v128)
  (local $v v128) (local $inv v128) (local $sg v128) (local $sgx v128) (local $gi v128) (local $k v128)
  (local.set $vn (f32x4.splat (f32.convert_i32_u (local.get $n))))
  ;; the group's mean m, then its biased variance v (two passes)
  (local.set $off (i32.const 0))
  (local.set $s (v128.const i32x4 0 0 0 0))
  (local.set $i (local.get $n))
  (loop $l1
    (local.set $s (f32x4.add (local.get $s) ({{LD}} (i32.add (local.get $x) (local.get $off)))))
    (local.set $off (i32.add (local.get $off) (local.get $stride)))
    (br_if $l1 (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
  (local.set $m (f32x4.div (local.get $s) (local.get $vn)))
  (local.set $off (i32.const 0))
  (local.set $s (v128.const i32x4 0 0 0 0))
  (local.set $i (local.get $n))
  (loop $l2
    (local.set $d (f32x4.sub ({{LD}} (i32.add (local.get $x) (local.get $off))) (local.get $m)))
    (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $d) (local.get $d))))
    (local.set $off (i32.add (local.get $off) (local.get $stride)))
    (br_if $l2 (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
  (local.set $v (f32x4.div (local.get $s) (local.get $vn)))
  (local.set $inv (f32x4.div (v128.const f32x4 1 1 1 1) (f32x4.sqrt (f32x4.add (local.get $v) (local.get $veps)))))
  (local.set $off (i32.const 0))
  (local.set $sg (v128.const i32x4 0 0 0 0))
  (local.set $sgx (v128.const i32x4 0 0 0 0))
  (local.set $i (local.get $n))
  (loop $l3
    (local.set $gi ({{LD}} (i32.add (local.get $gr) (local.get $off))))
    (local.set $sg (f32x4.add (local.get $sg) (local.get $gi)))
    (local.set $sgx (f32x4.add (local.get $sgx)
      (f32x4.mul (local.get $gi) (f32x4.sub ({{LD}} (i32.add (local.get $x) (local.get $off))) (local.get $m)))))
    (local.set $off (i32.add (local.get $off) (local.get $stride)))
    (br_if $l3 (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
  (local.set $sgx (f32x4.mul (local.get $sgx) (local.get $inv)))
  (local.set $k (f32x4.div (f32x4.mul ({{LD}} (local.get $g)) (local.get $inv)) (local.get $vn)))
  ({{ST}} (local.get $dg) (local.get $sgx))
  ({{ST}} (local.get $db) (local.get $sg))
  (local.set $off (i32.const 0))
  (local.set $i (local.get $n))
  (loop $l4
    (local.set $d (f32x4.mul
      (f32x4.sub ({{LD}} (i32.add (local.get $x) (local.get $off))) (local.get $m)) (local.get $inv)))
    ({{ST}} (i32.add (local.get $dx) (local.get $off))
      (f32x4.mul (local.get $k)
        (f32x4.sub
          (f32x4.sub (f32x4.mul (local.get $vn) ({{LD}} (i32.add (local.get $gr) (local.get $off)))) (local.get $sg))
          (f32x4.mul (local.get $d) (local.get $sgx)))))
    (local.set $off (i32.add (local.get $off) (local.get $stride)))
    (br_if $l4 (local.tee $i (i32.sub (local.get $i) (i32.const 1))))))
;; @end

;; @use BN_FWD(bn_fwd4 | v128.load | v128.store)
;; @use BN_FWD(bn_fwdp | call $bn_ld | call $bn_st)
;; @use BN_BWD(bn_bwd4 | v128.load | v128.store)
;; @use BN_BWD(bn_bwdp | call $bn_ld | call $bn_st)

;; Columns [0, cols) of the forward; n >= 1. Pointers in bytes, at the first column.
(func (export "bn_fwd") (param $x i32) (param $g i32) (param $b i32) (param $y i32) (param $mean i32)
    (param $var i32) (param $n i32) (param $cols i32) (param $stride i32) (param $eps f32)
  (local $j i32) (local $o i32) (local $veps v128)
  (local.set $veps (f32x4.splat (local.get $eps)))
  (block $done (loop $l
    (br_if $done (i32.ge_u (local.get $j) (local.get $cols)))
    (local.set $o (i32.shl (local.get $j) (i32.const 2)))
    (if (i32.ge_u (i32.sub (local.get $cols) (local.get $j)) (i32.const 4))
      (then (call $bn_fwd4
        (i32.add (local.get $x) (local.get $o)) (i32.add (local.get $g) (local.get $o))
        (i32.add (local.get $b) (local.get $o)) (i32.add (local.get $y) (local.get $o))
        (i32.add (local.get $mean) (local.get $o)) (i32.add (local.get $var) (local.get $o))
        (local.get $n) (local.get $stride) (local.get $veps)))
      (else
        (global.set $bn_lanes (i32.sub (local.get $cols) (local.get $j)))
        (call $bn_fwdp
        (i32.add (local.get $x) (local.get $o)) (i32.add (local.get $g) (local.get $o))
        (i32.add (local.get $b) (local.get $o)) (i32.add (local.get $y) (local.get $o))
        (i32.add (local.get $mean) (local.get $o)) (i32.add (local.get $var) (local.get $o))
        (local.get $n) (local.get $stride) (local.get $veps))))
    (local.set $j (i32.add (local.get $j) (i32.const 4)))
    (br $l))))

;; Columns [0, cols) of the backward: upstream gr and x [n, ·], γ; writes dx, dγ, dβ.
(func (export "bn_bwd") (param $gr i32) (param $x i32) (param $g i32) (param $dx i32) (param $dg i32)
    (param $db i32) (param $n i32) (param $cols i32) (param $stride i32) (param $eps f32)
  (local $j i32) (local $o i32) (local $veps v128)
  (local.set $veps (f32x4.splat (local.get $eps)))
  (block $done (loop $l
    (br_if $done (i32.ge_u (local.get $j) (local.get $cols)))
    (local.set $o (i32.shl (local.get $j) (i32.const 2)))
    (if (i32.ge_u (i32.sub (local.get $cols) (local.get $j)) (i32.const 4))
      (then (call $bn_bwd4
        (i32.add (local.get $gr) (local.get $o)) (i32.add (local.get $x) (local.get $o))
        (i32.add (local.get $g) (local.get $o)) (i32.add (local.get $dx) (local.get $o))
        (i32.add (local.get $dg) (local.get $o)) (i32.add (local.get $db) (local.get $o))
        (local.get $n) (local.get $stride) (local.get $veps)))
      (else
        (global.set $bn_lanes (i32.sub (local.get $cols) (local.get $j)))
        (call $bn_bwdp
        (i32.add (local.get $gr) (local.get $o)) (i32.add (local.get $x) (local.get $o))
        (i32.add (local.get $g) (local.get $o)) (i32.add (local.get $dx) (local.get $o))
        (i32.add (local.get $dg) (local.get $o)) (i32.add (local.get $db) (local.get $o))
        (local.get $n) (local.get $stride) (local.get $veps))))
    (local.set $j (i32.add (local.get $j) (i32.const 4)))
    (br $l))))
