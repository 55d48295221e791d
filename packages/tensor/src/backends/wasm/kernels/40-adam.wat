;; The fused Adam / AdamW / AMSGrad step, float32 (see adamUpdate in ops.ts and the js
;; reference). The same formulas in the same order, in float32 instead of the reference's
;; float64 intermediates. The multiply-adds of the L2 term and the two moments are
;; relaxed_madd: fused in the `fma` build, a mul and an add in the `simd` build. The last n % 4 elements are copied to scratch at bytes 640..784,
;; run through the same vector body and copied back.

;; count vectors: p, g, m, v (and vmax when ams) -> pOut, mOut, vOut (and vmaxOut).
(func $adam_body
  (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $vx i32)
  (param $po i32) (param $mo i32) (param $vo i32) (param $vxo i32) (param $count i32)
  (param $lr f32) (param $b1 f32) (param $omb1 f32) (param $b2 f32) (param $omb2 f32) (param $eps f32)
  (param $wd f32) (param $lrwd f32) (param $decoupled i32) (param $ams i32) (param $bc1 f32) (param $bc2 f32)
  (local $i i32) (local $off i32) (local $hasWd i32)
  (local $w v128) (local $gi v128) (local $mi v128) (local $vi v128) (local $vh v128)
  (local $vlr v128) (local $vb1 v128) (local $vomb1 v128) (local $vb2 v128) (local $vomb2 v128)
  (local $veps v128) (local $vwd v128) (local $vlrwd v128) (local $vbc1 v128) (local $vbc2 v128)
  (local.set $hasWd (f32.ne (local.get $wd) (f32.const 0)))
  (local.set $vlr (f32x4.splat (local.get $lr)))
  (local.set $vb1 (f32x4.splat (local.get $b1)))
  (local.set $vomb1 (f32x4.splat (local.get $omb1)))
  (local.set $vb2 (f32x4.splat (local.get $b2)))
  (local.set $vomb2 (f32x4.splat (local.get $omb2)))
  (local.set $veps (f32x4.splat (local.get $eps)))
  (local.set $vwd (f32x4.splat (local.get $wd)))
  (local.set $vlrwd (f32x4.splat (local.get $lrwd)))
  (local.set $vbc1 (f32x4.splat (local.get $bc1)))
  (local.set $vbc2 (f32x4.splat (local.get $bc2)))
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $i) (local.get $count)))
    (local.set $off (i32.shl (local.get $i) (i32.const 4)))
    (local.set $w (v128.load (i32.add (local.get $p) (local.get $off))))
    (local.set $gi (v128.load (i32.add (local.get $g) (local.get $off))))
    (if (local.get $hasWd)
      (then
        (if (local.get $decoupled)
          ;; AdamW: w -= lr*wd*w
          (then (local.set $w (f32x4.sub (local.get $w) (f32x4.mul (local.get $vlrwd) (local.get $w)))))
          ;; L2: g += wd*w
          (else (local.set $gi (f32x4.relaxed_madd (local.get $vwd) (local.get $w) (local.get $gi)))))))
    ;; m = b1*m + (1-b1)*g ; v = b2*v + (1-b2)*g*g
    (local.set $mi (f32x4.relaxed_madd
      (local.get $vb1) (v128.load (i32.add (local.get $m) (local.get $off)))
      (f32x4.mul (local.get $vomb1) (local.get $gi))))
    (local.set $vi (f32x4.relaxed_madd
      (local.get $vb2) (v128.load (i32.add (local.get $v) (local.get $off)))
      (f32x4.mul (f32x4.mul (local.get $vomb2) (local.get $gi)) (local.get $gi))))
    (v128.store (i32.add (local.get $mo) (local.get $off)) (local.get $mi))
    (v128.store (i32.add (local.get $vo) (local.get $off)) (local.get $vi))
    (local.set $vh (local.get $vi))
    (if (local.get $ams)
      (then
        (local.set $vh (f32x4.max (v128.load (i32.add (local.get $vx) (local.get $off))) (local.get $vi)))
        (v128.store (i32.add (local.get $vxo) (local.get $off)) (local.get $vh))))
    ;; p = w - lr*(m/bc1) / (sqrt(vhat/bc2) + eps)
    (v128.store (i32.add (local.get $po) (local.get $off))
      (f32x4.sub (local.get $w)
        (f32x4.div
          (f32x4.mul (local.get $vlr) (f32x4.div (local.get $mi) (local.get $vbc1)))
          (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vh) (local.get $vbc2))) (local.get $veps)))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $l))))

;; Copy n floats.
(func $copy_f32 (param $from i32) (param $to i32) (param $n i32)
  (memory.copy (local.get $to) (local.get $from) (i32.shl (local.get $n) (i32.const 2))))

(func (export "adam")
  (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $vx i32)
  (param $po i32) (param $mo i32) (param $vo i32) (param $vxo i32) (param $n i32)
  (param $lr f32) (param $b1 f32) (param $omb1 f32) (param $b2 f32) (param $omb2 f32) (param $eps f32)
  (param $wd f32) (param $lrwd f32) (param $decoupled i32) (param $ams i32) (param $bc1 f32) (param $bc2 f32)
  (local $full i32) (local $tail i32) (local $off i32)
  (local.set $tail (i32.and (local.get $n) (i32.const 3)))
  (local.set $full (i32.shr_u (local.get $n) (i32.const 2)))
  (call $adam_body (local.get $p) (local.get $g) (local.get $m) (local.get $v) (local.get $vx)
    (local.get $po) (local.get $mo) (local.get $vo) (local.get $vxo) (local.get $full)
    (local.get $lr) (local.get $b1) (local.get $omb1) (local.get $b2) (local.get $omb2) (local.get $eps)
    (local.get $wd) (local.get $lrwd) (local.get $decoupled) (local.get $ams) (local.get $bc1) (local.get $bc2))
  (if (local.get $tail)
    (then
      (local.set $off (i32.shl (local.get $full) (i32.const 4)))
      (memory.fill (i32.const 640) (i32.const 0) (i32.const 144))
      (call $copy_f32 (i32.add (local.get $p) (local.get $off)) (i32.const 640) (local.get $tail))
      (call $copy_f32 (i32.add (local.get $g) (local.get $off)) (i32.const 656) (local.get $tail))
      (call $copy_f32 (i32.add (local.get $m) (local.get $off)) (i32.const 672) (local.get $tail))
      (call $copy_f32 (i32.add (local.get $v) (local.get $off)) (i32.const 688) (local.get $tail))
      (if (local.get $ams)
        (then (call $copy_f32 (i32.add (local.get $vx) (local.get $off)) (i32.const 704) (local.get $tail))))
      (call $adam_body (i32.const 640) (i32.const 656) (i32.const 672) (i32.const 688) (i32.const 704)
        (i32.const 720) (i32.const 736) (i32.const 752) (i32.const 768) (i32.const 1)
        (local.get $lr) (local.get $b1) (local.get $omb1) (local.get $b2) (local.get $omb2) (local.get $eps)
        (local.get $wd) (local.get $lrwd) (local.get $decoupled) (local.get $ams) (local.get $bc1) (local.get $bc2))
      (call $copy_f32 (i32.const 720) (i32.add (local.get $po) (local.get $off)) (local.get $tail))
      (call $copy_f32 (i32.const 736) (i32.add (local.get $mo) (local.get $off)) (local.get $tail))
      (call $copy_f32 (i32.const 752) (i32.add (local.get $vo) (local.get $off)) (local.get $tail))
      (if (local.get $ams)
        (then (call $copy_f32 (i32.const 768) (i32.add (local.get $vxo) (local.get $off)) (local.get $tail)))))))
