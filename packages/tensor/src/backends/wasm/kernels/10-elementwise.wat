;; Elementwise kernels, float32, four lanes at a time; the last n % 4 elements go through
;; $load_partial / $store_partial so every op has one vector expression and no scalar copy.

;; ---------------------------------------------------------------- unary
;; un_NAME(x, out, n, p0, p1): out[i] = f(x[i]) for i < n. EXPR reads (local.get $v);
;; p0 and p1 are op parameters (clip's bounds), ignored by the others.
;; @define UNARY(NAME | EXPR)
(func (export "un_{{NAME}}") (param $x i32) (param $o i32) (param $n i32) (param $p0 f32) (param $p1 f32)
  (local $end i32) (local $v v128) (local $tail i32)
  (local.set $tail (i32.and (local.get $n) (i32.const 3)))
  (local.set $end (i32.add (local.get $x) (i32.shl (i32.sub (local.get $n) (local.get $tail)) (i32.const 2))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $v (v128.load (local.get $x)))
      (v128.store (local.get $o) {{EXPR}})
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next)))
  (if (local.get $tail)
    (then
      (local.set $v (call $load_partial (local.get $x) (local.get $tail)))
      (call $store_partial (local.get $o) {{EXPR}} (local.get $tail)))))
;; @end

;; @use UNARY(neg | (f32x4.neg (local.get $v)))
;; @use UNARY(abs | (f32x4.abs (local.get $v)))
;; @use UNARY(sqrt | (f32x4.sqrt (local.get $v)))
;; @use UNARY(square | (f32x4.mul (local.get $v) (local.get $v)))
;; @use UNARY(reciprocal | (f32x4.div (v128.const f32x4 1 1 1 1) (local.get $v)))
;; max(x, +0): NaN stays NaN and -0 becomes +0, as in the js reference.
;; @use UNARY(relu | (f32x4.max (local.get $v) (v128.const i32x4 0 0 0 0)))
;; @use UNARY(clip | (f32x4.min (f32x4.max (local.get $v) (f32x4.splat (local.get $p0))) (f32x4.splat (local.get $p1))))
;; sign: 1 where x > 0, -1 where x < 0, else +0 (NaN included, as PyTorch and tfjs give).
;; @use UNARY(sign | (v128.or (v128.and (f32x4.gt (local.get $v) (v128.const i32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)) (v128.and (f32x4.lt (local.get $v) (v128.const i32x4 0 0 0 0)) (v128.const f32x4 -1 -1 -1 -1))))
;; @use UNARY(exp | (call $exp4 (local.get $v)))
;; @use UNARY(tanh | (call $tanh4 (local.get $v)))
;; @use UNARY(sigmoid | (call $sigmoid4 (local.get $v)))

;; ---------------------------------------------------------------- binary
;; bin_NAME(a, aRowStride, aCols, b, bRowStride, bCols, out, rows, cols): for r < rows and
;; c < cols, out[r*cols + c] = f(A(r, c), B(r, c)) where A(r, c) is a + r*aRowStride + 4c
;; when aCols is 1 and the float at a + r*aRowStride (broadcast along the row) when aCols is
;; 0; likewise B. With rows = 1 this covers equal shapes and scalars; with rows > 1 the
;; row-broadcast [m,n] op [n] (bRowStride 0) and column-broadcast [m,n] op [m,1] (bCols 0)
;; cases. EXPR combines (local.get $va) and (local.get $vb).
;; @define BINARY(NAME | EXPR)
(func (export "bin_{{NAME}}")
  (param $a i32) (param $ars i32) (param $acs i32)
  (param $b i32) (param $brs i32) (param $bcs i32)
  (param $o i32) (param $rows i32) (param $cols i32)
  (local $i i32) (local $pa i32) (local $pb i32) (local $end i32) (local $tail i32)
  (local $va v128) (local $vb v128)
  (local.set $tail (i32.and (local.get $cols) (i32.const 3)))
  (block $rows_done
    (loop $row
      (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $ars))))
      (local.set $pb (i32.add (local.get $b) (i32.mul (local.get $i) (local.get $brs))))
      (local.set $end
        (i32.add (local.get $o) (i32.shl (i32.sub (local.get $cols) (local.get $tail)) (i32.const 2))))
      (if (i32.eqz (local.get $acs)) (then (local.set $va (v128.load32_splat (local.get $pa)))))
      (if (i32.eqz (local.get $bcs)) (then (local.set $vb (v128.load32_splat (local.get $pb)))))
      (if (i32.and (local.get $acs) (local.get $bcs))
        (then
          (block $d (loop $l
            (br_if $d (i32.ge_u (local.get $o) (local.get $end)))
            (local.set $va (v128.load (local.get $pa)))
            (local.set $vb (v128.load (local.get $pb)))
            (v128.store (local.get $o) {{EXPR}})
            (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
            (local.set $pb (i32.add (local.get $pb) (i32.const 16)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $l))))
        (else
          (if (local.get $acs)
            (then
              (block $d (loop $l
                (br_if $d (i32.ge_u (local.get $o) (local.get $end)))
                (local.set $va (v128.load (local.get $pa)))
                (v128.store (local.get $o) {{EXPR}})
                (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
                (local.set $o (i32.add (local.get $o) (i32.const 16)))
                (br $l))))
            (else
              (if (local.get $bcs)
                (then
                  (block $d (loop $l
                    (br_if $d (i32.ge_u (local.get $o) (local.get $end)))
                    (local.set $vb (v128.load (local.get $pb)))
                    (v128.store (local.get $o) {{EXPR}})
                    (local.set $pb (i32.add (local.get $pb) (i32.const 16)))
                    (local.set $o (i32.add (local.get $o) (i32.const 16)))
                    (br $l))))
                (else
                  (block $d (loop $l
                    (br_if $d (i32.ge_u (local.get $o) (local.get $end)))
                    (v128.store (local.get $o) {{EXPR}})
                    (local.set $o (i32.add (local.get $o) (i32.const 16)))
                    (br $l)))))))))
      (if (local.get $tail)
        (then
          (if (local.get $acs) (then (local.set $va (call $load_partial (local.get $pa) (local.get $tail)))))
          (if (local.get $bcs) (then (local.set $vb (call $load_partial (local.get $pb) (local.get $tail)))))
          (call $store_partial (local.get $o) {{EXPR}} (local.get $tail))
          (local.set $o (i32.add (local.get $o) (i32.shl (local.get $tail) (i32.const 2))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $row))))
;; @end

;; @use BINARY(add | (f32x4.add (local.get $va) (local.get $vb)))
;; @use BINARY(sub | (f32x4.sub (local.get $va) (local.get $vb)))
;; @use BINARY(mul | (f32x4.mul (local.get $va) (local.get $vb)))
;; @use BINARY(div | (f32x4.div (local.get $va) (local.get $vb)))
;; f32x4.max / f32x4.min propagate NaN and order -0 < +0, like Math.max / Math.min.
;; @use BINARY(maximum | (f32x4.max (local.get $va) (local.get $vb)))
;; @use BINARY(minimum | (f32x4.min (local.get $va) (local.get $vb)))
;; Comparisons: the all-ones lane mask AND 1.0 gives 1 or 0.
;; @use BINARY(equal | (v128.and (f32x4.eq (local.get $va) (local.get $vb)) (v128.const f32x4 1 1 1 1)))
;; @use BINARY(notEqual | (v128.and (f32x4.ne (local.get $va) (local.get $vb)) (v128.const f32x4 1 1 1 1)))
;; @use BINARY(less | (v128.and (f32x4.lt (local.get $va) (local.get $vb)) (v128.const f32x4 1 1 1 1)))
;; @use BINARY(lessEqual | (v128.and (f32x4.le (local.get $va) (local.get $vb)) (v128.const f32x4 1 1 1 1)))
;; @use BINARY(greater | (v128.and (f32x4.gt (local.get $va) (local.get $vb)) (v128.const f32x4 1 1 1 1)))
;; @use BINARY(greaterEqual | (v128.and (f32x4.ge (local.get $va) (local.get $vb)) (v128.const f32x4 1 1 1 1)))
