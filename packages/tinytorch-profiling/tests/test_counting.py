"""count_flops's attribution to modules and passes, and summary's rows and totals."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.activations import ReLU
from tinytorch.layers import Linear, Module, Sequential
from tinytorch.layers import module as module_impl
from tinytorch.profiling.counting import NO_MODULE, count_flops, summary, tally
from tinytorch.profiling.events import OpEvent, RuleEvent
from tinytorch.profiling.flops import Flops
from tinytorch.tensor import Generator, Tensor, ones, randn


def mlp() -> Sequential:
    return Sequential(
        Linear(4, 8, generator=Generator(0)),
        ReLU(),
        Sequential(Linear(8, 3, generator=Generator(1))),
    )


class Scaled(Module):
    """A model with an op of its own (the root's "" path) around a child."""

    def __init__(self) -> None:
        super().__init__()
        self.body = mlp()

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.body(x) * 2.0
        return out


# ---- count_flops -----------------------------------------------------------------------------
def test_by_module_attributes_each_op_to_its_innermost_module() -> None:
    fc = count_flops(lambda x: Scaled()(x) + 1.0, randn(5, 4))
    assert fc.by_module == {
        "body.0": Flops(matmul=2 * 5 * 4 * 8, elementwise=5 * 8),
        # An activation is no Module here (module 02 comes before layers): its relu belongs
        # to the Sequential that calls it.
        "body": Flops(elementwise=5 * 8),
        "body.2.0": Flops(matmul=2 * 5 * 8 * 3, elementwise=5 * 3),
        "": Flops(elementwise=5 * 3),  # the root's own "* 2"
        NO_MODULE: Flops(elementwise=5 * 3),  # the "+ 1" outside the model
    }
    assert fc.total == 2 * 5 * 4 * 8 + 2 * 5 * 8 * 3
    assert sum((f for f in fc.by_module.values()), Flops()) == fc.forward


def test_backward_counts_forward_plus_backward() -> None:
    model = mlp()
    forward_only = count_flops(model, randn(5, 4))
    both = count_flops(model, randn(5, 4), backward=True)
    assert both.forward == forward_only.forward
    # The first layer's input needs no grad: its weight's product only; the second layer's
    # input and weight both.
    first, second = 2 * 5 * 4 * 8, 2 * 5 * 8 * 3
    assert both.backward.matmul == first + 2 * second
    assert both.total == 2 * first + 3 * second
    assert both.by_module["0"].matmul == 2 * first
    assert both.by_op["matmul"].matmul == both.total
    assert both.elementwise == both.forward.elementwise + both.backward.elementwise
    assert both.reduction == both.forward.reduction + both.backward.reduction


def test_backward_of_an_output_without_grad_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"count_flops: backward=True but the output \(shape"):
        count_flops(lambda x: x * 2.0, randn(3), backward=True)


def test_backward_of_several_outputs_asks_for_one() -> None:
    layer = Linear(2, 2)
    with pytest.raises(TypeError, match=r"count_flops: backward=True needs .* got tuple"):
        count_flops(lambda x: (layer(x), layer(x)), randn(1, 2), backward=True)


def test_tally_of_hand_made_events_and_the_table() -> None:
    e = OpEvent("matmul", "fc", ((7, 3), (3, 4)), ("float32",) * 2, (False, True), {}, (7, 4),
                "float32", 112, 0, 1)  # fmt: skip
    odd = OpEvent("mystery", None, ((2,),), ("float32",), (False,), {}, (2,), "float32", 8, 1, 2)
    fc = tally([e, odd], [RuleEvent(e, (False, True), 2, 3)])
    assert fc.forward == Flops(matmul=168)
    assert fc.backward == Flops(matmul=168)
    assert fc.unknown == ("mystery",)
    table = fc.table()
    assert table.splitlines()[2].split() == ["matmul", "336", "0", "0", "336"]
    assert table.splitlines()[-3].split() == ["forward", "168", "0", "0", "168"]
    assert table.splitlines()[-1] == "not counted (unknown ops): mystery"


# ---- summary ---------------------------------------------------------------------------------
def test_summary_rows_and_totals() -> None:
    model = mlp()
    s = summary(model, ones(5, 4))
    rows = {r.path: r for r in s.rows}
    assert list(rows) == ["", "0", "2", "2.0"]  # the ReLU is no Module
    assert rows["0"].cls == "Linear"
    assert rows["0"].output_shapes == ((5, 8),)
    assert (rows["0"].params, rows["0"].param_bytes) == (4 * 8 + 8, 4 * (4 * 8 + 8))
    assert (rows["2"].params, rows["2.0"].params) == (0, 8 * 3 + 3)  # own, not recursive
    assert rows["0"].flops == 2 * 5 * 4 * 8
    assert rows["2"].flops == rows["2.0"].flops == 2 * 5 * 8 * 3
    assert rows[""].flops == s.flops == 2 * 5 * 4 * 8 + 2 * 5 * 8 * 3
    assert rows["0"].activation_bytes == 5 * 8 * 4
    assert s.total_params == s.trainable_params == 40 + 27
    assert s.param_bytes == sum(p.data.nbytes for p in model.parameters())
    # Leaf outputs: (5, 8) and (5, 3) float32.
    assert s.activation_bytes == 4 * (40 + 15)
    text = str(s)
    assert "2.0 (Linear)" in text
    assert "Total params: 67" in text


def test_summary_bytes_come_from_the_arrays() -> None:
    model = Sequential(Linear(4, 3, dtype=np.float64, generator=Generator(0)))
    model[0].bias.requires_grad_(False)
    s = summary(model, ones(2, 4, dtype=np.float64))
    assert s.param_bytes == 8 * 15
    assert s.rows[1].activation_bytes == 8 * 2 * 3
    assert (s.total_params, s.trainable_params) == (15, 12)


def test_summary_counts_a_tied_weight_once() -> None:
    transformers = pytest.importorskip("tinytorch.transformers")
    cfg = transformers.GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=8)
    model = transformers.GPT(cfg, generator=Generator(0))
    s = summary(model, Tensor(np.zeros((2, 8), dtype=np.int64)))
    rows = {r.path: r for r in s.rows}
    assert rows["lm_head"].params == rows["wte"].params == 20 * 8
    assert s.total_params == sum(p.data.size for p in model.parameters())
    assert s.total_params < sum(r.params for r in s.rows)
    assert rows[""].output_shapes == ((2, 8, 20),)  # (logits, None): the one tensor


def test_a_wrong_input_shape_raises_the_layers_own_error_and_leaves_no_hook() -> None:
    hooks_before = len(module_impl._global_hooks), len(module_impl._global_pre_hooks)
    with pytest.raises(ValueError, match=r"^Linear: input of shape \(2, 5\) does not end in"):
        summary(Linear(4, 3), ones(2, 5))
    assert (len(module_impl._global_hooks), len(module_impl._global_pre_hooks)) == hooks_before


def test_summary_of_a_non_module_is_an_error() -> None:
    with pytest.raises(TypeError, match="summary: expected a Module, got function"):
        summary(lambda x: x, ones(2))  # type: ignore[arg-type]
