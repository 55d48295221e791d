;; Reductions (sum, max, min), float32.
;;   red_all_NAME(x, n) -> f32         op over x[0..n)
;;   red_rows_NAME(x, rows, cols, out)  out[r] = op over row r      (reduce the last axis)
;;   red_cols_NAME(x, rows, cols, out)  out[c] = op over column c   (reduce the first axis)
;; red_all keeps 16 partial results (four vectors) for instruction-level parallelism, so a
;; sum's rounding differs from a sequential sum (it is usually more accurate). red_cols adds
;; rows in order, exactly like the js reference. max/min propagate NaN.
;; @define REDUCE(NAME | VOP | SOP | INIT)
(func $red_all_{{NAME}} (export "red_all_{{NAME}}") (param $x i32) (param $n i32) (result f32)
  (local $end i32) (local $s f32)
  (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
  (local.set $a0 (f32x4.splat (f32.const {{INIT}})))
  (local.set $a1 (local.get $a0))
  (local.set $a2 (local.get $a0))
  (local.set $a3 (local.get $a0))
  (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -16)) (i32.const 2))))
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $x) (local.get $end)))
    (local.set $a0 ({{VOP}} (local.get $a0) (v128.load (local.get $x))))
    (local.set $a1 ({{VOP}} (local.get $a1) (v128.load offset=16 (local.get $x))))
    (local.set $a2 ({{VOP}} (local.get $a2) (v128.load offset=32 (local.get $x))))
    (local.set $a3 ({{VOP}} (local.get $a3) (v128.load offset=48 (local.get $x))))
    (local.set $x (i32.add (local.get $x) (i32.const 64)))
    (br $l)))
  (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 12)) (i32.const 2))))
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $x) (local.get $end)))
    (local.set $a0 ({{VOP}} (local.get $a0) (v128.load (local.get $x))))
    (local.set $x (i32.add (local.get $x) (i32.const 16)))
    (br $l)))
  (local.set $a0 ({{VOP}} ({{VOP}} (local.get $a0) (local.get $a1)) ({{VOP}} (local.get $a2) (local.get $a3))))
  (local.set $s
    ({{SOP}}
      ({{SOP}} (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
      ({{SOP}} (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))
  (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $x) (local.get $end)))
    (local.set $s ({{SOP}} (local.get $s) (f32.load (local.get $x))))
    (local.set $x (i32.add (local.get $x) (i32.const 4)))
    (br $l)))
  (local.get $s))

(func (export "red_rows_{{NAME}}") (param $x i32) (param $rows i32) (param $cols i32) (param $o i32)
  (local $r i32) (local $rowBytes i32)
  (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $r) (local.get $rows)))
    (f32.store (local.get $o) (call $red_all_{{NAME}} (local.get $x) (local.get $cols)))
    (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
    (local.set $o (i32.add (local.get $o) (i32.const 4)))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $l))))

(func (export "red_cols_{{NAME}}") (param $x i32) (param $rows i32) (param $cols i32) (param $o i32)
  (local $r i32) (local $p i32) (local $q i32) (local $vend i32) (local $end i32)
  (local.set $end (i32.add (local.get $o) (i32.shl (local.get $cols) (i32.const 2))))
  (local.set $vend (i32.add (local.get $o) (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2))))
  ;; out = INIT
  (local.set $q (local.get $o))
  (block $d (loop $l
    (br_if $d (i32.ge_u (local.get $q) (local.get $end)))
    (f32.store (local.get $q) (f32.const {{INIT}}))
    (local.set $q (i32.add (local.get $q) (i32.const 4)))
    (br $l)))
  ;; out = op(out, row r), rows in order
  (local.set $p (local.get $x))
  (block $rd (loop $rl
    (br_if $rd (i32.ge_u (local.get $r) (local.get $rows)))
    (local.set $q (local.get $o))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $q) (local.get $vend)))
      (v128.store (local.get $q) ({{VOP}} (v128.load (local.get $q)) (v128.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $q (i32.add (local.get $q) (i32.const 16)))
      (br $l)))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $q) (local.get $end)))
      (f32.store (local.get $q) ({{SOP}} (f32.load (local.get $q)) (f32.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (local.set $q (i32.add (local.get $q) (i32.const 4)))
      (br $l)))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $rl))))
;; @end

;; @use REDUCE(sum | f32x4.add | f32.add | 0)
;; @use REDUCE(max | f32x4.max | f32.max | -inf)
;; @use REDUCE(min | f32x4.min | f32.min | inf)
