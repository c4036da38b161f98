"""Float32 SIMD lane vectors for the numba DTW bound kernel: W32 float32 (or int32) values in one
LLVM vector, one machine register: 16 where the CPU has AVX-512, else 8 (AVX2).

The float64 counterpart is ``reactbench.metrics.simd_lanes``; these are the same operations on
half-width lanes, so one instruction covers twice as many alignments as there. Every operation
is the IEEE float32 operation applied lane by lane, with one rounding each (``fma32`` rounds
once). Arrays are addressed by a flat element offset into a C-contiguous array of any rank.
numba's cache keeps compiled kernels per CPU model and features, so a cache shared between
machines never mixes the two widths.
"""

from __future__ import annotations

from llvmlite import ir
from llvmlite.binding import get_host_cpu_features
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model


def _lanes() -> int:
    """Lanes per vector: one register of the host CPU (numba compiles for the host)."""
    try:
        return 16 if get_host_cpu_features().get("avx512f") else 8
    except RuntimeError:  # llvmlite cannot read the features on this host
        return 8


W32 = _lanes()  # lanes per vector

_F = ir.VectorType(ir.FloatType(), W32)
_I = ir.VectorType(ir.IntType(32), W32)


class F32xW(types.Type):
    """W32 float32 lanes (an LLVM vector value)."""

    def __init__(self):
        super().__init__(name=f"float32x{W32}")


class I32xW(types.Type):
    """W32 int32 lanes (an LLVM vector value)."""

    def __init__(self):
        super().__init__(name=f"int32x{W32}")


f32xw = F32xW()
i32xw = I32xW()


@register_model(F32xW)
class _FModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _F)


@register_model(I32xW)
class _IModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _I)


def _ptr(context, builder, aty, arr, off, vty):
    data = context.make_array(aty)(context, builder, arr).data
    return builder.bitcast(builder.gep(data, [off]), vty.as_pointer())


@intrinsic
def load32(typingctx, arr, off):
    """W32 consecutive elements of a float32 or int32 C array from element ``off``."""
    if not (isinstance(arr, types.Array) and arr.layout == "C"):
        return None
    if arr.dtype == types.float32:
        ret, vty = f32xw, _F
    elif arr.dtype == types.int32:
        ret, vty = i32xw, _I
    else:
        return None

    def codegen(context, builder, sig, args):
        return builder.load(_ptr(context, builder, sig.args[0], args[0], args[1], vty), align=4)

    return ret(arr, off), codegen


@intrinsic
def store32(typingctx, arr, off, v):
    """Store W32 float32 (int32) lanes at element ``off`` of a float32 (int32) C array."""
    if not (isinstance(arr, types.Array) and arr.layout == "C"):
        return None
    if arr.dtype == types.float32 and v == f32xw:
        vty = _F
    elif arr.dtype == types.int32 and v == i32xw:
        vty = _I
    else:
        return None

    def codegen(context, builder, sig, args):
        builder.store(args[2], _ptr(context, builder, sig.args[0], args[0], args[1], vty),
                      align=4)
        return context.get_dummy_value()

    return types.none(arr, off, v), codegen


@intrinsic
def splat32(typingctx, x):
    """W32 copies of a number, rounded to float32."""
    if not isinstance(x, (types.Float, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        v = context.cast(builder, args[0], sig.args[0], types.float32)
        vec = ir.Constant(_F, ir.Undefined)
        for lane in range(W32):
            vec = builder.insert_element(vec, v, ir.Constant(ir.IntType(32), lane))
        return vec

    return f32xw(x), codegen


def _binary(op):
    @intrinsic
    def fn(typingctx, a, b):
        if a != f32xw or b != f32xw:
            return None

        def codegen(context, builder, sig, args):
            x, y = args
            if op == "min":  # x < y ? x : y, as the scalar code writes it
                return builder.select(builder.fcmp_ordered("<", x, y), x, y)
            if op == "max":  # x > y ? x : y
                return builder.select(builder.fcmp_ordered(">", x, y), x, y)
            return getattr(builder, op)(x, y)

        return f32xw(a, b), codegen

    return fn


add32 = _binary("fadd")
sub32 = _binary("fsub")
mul32 = _binary("fmul")
min32 = _binary("min")
max32 = _binary("max")


@intrinsic
def fma32(typingctx, a, b, c):
    """a * b + c per lane with a single rounding (``llvm.fma``)."""
    if a != f32xw or b != f32xw or c != f32xw:
        return None

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_F, [_F, _F, _F]),
                                            f"llvm.fma.v{W32}f32")
        return builder.call(fn, list(args))

    return f32xw(a, b, c), codegen


@intrinsic
def pack16(typingctx, lo, hi):
    """lo | (hi << 16) per int32 lane: two 15-bit AU masks in one lane."""
    if lo != i32xw or hi != i32xw:
        return None

    def codegen(context, builder, sig, args):
        return builder.or_(args[0], builder.shl(args[1], ir.Constant(_I, [16] * W32)))

    return i32xw(lo, hi), codegen


@intrinsic
def popxor16(typingctx, a, b):
    """Popcount of a ^ b in each 16-bit half of each int32 lane: with ``pack16`` masks, the AU
    costs of two rows in one operation. With AVX2 (W32 = 8) the byte counts (``llvm.ctpop``
    on bytes, a table lookup) are summed in pairs by one ``pmaddubsw``; otherwise
    ``llvm.ctpop`` on 16-bit lanes."""
    if a != i32xw or b != i32xw:
        return None
    h = ir.VectorType(ir.IntType(16), 2 * W32)
    c = ir.VectorType(ir.IntType(8), 4 * W32)

    def codegen(context, builder, sig, args):
        x = builder.xor(args[0], args[1])
        if W32 != 8:
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(h, [h]),
                                                f"llvm.ctpop.v{2 * W32}i16")
            return builder.bitcast(builder.call(fn, [builder.bitcast(x, h)]), _I)
        pop = cgutils.get_or_insert_function(builder.module, ir.FunctionType(c, [c]),
                                             "llvm.ctpop.v32i8")
        mad = cgutils.get_or_insert_function(builder.module, ir.FunctionType(h, [c, c]),
                                             "llvm.x86.avx2.pmadd.ub.sw")
        ones = ir.Constant(c, [1] * (4 * W32))
        return builder.bitcast(builder.call(mad, [builder.call(pop, [builder.bitcast(x, c)]),
                                                  ones]), _I)

    return i32xw(a, b), codegen


@intrinsic
def low16f(typingctx, a):
    """float32 of the low 16 bits of each int32 lane."""
    if a != i32xw:
        return None

    def codegen(context, builder, sig, args):
        return builder.sitofp(builder.and_(args[0], ir.Constant(_I, [0xFFFF] * W32)), _F)

    return f32xw(a), codegen


@intrinsic
def high16f(typingctx, a):
    """float32 of the high 16 bits of each int32 lane (as unsigned)."""
    if a != i32xw:
        return None

    def codegen(context, builder, sig, args):
        return builder.sitofp(builder.lshr(args[0], ir.Constant(_I, [16] * W32)), _F)

    return f32xw(a), codegen


@intrinsic
def lane32(typingctx, a, lane):
    """Lane ``lane`` of a as a float32."""
    if a != f32xw or not isinstance(lane, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return builder.extract_element(args[0], args[1])

    return types.float32(a, lane), codegen


# ---------------------------------------------------------------- 2 W32 uint16 lanes
# An int32 vector read as 2 W32 unsigned 16-bit lanes (int32 element j holds lanes 2j, low
# half, and 2j + 1, high half): exact integer DTW of binary AU costs, twice the lanes.
_H = ir.VectorType(ir.IntType(16), 2 * W32)


@intrinsic
def splat16(typingctx, x):
    """2 W32 copies of the low 16 bits of an integer."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        v = builder.trunc(args[0], ir.IntType(16))
        vec = ir.Constant(_H, ir.Undefined)
        for lane in range(2 * W32):
            vec = builder.insert_element(vec, v, ir.Constant(ir.IntType(32), lane))
        return builder.bitcast(vec, _I)

    return i32xw(x), codegen


@intrinsic
def addsat16(typingctx, a, b):
    """a + b per uint16 lane, saturating at 65535 (``llvm.uadd.sat``): never above the sum."""
    if a != i32xw or b != i32xw:
        return None

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_H, [_H, _H]),
                                            f"llvm.uadd.sat.v{2 * W32}i16")
        x, y = (builder.bitcast(v, _H) for v in args)
        return builder.bitcast(builder.call(fn, [x, y]), _I)

    return i32xw(a, b), codegen


@intrinsic
def min16(typingctx, a, b):
    """min(a, b) per uint16 lane."""
    if a != i32xw or b != i32xw:
        return None

    def codegen(context, builder, sig, args):
        x, y = (builder.bitcast(v, _H) for v in args)
        return builder.bitcast(builder.select(builder.icmp_unsigned("<", x, y), x, y), _I)

    return i32xw(a, b), codegen


@intrinsic
def lane16(typingctx, a, lane):
    """uint16 lane ``lane`` (0 <= lane < 2 W32) of a, as an int64."""
    if a != i32xw or not isinstance(lane, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        v = builder.extract_element(builder.bitcast(args[0], _H), args[1])
        return builder.zext(v, ir.IntType(64))

    return types.int64(a, lane), codegen
