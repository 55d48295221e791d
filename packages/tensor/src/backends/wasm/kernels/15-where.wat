;; where(c, a, b) for float32 when each operand is full-size or a scalar (the masking gradient
;; rules' where(mask, g, 0)): out[i] = c[i] != 0 ? a[i] : b[i], four lanes at a time with
;; v128.bitselect. sc, sa, sb are 1 for a full-size operand and 0 for a scalar. NaN != 0,
;; so a NaN condition picks a, as in the js reference.

;; A scalar operand is copied into four lanes of the scratch area at `slot` and read from
;; there with stride 0, so the loop below loads every operand the same way.
(func $where_operand (param $p i32) (param $full i32) (param $slot i32) (result i32)
  (if (result i32) (local.get $full)
    (then (local.get $p))
    (else
      (v128.store (local.get $slot) (f32x4.splat (f32.load (local.get $p))))
      (local.get $slot))))

(func (export "where_sel")
  (param $c i32) (param $a i32) (param $b i32) (param $o i32) (param $n i32)
  (param $sc i32) (param $sa i32) (param $sb i32)
  (local $i i32) (local $end i32) (local $vc i32) (local $va i32) (local $vb i32)
  (local $dc i32) (local $da i32) (local $db i32)
  (local.set $end (i32.and (local.get $n) (i32.const -4)))
  (local.set $vc (call $where_operand (local.get $c) (local.get $sc) (i32.const 256)))
  (local.set $va (call $where_operand (local.get $a) (local.get $sa) (i32.const 272)))
  (local.set $vb (call $where_operand (local.get $b) (local.get $sb) (i32.const 288)))
  (local.set $dc (i32.shl (local.get $sc) (i32.const 4)))
  (local.set $da (i32.shl (local.get $sa) (i32.const 4)))
  (local.set $db (i32.shl (local.get $sb) (i32.const 4)))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (local.get $o)
        (v128.bitselect
          (v128.load (local.get $va))
          (v128.load (local.get $vb))
          (f32x4.ne (v128.load (local.get $vc)) (v128.const i32x4 0 0 0 0))))
      (local.set $vc (i32.add (local.get $vc) (local.get $dc)))
      (local.set $va (i32.add (local.get $va) (local.get $da)))
      (local.set $vb (i32.add (local.get $vb) (local.get $db)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next)))
  (local.set $c (local.get $vc))
  (local.set $a (local.get $va))
  (local.set $b (local.get $vb))
;; the last n % 4 elements, one at a time
  (block $tail_done
    (loop $tail
      (br_if $tail_done (i32.ge_u (local.get $i) (local.get $n)))
      (f32.store (local.get $o)
        (select
          (f32.load (local.get $a))
          (f32.load (local.get $b))
          (f32.ne (f32.load (local.get $c)) (f32.const 0))))
      (local.set $c (i32.add (local.get $c) (i32.shl (local.get $sc) (i32.const 2))))
      (local.set $a (i32.add (local.get $a) (i32.shl (local.get $sa) (i32.const 2))))
      (local.set $b (i32.add (local.get $b) (i32.shl (local.get $sb) (i32.const 2))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $tail))))
