;; lerp: o = (1 - t)*a + t*b for n float32 elements (Polyak averaging of target networks);
;; exact at t = 0 and t = 1. Four lanes at a time, then a scalar tail.
(func (export "lerp") (param $a i32) (param $b i32) (param $o i32) (param $n i32) (param $t f32)
  (local $i i32) (local $off i32) (local $vec i32) (local $vt v128) (local $vs v128) (local $s f32)
  (local.set $s (f32.sub (f32.const 1) (local.get $t)))
  (local.set $vt (f32x4.splat (local.get $t)))
  (local.set $vs (f32x4.splat (local.get $s)))
  (local.set $vec (i32.and (local.get $n) (i32.const -4)))
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $i) (local.get $vec)))
    (local.set $off (i32.shl (local.get $i) (i32.const 2)))
    (v128.store (i32.add (local.get $o) (local.get $off))
      (f32x4.add
        (f32x4.mul (local.get $vs) (v128.load (i32.add (local.get $a) (local.get $off))))
        (f32x4.mul (local.get $vt) (v128.load (i32.add (local.get $b) (local.get $off))))))
    (local.set $i (i32.add (local.get $i) (i32.const 4)))
    (br $l)))
  (block $d2 (loop $l2
    (br_if $d2 (i32.ge_u (local.get $i) (local.get $n)))
    (local.set $off (i32.shl (local.get $i) (i32.const 2)))
    (f32.store (i32.add (local.get $o) (local.get $off))
      (f32.add
        (f32.mul (local.get $s) (f32.load (i32.add (local.get $a) (local.get $off))))
        (f32.mul (local.get $t) (f32.load (i32.add (local.get $b) (local.get $off))))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $l2)))
)
