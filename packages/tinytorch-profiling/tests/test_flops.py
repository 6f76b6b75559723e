"""The FLOP formulas against hand-computed counts, on real models and on hand-made events."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from tinytorch.activations import ReLU, softmax
from tinytorch.layers import Linear, Sequential
from tinytorch.losses import cross_entropy
from tinytorch.profiling.counting import FlopCount, count_flops
from tinytorch.profiling.events import OpEvent, RuleEvent
from tinytorch.profiling.flops import (
    Flops,
    backward_flops,
    bytes_moved,
    forward_flops,
    known_ops,
    unknown_ops,
)
from tinytorch.tensor import Generator, Tensor, randn
from tinytorch.tensor.graph import gradient_rule, registered_ops

PACKAGES = Path(__file__).resolve().parents[2]


def event(op: str, shapes: list[tuple[int, ...]], out: tuple[int, ...], **attrs: object) -> OpEvent:
    n = len(shapes)
    nbytes = 4 * int(np.prod(out))
    return OpEvent(op, None, tuple(shapes), ("float32",) * n, (True,) * n, attrs, out,
                   "float32", nbytes, 0, 1)  # fmt: skip


def leaf(*shape: int, grad: bool = True, seed: int = 0) -> Tensor:
    return randn(*shape, generator=Generator(seed)).requires_grad_(grad)


# ---- Linear: matmul plus a bias add ----------------------------------------------------------
@pytest.mark.parametrize("batch", [1, 7])
def test_linear_forward_is_the_product_plus_an_elementwise_bias(batch: int) -> None:
    fc = count_flops(Linear(3, 4, generator=Generator(0)), randn(batch, 3))
    assert fc.forward == Flops(matmul=2 * batch * 3 * 4, elementwise=batch * 4)
    assert fc.total == 24 * batch
    assert fc.backward == Flops()


@pytest.mark.parametrize("batch", [1, 7])
def test_linear_backward_counts_the_weight_product_only_when_the_input_needs_no_grad(
    batch: int,
) -> None:
    layer = Linear(3, 4, generator=Generator(0))
    weight_only = count_flops(layer, randn(batch, 3), backward=True)
    both = count_flops(layer, leaf(batch, 3), backward=True)
    product = 2 * batch * 3 * 4
    assert weight_only.backward.matmul == product
    assert both.backward.matmul == 2 * product
    # The bias gradient sums the (batch, 4) gradient: one FLOP per element summed.
    assert weight_only.backward.reduction == batch * 4
    assert both.total == 3 * product


# ---- matmul shapes -----------------------------------------------------------------------------
def test_batched_broadcast_matmul() -> None:
    a, b = leaf(5, 1, 3, 4), leaf(2, 4, 6, seed=1)
    fc = count_flops(lambda x, y: x @ y, a, b, backward=True)
    product = 2 * (5 * 2) * 3 * 6 * 4
    assert fc.forward == Flops(matmul=product)
    # Each gradient is one more product; each is then summed over the batch dims its operand
    # was broadcast along: (5, 2, 3, 4) down to (5, 1, 3, 4), (5, 2, 4, 6) down to (2, 4, 6).
    assert fc.backward == Flops(matmul=2 * product, reduction=10 * 3 * 4 + 10 * 4 * 6)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((4,), (4, 6), 2 * 6 * 4),
        ((3, 4), (4,), 2 * 3 * 4),
        ((4,), (4,), 2 * 4),
        ((2, 3, 4), (4,), 2 * 2 * 3 * 4),
        ((4,), (2, 4, 6), 2 * 2 * 6 * 4),
    ],
)
def test_one_dimensional_operands_follow_numpy(
    a: tuple[int, ...], b: tuple[int, ...], expected: int
) -> None:
    fc = count_flops(lambda x, y: x @ y, leaf(*a), leaf(*b, seed=1), backward=True)
    assert fc.forward.matmul == expected
    assert fc.backward.matmul == 2 * expected


def test_a_batch_times_one_matrix_is_folded_and_sums_nothing() -> None:
    fc = count_flops(lambda x, y: x @ y, leaf(2, 5, 3), leaf(3, 4, seed=1), backward=True)
    assert fc.backward == Flops(matmul=2 * (2 * 2 * 5 * 4 * 3))


def test_matmul_of_mismatched_shapes_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"matmul of shapes \(2, 3\) and \(4, 5\)"):
        forward_flops(event("matmul", [(2, 3), (4, 5)], (2, 5)))


# ---- conv2d ------------------------------------------------------------------------------------
def test_conv2d_with_padding_and_stride() -> None:
    conv = pytest.importorskip("tinytorch.convolutions")
    layer = conv.Conv2d(3, 8, 3, stride=2, padding=1, generator=Generator(0))
    fc = count_flops(layer, randn(2, 3, 9, 9), backward=True)
    h_out = (9 + 2 * 1 - 3) // 2 + 1
    assert h_out == 5
    product = 2 * 2 * 8 * h_out * h_out * 3 * 3 * 3
    out = 2 * 8 * h_out * h_out
    assert fc.forward == Flops(matmul=product, elementwise=out)
    # The input needs no grad: the weight's product (summed over the batch) and the bias's sum.
    assert fc.backward == Flops(matmul=product, reduction=2 * 8 * 3 * 3 * 3 + out)


def test_conv2d_input_gradient_is_one_more_product() -> None:
    pytest.importorskip("tinytorch.convolutions")
    e = event("conv2d", [(2, 3, 9, 9), (8, 3, 3, 3)], (2, 8, 5, 5), stride=(2, 2))
    product = 2 * 2 * 8 * 5 * 5 * 3 * 3 * 3
    grads = backward_flops(RuleEvent(e, (True, True), 0, 1))
    assert grads.matmul == 2 * product
    assert grads.reduction == 2 * 3 * 3 * 3 * 5 * 5 + 2 * 8 * 3 * 3 * 3  # col2im, batch sum


# ---- attention ---------------------------------------------------------------------------------
def test_attention_counts_its_two_products() -> None:
    attention = pytest.importorskip("tinytorch.attention")
    q, k, v = leaf(2, 3, 5, 4), leaf(2, 3, 7, 4, seed=1), leaf(2, 3, 7, 6, seed=2)
    fc = count_flops(attention.scaled_dot_product_attention, q, k, v, backward=True)
    bhls = 2 * 3 * 5 * 7
    assert fc.forward.matmul == 2 * bhls * 4 + 2 * bhls * 6
    assert fc.forward.reduction == 5 * bhls  # the softmax, by the softmax op's convention
    # dV and dP (size Ev), dQ and dK (size E); no recomputed Q @ K^T, the probabilities are kept.
    assert fc.backward.matmul == 2 * (2 * bhls * 6) + 2 * (2 * bhls * 4)


def test_attention_backward_counts_only_the_gradients_computed() -> None:
    e = event("scaled_dot_product_attention", [(6, 5, 4), (6, 7, 4), (6, 7, 3)], (6, 5, 3))
    scores = 6 * 5 * 7
    only_v = backward_flops(RuleEvent(e, (False, False, True), 0, 1))
    assert only_v == Flops(matmul=2 * scores * 3)
    only_q = backward_flops(RuleEvent(e, (True, False, False), 0, 1))
    assert only_q.matmul == 2 * scores * 3 + 2 * scores * 4


def test_causal_attention_counts_the_full_product_as_torch_does() -> None:
    attention = pytest.importorskip("tinytorch.attention")
    q = randn(1, 2, 6, 4)
    causal = count_flops(
        lambda a: attention.scaled_dot_product_attention(a, a, a, is_causal=True), q
    )
    assert causal.total == 2 * (2 * 2 * 6 * 6 * 4)


# ---- linearity in the batch --------------------------------------------------------------------
def _mlp_loss_count(batch: int) -> FlopCount:
    model = Sequential(
        Linear(6, 16, generator=Generator(0)), ReLU(), Linear(16, 5, generator=Generator(1))
    )
    targets = Tensor(np.arange(batch) % 5)

    def loss(x: Tensor) -> Tensor:
        # Every op per sample (no scalar loss, whose few FLOPs would not scale with the batch).
        h = model(x)
        per_sample = cross_entropy(h, targets, reduction="none").reshape(batch, 1)
        return softmax(h, -1) * h + per_sample + (h * h).mean(-1, keepdim=True)

    return count_flops(loss, randn(batch, 6, generator=Generator(2)), backward=True)


def test_doubling_the_batch_doubles_every_count() -> None:
    small, large = _mlp_loss_count(3), _mlp_loss_count(6)
    for f_small, f_large in ((small.forward, large.forward), (small.backward, large.backward)):
        assert min(f_small.matmul, f_small.elementwise, f_small.reduction) > 0
        assert f_large == Flops(2 * f_small.matmul, 2 * f_small.elementwise, 2 * f_small.reduction)
    assert large.total == 2 * small.total


# ---- the GPT closed form -----------------------------------------------------------------------
def test_gpt_forward_matches_the_closed_form() -> None:
    transformers = pytest.importorskip("tinytorch.transformers")
    cfg = transformers.GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=32)
    model = transformers.GPT(cfg, generator=Generator(0))
    batch, t = 3, 16
    idx = Tensor(np.arange(batch * t).reshape(batch, t) % cfg.vocab_size)
    fc = count_flops(lambda i: model(i)[0], idx)

    e, tokens = cfg.n_embd, batch * t
    # Parameters used in matmuls: per layer the packed q/k/v projection (3E x E), the output
    # projection (E x E) and the MLP's two (4E x E each); then the head, tied to wte (V x E),
    # which the embedding lookup (0 FLOPs) does not multiply.
    per_layer = 3 * e * e + e * e + 4 * e * e + 4 * e * e
    matmul_params = cfg.n_layer * per_layer + cfg.vocab_size * e
    # Causal attention is the full T x T product (the sdpa op, as torch counts it), twice.
    head_dim = e // cfg.n_head
    attention = 2 * 2 * batch * cfg.n_head * t * t * head_dim * cfg.n_layer
    assert fc.total == 2 * matmul_params * tokens + attention
    assert fc.by_op["scaled_dot_product_attention"].matmul == attention


# ---- every op of the workspace is known ------------------------------------------------------
def _workspace_op_names() -> set[str]:
    names: set[str] = set()
    for source in PACKAGES.glob("*/src/tinytorch/*/**/*.py"):
        text = source.read_text()
        names |= set(re.findall(r'\brecord\(\s*"(\w+)"', text))
        if re.search(r"\brecord\(\s*(op|OP)\b", text):
            names |= set(re.findall(r'^\s*(?:op|OP) = "(\w+)"$', text, flags=re.MULTILINE))
    return {n for n in names if not n.startswith("doc_")}


def test_every_op_of_the_workspace_is_known() -> None:
    # The source scan sees every package of the workspace; the rule registry, those installed
    # here (a per-package env has only this package's dependencies).
    if not (PACKAGES / "tinytorch-tensor" / "src").is_dir():
        pytest.skip("scans the monorepo's packages/; a student's workspace holds only its own")
    for package in sorted(p.name for p in PACKAGES.glob("*/src/tinytorch/*") if p.is_dir()):
        if importlib.util.find_spec(f"tinytorch.{package}") is not None:
            importlib.import_module(f"tinytorch.{package}")
    with_rules = {
        op
        for op in registered_ops()
        if getattr(gradient_rule(op), "__module__", "").startswith("tinytorch.")
        and not op.startswith("doc_")
    }
    recorded = _workspace_op_names()
    assert {"matmul", "conv2d", "layer_norm", "mse_loss", "batch_norm"} <= recorded
    assert sorted((with_rules | recorded) - known_ops()) == []


def test_an_unknown_op_counts_zero_and_is_listed() -> None:
    mystery = event("mystery", [(4, 4)], (4, 4))
    assert forward_flops(mystery) == Flops()
    assert backward_flops(RuleEvent(mystery, (True,), 0, 1)) == Flops()
    assert unknown_ops([mystery, event("add", [(2,), (2,)], (2,))]) == ["mystery"]


# ---- the other tables --------------------------------------------------------------------------
def test_shape_only_ops_are_free_and_elementwise_ops_one_per_output() -> None:
    assert forward_flops(event("reshape", [(3, 4)], (12,))) == Flops()
    assert forward_flops(event("getitem", [(3, 4)], (4,))) == Flops()
    assert forward_flops(event("gelu", [(3, 4)], (3, 4))) == Flops(elementwise=12)
    assert forward_flops(event("add", [(3, 4), (4,)], (3, 4))) == Flops(elementwise=12)


def test_reductions_count_per_input_element() -> None:
    assert forward_flops(event("sum", [(3, 4)], ())) == Flops(reduction=12)
    assert forward_flops(event("softmax", [(3, 4)], (3, 4), dim=-1)) == Flops(reduction=60)
    layer_norm = event("layer_norm", [(3, 4), (4,), (4,)], (3, 4), has_weight=True)
    assert forward_flops(layer_norm) == Flops(reduction=(5 + 2) * 12)
    grads = backward_flops(RuleEvent(layer_norm, (True, True, True), 0, 1))
    assert grads == Flops(reduction=(8 + 2 + 1) * 12)


def test_pooling_counts_each_window_element() -> None:
    pool = event("max_pool2d", [(2, 3, 8, 8)], (2, 3, 4, 4), kernel=(2, 2), stride=(2, 2))
    assert forward_flops(pool) == Flops(reduction=2 * 3 * 4 * 4 * 4)
    with pytest.raises(ValueError, match="max_pool2d event needs its 'kernel'"):
        forward_flops(event("max_pool2d", [(2, 3, 8, 8)], (2, 3, 4, 4)))


def test_bytes_moved_is_inputs_plus_output() -> None:
    e = event("matmul", [(7, 3), (3, 4)], (7, 4))
    assert bytes_moved(e) == 4 * (21 + 12) + 4 * 28


def test_the_tier_ops_count_as_their_float_counterparts() -> None:
    # Module 15: an int8 x int8 product is the same arithmetic as its float one; fake
    # quantization is elementwise with a mask-times-gradient backward.
    linear = event("quantized_linear", [(6, 5), (4, 5)], (6, 4))
    assert forward_flops(linear) == Flops(matmul=2 * 6 * 5 * 4)
    assert backward_flops(RuleEvent(linear, (True, False), 0, 1)) == Flops()
    conv = event("quantized_conv2d", [(2, 3, 8, 8), (4, 3, 3, 3)], (2, 4, 6, 6))
    assert forward_flops(conv) == Flops(matmul=2 * 2 * 4 * 6 * 6 * 3 * 3 * 3)
    fake = event("fake_quantize_per_tensor_affine", [(3, 4)], (3, 4))
    assert forward_flops(fake) == Flops(elementwise=12)
    assert backward_flops(RuleEvent(fake, (True,), 0, 1)) == Flops(elementwise=12)
    # Module 17's checkpoint wraps ops that are recorded (and counted) on their own.
    wrapper = event("checkpoint", [(2, 4), (4, 4)], (2, 4))
    assert forward_flops(wrapper) == Flops()
    assert backward_flops(RuleEvent(wrapper, (True, True), 0, 1)) == Flops()


def test_module_18s_fused_ops_count_what_they_replace() -> None:
    # Accelerating a model changes its time, never its FLOPs.
    linear = event("linear", [(6, 5), (4, 5), (4,)], (6, 4))
    assert forward_flops(linear) == Flops(matmul=2 * 6 * 5 * 4, elementwise=6 * 4)
    assert backward_flops(RuleEvent(linear, (False, True, True), 0, 1)) == Flops(
        matmul=2 * 6 * 5 * 4, reduction=6 * 4
    )
    fused = event("linear_gelu", [(6, 5), (4, 5), (4,)], (6, 4))
    assert forward_flops(fused) == Flops(matmul=240, elementwise=2 * 24)
    assert backward_flops(RuleEvent(fused, (True, True, True), 0, 1)) == Flops(
        matmul=2 * 240, elementwise=8 * 24, reduction=24
    )
    packed = event("causal_self_attention", [(2, 5, 3 * 8)], (2, 5, 8), num_heads=2)
    head = [(2, 2, 5, 4)] * 3
    sdpa = event("scaled_dot_product_attention", head, (2, 2, 5, 4))
    assert forward_flops(packed) == forward_flops(sdpa)
    assert backward_flops(RuleEvent(packed, (True,), 0, 1)) == backward_flops(
        RuleEvent(sdpa, (True, True, True), 0, 1)
    )
    pool = event("relu_max_pool2d", [(2, 3, 8, 8)], (2, 3, 4, 4))
    plain = event("max_pool2d", [(2, 3, 8, 8)], (2, 3, 4, 4), kernel=(2, 2), stride=(2, 2))
    relu = event("relu", [(2, 3, 4, 4)], (2, 3, 4, 4))
    assert forward_flops(pool) == forward_flops(plain) + forward_flops(relu)
