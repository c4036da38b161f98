"""Explicit SIMD lane vectors for numba kernels: W = 8 float64 (or int64) values in one LLVM vector.

numba has no vector type and its loop vectoriser gives up on the lane loops of the DTW engine
(aliasing between the DP rows), so these intrinsics emit ``<8 x double>`` IR directly. Every
operation is the IEEE float64 operation applied lane by lane (no fast-math, no FMA contraction),
so a lane computes exactly what the scalar code computes.

Arrays are addressed by a flat element offset into a C-contiguous array (any rank).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

W = 8  # lanes per vector

_F = ir.VectorType(ir.DoubleType(), W)
_I = ir.VectorType(ir.IntType(64), W)


class F64xW(types.Type):
    """W float64 lanes (an LLVM vector value)."""

    def __init__(self):
        super().__init__(name=f"float64x{W}")


class I64xW(types.Type):
    """W int64 lanes (an LLVM vector value)."""

    def __init__(self):
        super().__init__(name=f"int64x{W}")


f64xw = F64xW()
i64xw = I64xW()


@register_model(F64xW)
class _FModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _F)


@register_model(I64xW)
class _IModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _I)


def _ptr(context, builder, aty, arr, off, vty):
    data = context.make_array(aty)(context, builder, arr).data
    p = builder.gep(data, [off])
    return builder.bitcast(p, vty.as_pointer())


@intrinsic
def vload(typingctx, arr, off):
    """W consecutive elements of a float64 or int64 C array from element ``off``."""
    if not (isinstance(arr, types.Array) and arr.layout == "C"):
        return None
    if arr.dtype == types.float64:
        ret, vty = f64xw, _F
    elif arr.dtype == types.int64:
        ret, vty = i64xw, _I
    else:
        return None

    def codegen(context, builder, sig, args):
        p = _ptr(context, builder, sig.args[0], args[0], args[1], vty)
        return builder.load(p, align=8)

    return ret(arr, off), codegen


@intrinsic
def vstore(typingctx, arr, off, v):
    """Store W lanes at element ``off`` of a float64 C array."""
    if not (isinstance(arr, types.Array) and arr.layout == "C" and arr.dtype == types.float64
            and v == f64xw):
        return None

    def codegen(context, builder, sig, args):
        p = _ptr(context, builder, sig.args[0], args[0], args[1], _F)
        builder.store(args[2], p, align=8)
        return context.get_dummy_value()

    return types.none(arr, off, v), codegen


@intrinsic
def vsplat(typingctx, x):
    """W copies of a float."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, sig, args):
        v = context.cast(builder, args[0], sig.args[0], types.float64)
        vec = ir.Constant(_F, ir.Undefined)
        for lane in range(W):
            vec = builder.insert_element(vec, v, ir.Constant(ir.IntType(32), lane))
        return vec

    return f64xw(x), codegen


def _binary(op):
    @intrinsic
    def fn(typingctx, a, b):
        if a != f64xw or b != f64xw:
            return None

        def codegen(context, builder, sig, args):
            x, y = args
            if op == "min":  # x < y ? x : y, as the scalar code writes it
                return builder.select(builder.fcmp_ordered("<", x, y), x, y)
            return getattr(builder, op)(x, y)

        return f64xw(a, b), codegen

    return fn


vadd = _binary("fadd")
vsub = _binary("fsub")
vmul = _binary("fmul")
vmin = _binary("min")


@intrinsic
def vsqrt(typingctx, a):
    """Correctly rounded sqrt per lane (the same value as ``np.sqrt``)."""
    if a != f64xw:
        return None

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_F, [_F]),
                                            f"llvm.sqrt.v{W}f64")
        return builder.call(fn, [args[0]])

    return f64xw(a), codegen


@intrinsic
def vpopxor(typingctx, a, b):
    """float64(popcount(a ^ b)) per lane."""
    if a != i64xw or b != i64xw:
        return None

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_I, [_I]),
                                            f"llvm.ctpop.v{W}i64")
        return builder.sitofp(builder.call(fn, [builder.xor(args[0], args[1])]), _F)

    return f64xw(a, b), codegen


@intrinsic
def vall_gt(typingctx, a, b):
    """True when every lane of a is greater than the same lane of b."""
    if a != f64xw or b != f64xw:
        return None

    def codegen(context, builder, sig, args):
        m = builder.fcmp_ordered(">", args[0], args[1])
        bits = builder.bitcast(m, ir.IntType(W))
        return builder.icmp_unsigned("==", bits, ir.Constant(ir.IntType(W), (1 << W) - 1))

    return types.boolean(a, b), codegen


@intrinsic
def vlane(typingctx, a, lane):
    """Lane ``lane`` of a as a float."""
    if a != f64xw or not isinstance(lane, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return builder.extract_element(args[0], args[1])

    return types.float64(a, lane), codegen
