"""Exact FLOP counts of recorded ops, forward and backward, from their shapes alone.

Three classes of work are kept apart, because only the first is what papers and
``torch.utils.flop_counter`` count:

- **matmul**: matmul, conv2d and the two products of scaled dot-product attention, with
  ``torch.utils.flop_counter``'s conventions: an ``(m, k) @ (k, n)`` product is ``2*m*n*k``
  (a multiply and an add per term), broadcast batch dimensions multiply it, a bias is not part
  of it. The matmul class of a profile equals PyTorch's ``FlopCounterMode.get_total_flops()``
  for the same model.
- **elementwise**: one FLOP per output element forward (add, mul, exp, relu, gelu, where, ...;
  GELU's tanh formula is one FLOP too, by convention, as in most FLOP counters).
- **reduction**: sums, extrema, softmax, normalization and losses; the count per element of
  each op is the constant in :data:`REDUCTIONS` (sum and mean one per input element, softmax
  five: max, subtract, exp, sum, divide).

Shape-only ops (reshape, permute, getitem, cat, cast, embedding lookup, ...) cost nothing.

Backward counts what each gradient rule computes, for the inputs it returned a gradient for
(``RuleEvent.computed``): every matmul-class input gradient is one more product of the forward's
size; an elementwise rule costs the per-element constant of :data:`ELEMENTWISE` for each
computed input; summing a gradient over broadcast dimensions costs one per element summed (the
convention of ``sum``). Attention's backward is the four products its rule computes (dV, dP, dQ,
dK); PyTorch's fused kernels also recompute ``Q @ K^T`` (five products), its math kernel
computes the same four as here.

The per-element constants are conventions, counted from the arithmetic each rule writes, not
measurements of hardware work. An op name the tables do not know counts zero and is listed by
:func:`unknown_ops`, so a new op is never silently miscounted.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from tinytorch.profiling.events import OpEvent, RuleEvent, Shape

__all__ = [
    "ELEMENTWISE",
    "REDUCTIONS",
    "SHAPE_ONLY",
    "Flops",
    "backward_flops",
    "bytes_moved",
    "forward_flops",
    "known_ops",
    "unknown_ops",
]


@dataclass(frozen=True)
class Flops:
    """FLOPs of some work, by class: ``matmul`` (what PyTorch's counter counts),
    ``elementwise`` and ``reduction``.

    Example:
        >>> f = Flops(matmul=24) + Flops(elementwise=8, reduction=2)
        >>> f, f.total
        (Flops(matmul=24, elementwise=8, reduction=2), 34)
    """

    matmul: int = 0
    elementwise: int = 0
    reduction: int = 0

    def __add__(self, other: Flops) -> Flops:
        if not isinstance(other, Flops):
            return NotImplemented
        return Flops(
            self.matmul + other.matmul,
            self.elementwise + other.elementwise,
            self.reduction + other.reduction,
        )

    @property
    def total(self) -> int:
        """All three classes together."""
        return self.matmul + self.elementwise + self.reduction


SHAPE_ONLY: frozenset[str] = frozenset(
    {
        "reshape",
        "permute",
        "expand",
        "getitem",
        "cat",
        "stack",
        "contiguous",
        "clone",
        "cast",
        "narrow",
        "split",
        "tril",
        "triu",
        "embedding",
        "gather",
    }
)
"""Ops that only move or select data: 0 FLOPs forward (see :data:`SCATTER_ADD` for the
backwards that add)."""

# Backwards of shape-only ops that add gradients into place (np.add.at / bincount): one FLOP
# per gradient element scattered, a reduction.
SCATTER_ADD: frozenset[str] = frozenset({"embedding", "gather", "topk"})

ELEMENTWISE: dict[str, int] = {
    # op: backward FLOPs per output element, for each input whose gradient the rule computed
    # (the forward is 1 per output element for all of them).
    "add": 0,  # the gradient passes through
    "sub": 1,  # negated for the subtrahend (counted for either input)
    "mul": 1,  # times the other operand
    "div": 2,
    "neg": 1,
    "pow": 2,  # exponent * x ** (e - 1), times the gradient
    "pow_tensor": 3,
    "exp": 1,  # times the output
    "log": 1,
    "sqrt": 2,
    "abs": 2,
    "clip": 2,
    "square": 2,
    "relu": 2,  # a comparison and a multiply
    "leaky_relu": 2,
    "sigmoid": 3,  # out * (1 - out) * grad
    "tanh": 3,  # (1 - out**2) * grad
    "gelu": 8,  # the derivative of either form, term by term
    "where": 1,
    "masked_fill": 1,
    # module 15's fake quantization: the straight-through gradient is the mask times grad
    "fake_quantize_per_tensor_affine": 1,
    "fake_quantize_per_channel_affine": 1,
}
"""Elementwise ops and the backward FLOPs per output element of each computed input gradient."""

REDUCTIONS: dict[str, tuple[int, int]] = {
    # op: (forward FLOPs per input element, backward FLOPs per input element per computed input)
    "sum": (1, 0),  # backward broadcasts the gradient back
    "mean": (1, 1),  # backward also divides by the count
    "max": (1, 2),  # backward: tie mask and multiply
    "min": (1, 2),
    "topk": (1, 0),  # backward: see SCATTER_ADD
    "var": (3, 3),  # mean, centre, square-and-sum
    "std": (4, 4),  # var and the square root's chain
    "softmax": (5, 4),  # max, subtract, exp, sum, divide; back: y * (g - sum(g * y))
    "log_softmax": (5, 4),  # max, subtract, exp, sum, subtract log-sum; back: g - p * sum(g)
    "mse_loss": (3, 2),  # difference, square, sum; back: 2 * diff * grad
    "cross_entropy": (5, 3),  # log-softmax of the logits, pick and sum; back: softmax - one-hot
    "binary_cross_entropy": (6, 4),
    "binary_cross_entropy_with_logits": (7, 3),
}
"""Reductions: ``(forward, backward)`` FLOPs per element of the first input."""

# Normalizations: forward 5 per element (mean, centre, square-and-sum, scale) plus 1 per affine
# tensor; backward 8 per element for the input, 2 for the weight (product and sum), 1 for the
# bias (sum).
_NORMS = frozenset({"layer_norm", "batch_norm"})
_POOLS = frozenset({"max_pool2d", "avg_pool2d"})
_MATMULS = frozenset({"matmul", "conv2d", "scaled_dot_product_attention"})
# Module 15's integer kernels: an int8 product counted as its float counterpart (2*M*N*K, or
# conv2d's formula); they are inference-only, so their rules run nothing.
_QUANTIZED = frozenset({"quantized_linear", "quantized_conv2d"})
# Module 18's fused ops, each counted as exactly the unfused ops it replaces (so accelerating a
# model changes its time, never its FLOPs): linear = matmul + bias add, linear_gelu = linear +
# gelu, causal_self_attention = the attention op over the packed q/k/v (the getitems and
# reshapes it saves count 0), relu_max_pool2d = max_pool2d(2) + relu.
_FUSED = frozenset({"linear", "linear_gelu", "causal_self_attention", "relu_max_pool2d"})
# Ops that only wrap others: module 17's checkpoint records the ops it runs (in the forward and
# again in the recompute of its backward), so the wrapper itself counts nothing.
_WRAPPERS = frozenset({"checkpoint"})


def known_ops() -> frozenset[str]:
    """Every op name the FLOP tables count (the rest count zero; see :func:`unknown_ops`).

    Example:
        >>> {"matmul", "relu", "reshape", "layer_norm"} <= known_ops()
        True
    """
    return (
        SHAPE_ONLY
        | ELEMENTWISE.keys()
        | REDUCTIONS.keys()
        | _NORMS
        | _POOLS
        | _MATMULS
        | _QUANTIZED
        | _FUSED
        | _WRAPPERS
    )


def unknown_ops(events: Iterable[OpEvent | RuleEvent]) -> list[str]:
    """The sorted op names among ``events`` that the FLOP tables do not know (counted as 0).

    Example:
        >>> e = OpEvent("fancy_op", None, ((2,),), ("float32",), (False,), {}, (2,),
        ...             "float32", 8, 0, 1)
        >>> unknown_ops([e]), forward_flops(e)
        (['fancy_op'], Flops(matmul=0, elementwise=0, reduction=0))
    """
    known = known_ops()
    return sorted({e.op for e in events} - known)


def bytes_moved(e: OpEvent) -> int:
    """Bytes an op reads and writes: its tensor inputs plus its output (for the roofline's
    arithmetic intensity).

    Example:
        >>> e = OpEvent("matmul", None, ((2, 3), (3, 4)), ("float32",) * 2, (False,) * 2, {},
        ...             (2, 4), "float32", 32, 0, 1)
        >>> bytes_moved(e)
        104
    """
    return e.input_bytes + e.out_nbytes


def forward_flops(e: OpEvent) -> Flops:
    """The FLOPs of one op's forward.

    Example:
        >>> e = OpEvent("matmul", None, ((7, 3), (3, 4)), ("float32",) * 2, (False,) * 2, {},
        ...             (7, 4), "float32", 112, 0, 1)
        >>> forward_flops(e)
        Flops(matmul=168, elementwise=0, reduction=0)
    """
    op, shapes, out = e.op, e.input_shapes, _numel(e.out_shape)
    if op in SHAPE_ONLY:
        return Flops()
    if op in ELEMENTWISE:
        return Flops(elementwise=out)
    if op in REDUCTIONS:
        return Flops(reduction=REDUCTIONS[op][0] * _numel(shapes[0]))
    if op == "matmul":
        return Flops(matmul=_matmul(shapes[0], shapes[1]))
    if op == "conv2d":
        bias = out if len(shapes) == 3 else 0
        return Flops(matmul=_conv2d(e), elementwise=bias)
    if op == "scaled_dot_product_attention":
        return _sdpa_forward(e)
    if op == "quantized_linear":  # x (..., K) times the int8 weight (N, K), transposed
        return Flops(matmul=2 * _numel(shapes[0]) * shapes[1][0])
    if op == "quantized_conv2d":
        return Flops(matmul=_conv2d(e))
    if op in _FUSED:
        return _fused(e, None)
    if op in _NORMS:
        return Flops(reduction=(5 + len(shapes) - 1) * _numel(shapes[0]))
    if op in _POOLS:
        window = out * _kernel_area(e)
        return Flops(reduction=window if op == "max_pool2d" else window + out)
    return Flops()


def backward_flops(r: RuleEvent) -> Flops:
    """The FLOPs of one gradient rule, for the inputs it computed a gradient for.

    Example (a Linear layer's matmul, only the weight needing a gradient, then both):
        >>> f = OpEvent("matmul", "fc", ((7, 3), (3, 4)), ("float32",) * 2, (False, True), {},
        ...             (7, 4), "float32", 112, 0, 1)
        >>> backward_flops(RuleEvent(f, (False, True), 0, 1)).matmul
        168
        >>> backward_flops(RuleEvent(f, (True, True), 0, 1)).matmul
        336
    """
    e, computed = r.forward, r.computed
    op, shapes, out = e.op, e.input_shapes, _numel(e.out_shape)
    n_computed = sum(computed)
    if op in SCATTER_ADD:
        return Flops(reduction=out * n_computed)
    if op in SHAPE_ONLY:
        return Flops()
    if op in ELEMENTWISE:
        return Flops(
            elementwise=ELEMENTWISE[op] * out * n_computed,
            reduction=_unbroadcast(shapes, e.out_shape, computed),
        )
    if op in REDUCTIONS:
        return Flops(reduction=REDUCTIONS[op][1] * _numel(shapes[0]) * n_computed)
    if op == "matmul":
        return _matmul_backward(shapes[0], shapes[1], computed)
    if op == "conv2d":
        return _conv2d_backward(e, computed)
    if op == "scaled_dot_product_attention":
        return _sdpa_backward(e, computed)
    if op in _FUSED:
        return _fused(e, computed)
    if op in _NORMS:
        return Flops(reduction=_norm_backward_per_element(e, computed) * _numel(shapes[0]))
    if op in _POOLS:
        window = out * _kernel_area(e)
        # max: the window mask times the gradient, then the scatter-add of col2im; avg: the
        # share of each window, then the same scatter-add.
        per_input = 2 * window if op == "max_pool2d" else out + window
        return Flops(reduction=per_input * n_computed)
    return Flops()


# ---- matmul -----------------------------------------------------------------------------------
def _as_matrices(a: Shape, b: Shape) -> tuple[Shape, Shape]:
    """NumPy's rule for 1-D operands: a vector is a matrix with a size-1 dim, dropped after."""
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"forward_flops: matmul needs operands of >= 1 dim, got {a} and {b}")
    return ((1, *a) if len(a) == 1 else a), ((*b, 1) if len(b) == 1 else b)


def _matmul(a: Shape, b: Shape) -> int:
    # BEGIN SOLUTION flops-matmul
    # HINT: (..., m, k) @ (..., k, n) is m*n dot products of length k, each k multiplies and k
    # HINT: adds (torch's convention: 2*m*n*k), for every matrix of the broadcast batch.
    # TESTS: matmul or linear or gpt or mlp or conv_net or closed_form or doubling
    a2, b2 = _as_matrices(a, b)
    (m, k), (k2, n) = a2[-2:], b2[-2:]
    if k != k2:
        raise ValueError(f"forward_flops: matmul of shapes {a} and {b}: inner dims differ")
    batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    return 2 * _numel(batch) * m * n * k
    # END SOLUTION


def _matmul_backward(a: Shape, b: Shape, computed: tuple[bool, ...]) -> Flops:
    # BEGIN SOLUTION flops-matmul-backward
    # HINT: each input gradient asked for is one more product the size of the forward's
    # HINT: (dA = dC @ B^T, dB = A^T @ dC); an operand broadcast along batch dims also has its
    # HINT: gradient summed back, one FLOP per element summed (a batch times one matrix is
    # HINT: folded into a single product, so sums nothing).
    # TESTS: backward or linear or batch_times_one or mlp or conv_net or gpt
    a2, b2 = _as_matrices(a, b)
    batch = _numel(np.broadcast_shapes(a2[:-2], b2[:-2]))
    (m, k), n = a2[-2:], b2[-1]
    product = _matmul(a, b)
    # Each gradient is summed over the batch dims its operand was broadcast along, except a
    # batch times one matrix, which the rule folds into a single product (the sum is inside).
    summed = 0
    if computed[0] and _numel(a2[:-2]) != batch:
        summed += batch * m * k
    if computed[1] and len(b2) > 2 and _numel(b2[:-2]) != batch:
        summed += batch * k * n
    return Flops(matmul=product * sum(computed[:2]), reduction=summed)
    # END SOLUTION


# ---- conv2d -----------------------------------------------------------------------------------
def _conv2d(e: OpEvent) -> int:
    # BEGIN SOLUTION flops-conv2d
    # HINT: every output element (n, c_out, h_out, w_out) is a dot product over c_in*kh*kw
    # HINT: window elements: 2 FLOPs per multiply-add.
    # TESTS: conv2d or conv_net or tier_ops
    n, c_out, h_out, w_out = e.out_shape
    _, c_in, kh, kw = e.input_shapes[1]
    return 2 * n * c_out * h_out * w_out * c_in * kh * kw
    # END SOLUTION


def _conv2d_backward(e: OpEvent, computed: tuple[bool, ...]) -> Flops:
    # BEGIN SOLUTION flops-conv2d-backward
    # HINT: the input's and the weight's gradients each cost one forward-sized product; col2im
    # HINT: adds every window element back (a reduction), the weight's per-sample products are
    # HINT: summed over the batch, and the bias's gradient sums the output gradient.
    # TESTS: conv2d or conv_net
    product = _conv2d(e)
    n, c_out, h_out, w_out = e.out_shape
    _, c_in, kh, kw = e.input_shapes[1]
    matmul = reduction = 0
    if computed[0]:  # the input: weight^T @ grad, then col2im adds the windows back
        matmul += product
        reduction += n * c_in * kh * kw * h_out * w_out
    if computed[1]:  # the weight: one product per sample, summed over the batch
        matmul += product
        reduction += n * c_out * c_in * kh * kw
    if len(computed) == 3 and computed[2]:  # the bias: grad summed over batch and space
        reduction += _numel(e.out_shape)
    return Flops(matmul=matmul, reduction=reduction)
    # END SOLUTION


# ---- attention --------------------------------------------------------------------------------
def _sdpa_dims(e: OpEvent) -> tuple[int, int, int, int, int]:
    """(batch * heads, L, S, E, Ev) of an attention op."""
    q, k, v = e.input_shapes[:3]
    batch = _numel(np.broadcast_shapes(q[:-2], k[:-2], v[:-2]))
    return batch, q[-2], k[-2], q[-1], v[-1]


def _sdpa_forward(e: OpEvent) -> Flops:
    # BEGIN SOLUTION flops-sdpa-forward
    # HINT: two products per (batch*head): Q @ K^T makes L*S scores of length-E dot products,
    # HINT: P @ V reads them with Ev; the scale is one FLOP per score (dropout two more), the
    # HINT: softmax five per score, as the softmax op counts it. A causal mask saves nothing.
    # TESTS: attention or gpt or closed_form
    bh, length, source, dim, dim_v = _sdpa_dims(e)
    scores = bh * length * source
    dropout = 2 * scores if e.attrs.get("dropout_p", 0.0) else 0
    return Flops(
        matmul=2 * scores * dim + 2 * scores * dim_v,  # Q @ K^T, then P @ V
        elementwise=scores + dropout,  # the scale (and dropout's mask and rescale)
        reduction=5 * scores,  # the softmax, as the softmax op counts it
    )
    # END SOLUTION


def _sdpa_backward(e: OpEvent, computed: tuple[bool, ...]) -> Flops:
    # BEGIN SOLUTION flops-sdpa-backward
    # HINT: dV = P^T @ dOut when V needs it; dP = dOut @ V^T whenever a gradient flows through
    # HINT: the scores (to q, k or a float mask); then the softmax's backward (4 per score) and
    # HINT: dQ = dS @ K, dK = dS^T @ Q, each scaled (one FLOP per element).
    # TESTS: attention or gpt
    bh, length, source, dim, dim_v = _sdpa_dims(e)
    scores = bh * length * source
    q_grad, k_grad, v_grad = computed[:3]
    mask_grad = len(computed) == 4 and computed[3]
    through_scores = q_grad or k_grad or mask_grad
    matmul = 0
    if v_grad:
        matmul += 2 * scores * dim_v  # dV = P^T @ dOut
    if through_scores:
        matmul += 2 * scores * dim_v  # dP = dOut @ V^T
    matmul += 2 * scores * dim * (q_grad + k_grad)  # dQ = dS @ K, dK = dS^T @ Q
    q_numel, k_numel = bh * length * dim, bh * source * dim
    dropout = 2 * scores if e.attrs.get("dropout_p", 0.0) and through_scores else 0
    return Flops(
        matmul=matmul,
        elementwise=q_numel * q_grad + k_numel * k_grad + dropout,  # the scale of dQ, dK
        reduction=4 * scores if through_scores else 0,  # the softmax's backward
    )
    # END SOLUTION


# ---- module 18's fused ops: the sum of what they replace --------------------------------------
def _fused(e: OpEvent, computed: tuple[bool, ...] | None) -> Flops:
    """Forward (``computed`` None) or backward FLOPs of a fused op, as its unfused ops'."""
    needs = computed or (False,) * len(e.input_shapes)
    parts: list[tuple[OpEvent, tuple[bool, ...]]] = []
    if e.op in ("linear", "linear_gelu"):
        x, w = e.input_shapes[0], e.input_shapes[1]
        rows = _numel(x[:-1])
        out = (*x[:-1], w[0])
        matmul = _like(e, "matmul", [(rows, w[1]), (w[1], w[0])], (rows, w[0]))
        parts.append((matmul, (needs[0], needs[1])))
        if len(e.input_shapes) == 3:
            parts.append((_like(e, "add", [out, e.input_shapes[2]], out), (False, needs[2])))
        if e.op == "linear_gelu":
            parts.append((_like(e, "gelu", [out], out), (True,)))
    elif e.op == "causal_self_attention":
        n, length, packed = e.input_shapes[0]
        heads = int(e.attrs["num_heads"])
        head = (n, heads, length, packed // 3 // heads)
        parts.append((_like(e, "scaled_dot_product_attention", [head] * 3, head), needs * 3))
    else:  # relu_max_pool2d: max_pool2d with a 2x2 window, then relu on the pooled output
        pool = _like(e, "max_pool2d", list(e.input_shapes), e.out_shape)
        parts.append((dataclasses.replace(pool, attrs={"kernel": (2, 2)}), needs))
        parts.append((_like(e, "relu", [e.out_shape], e.out_shape), (True,)))
    total = Flops()
    for part, grads in parts:
        if computed is None:
            total = total + forward_flops(part)
        else:
            total = total + backward_flops(RuleEvent(part, grads, 0, 0))
    return total


def _like(e: OpEvent, op: str, shapes: list[Shape], out: Shape) -> OpEvent:
    """An event of ``op`` with ``e``'s dtype and module, for counting a fused op's parts."""
    dtype = e.out_dtype
    return OpEvent(op, e.module, tuple(shapes), (dtype,) * len(shapes), (True,) * len(shapes),
                   {}, out, dtype, 0, 0, 0)  # fmt: skip


# ---- the rest ---------------------------------------------------------------------------------
def _norm_backward_per_element(e: OpEvent, computed: tuple[bool, ...]) -> int:
    has_weight = bool(e.attrs.get("has_weight", len(e.input_shapes) > 1))
    costs = [8] + ([2] if has_weight else []) + [1] * (len(e.input_shapes) - 1 - has_weight)
    return sum(c for c, done in zip(costs, computed, strict=True) if done)


def _unbroadcast(inputs: tuple[Shape, ...], out: Shape, computed: tuple[bool, ...]) -> int:
    """One FLOP per gradient element summed down to an input that was broadcast."""
    n = _numel(out)
    return sum(n for shape, done in zip(inputs, computed, strict=True) if done and shape != out)


def _kernel_area(e: OpEvent) -> int:
    kernel = e.attrs.get("kernel")
    if kernel is None:
        raise ValueError(f"forward_flops: a {e.op} event needs its 'kernel' attribute")
    return int(kernel[0]) * int(kernel[1])


def _numel(shape: Shape) -> int:
    return math.prod(shape)
