"""checkpoint: no activations kept, gradients equal to the plain run's (bit for bit), the
gradient rule checked against finite differences, dropout's masks replayed, misuse refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tinytorch.activations import GELU, ReLU
from tinytorch.autograd import gradcheck, no_grad, topological_order
from tinytorch.layers import Dropout, Linear, Module, Sequential
from tinytorch.memoization import checkpoint, checkpoint_sequential
from tinytorch.tensor import Generator, Tensor, default_generator, randn


def _mlp(dtype: Any = np.float64, p: float = 0.0, seed: int = 0) -> Sequential:
    g = Generator(seed)
    return Sequential(
        Linear(6, 16, dtype=dtype, generator=g),
        GELU(),
        Dropout(p, generator=g),
        Linear(16, 16, dtype=dtype, generator=g),
        ReLU(),
        Linear(16, 3, dtype=dtype, generator=g),
    )


def _grads(model: Module, x: Tensor, run: Callable[[Module, Tensor], Tensor]) -> list[Any]:
    for p in model.parameters():
        p.grad = None
    x.grad = None
    run(model, x).pow(2).sum().backward()
    assert x.grad is not None
    return [x.grad.data.copy()] + [p.grad.data.copy() for p in model.parameters()]


def _equal(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


def test_gradcheck_through_checkpoint_of_a_function_of_its_inputs() -> None:
    x = randn(3, 4, dtype=np.float64, requires_grad=True, generator=Generator(1))
    w = randn(4, 5, dtype=np.float64, requires_grad=True, generator=Generator(2))
    b = randn(5, dtype=np.float64, requires_grad=True, generator=Generator(3))

    def body(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
        return ((x @ w + b) * x.sum()).exp()

    assert gradcheck(lambda x, w, b: checkpoint(body, x, w, b), [x, w, b])


def test_gradcheck_with_a_module_and_a_repeated_input() -> None:
    layer = Linear(4, 4, dtype=np.float64, generator=Generator(0))
    x = randn(2, 4, dtype=np.float64, requires_grad=True, generator=Generator(1))
    assert gradcheck(lambda x: checkpoint(lambda a, c: layer(a) * c, x, x), [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_equal_the_plain_runs_bit_for_bit(dtype: Any) -> None:
    model = _mlp(dtype)
    x = randn(8, 6, dtype=dtype, requires_grad=True, generator=Generator(4))
    plain = _grads(model, x, lambda m, x: m(x))
    checked = _grads(model, x, lambda m, x: checkpoint(m, x))
    assert _equal(plain, checked)
    halves = _grads(model, x, lambda m, x: checkpoint_sequential(m, 2, x))
    assert _equal(plain, halves)


def test_no_activation_inside_the_function_is_kept() -> None:
    model = _mlp()
    x = randn(8, 6, dtype=np.float64, requires_grad=True)
    out = checkpoint(model, x).sum()
    ops = [t.node.op for t in topological_order(out) if t.node is not None]
    assert ops == ["sum", "checkpoint"]
    node = out.node.inputs[0].node
    assert node is not None
    assert node.inputs[0] is x
    assert {id(p) for p in node.inputs[1:]} == {id(p) for p in model.parameters()}
    plain_ops = [t.node.op for t in topological_order(model(x).sum()) if t.node is not None]
    assert len(plain_ops) > 8  # what the checkpoint does not keep


def test_parameters_get_gradients_when_no_input_requires_grad() -> None:
    model = _mlp()
    x = randn(5, 6, dtype=np.float64)  # data, as a network's first block sees it
    checkpoint(model, x).sum().backward()
    expected = [p.grad.data.copy() for p in model.parameters() if p.grad is not None]
    for p in model.parameters():
        p.grad = None
    model(x).sum().backward()
    assert _equal(expected, [p.grad.data for p in model.parameters() if p.grad is not None])


def test_dropout_replays_the_same_mask_and_leaves_the_generators_as_the_plain_run() -> None:
    x = randn(16, 6, dtype=np.float64, requires_grad=True, generator=Generator(5))
    plain_model, ck_model = _mlp(p=0.5, seed=7), _mlp(p=0.5, seed=7)
    plain = _grads(plain_model, x, lambda m, x: m(x))
    checked = _grads(ck_model, x, lambda m, x: checkpoint(m, x))
    assert _equal(plain, checked)
    # The recomputation drew nothing from the run's stream: the next masks agree too.
    drop_plain, drop_ck = plain_model[2], ck_model[2]
    assert isinstance(drop_plain, Dropout)
    assert isinstance(drop_ck, Dropout)
    assert drop_plain.generator is not None
    assert drop_ck.generator is not None
    assert drop_plain.generator.get_state() == drop_ck.generator.get_state()


def test_dropout_on_the_default_generator_is_replayed_too() -> None:
    model = Sequential(Linear(6, 6, dtype=np.float64, generator=Generator(0)), Dropout(0.5))
    x = randn(10, 6, dtype=np.float64, requires_grad=True, generator=Generator(1))
    state = default_generator.get_state()
    plain = _grads(model, x, lambda m, x: m(x))
    after_plain = default_generator.get_state()
    default_generator.set_state(state)
    checked = _grads(model, x, lambda m, x: checkpoint(m, x))
    assert _equal(plain, checked)
    assert default_generator.get_state() == after_plain


def test_without_preserve_rng_state_a_dropout_recomputation_is_caught() -> None:
    model = _mlp(p=0.5)
    x = randn(16, 6, dtype=np.float64, requires_grad=True)
    out = checkpoint(model, x, preserve_rng_state=False)
    with pytest.raises(
        RuntimeError, match="checkpoint: recomputing the function gave a different output"
    ):
        out.sum().backward()


def test_a_parameter_written_between_forward_and_backward_is_caught() -> None:
    model = _mlp()
    x = randn(4, 6, dtype=np.float64, requires_grad=True)
    out = checkpoint(model, x).sum()
    first = model[0]
    assert isinstance(first, Linear)
    with no_grad():
        first.weight.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        out.backward()


def test_under_no_grad_it_is_the_plain_call_and_errors() -> None:
    model = _mlp()
    x = randn(4, 6, dtype=np.float64)
    with no_grad():
        out = checkpoint(model, x)
    assert out.node is None
    assert np.array_equal(out.data, model(x).data)
    with pytest.raises(TypeError, match="checkpoint: function must be callable"):
        checkpoint(3, x)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="checkpoint: function must return one Tensor, got tuple"):
        checkpoint(lambda t: (t, t), randn(2, requires_grad=True))
    with pytest.warns(UserWarning, match="no input requires grad"):
        checkpoint(lambda t: t * 2, randn(2))
    with pytest.raises(TypeError, match="pass tensors positionally, got tensor keyword argument"):
        checkpoint(lambda t, scale: t * scale, x, scale=randn(1, requires_grad=True))
    with pytest.raises(ValueError, match="segments must be an int >= 1"):
        checkpoint_sequential(model, 0, x)


def test_a_gpt_block_checkpointed_gives_the_same_gradients() -> None:
    transformers = pytest.importorskip("tinytorch.transformers")
    for dtype in (np.float32, np.float64):
        block = transformers.TransformerBlock(
            16, 4, dropout=0.2, dtype=dtype, generator=Generator(0)
        )
        twin = transformers.TransformerBlock(
            16, 4, dropout=0.2, dtype=dtype, generator=Generator(0)
        )
        x = randn(3, 7, 16, dtype=dtype, requires_grad=True, generator=Generator(1))
        assert _equal(
            _grads(block, x, lambda m, x: m(x)), _grads(twin, x, lambda m, x: checkpoint(m, x))
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_gpt_with_every_block_checkpointed_trains_identically(dtype: Any) -> None:
    transformers = pytest.importorskip("tinytorch.transformers")
    cfg = transformers.GPTConfig(
        vocab_size=11, block_size=8, n_layer=3, n_head=2, n_embd=8, dropout=0.1
    )
    idx = Tensor(np.random.default_rng(0).integers(0, 11, (4, 8)))
    runs = []
    for on in (False, True):
        model = transformers.GPT(cfg, dtype=dtype, generator=Generator(0)).train()
        if on:
            model.gradient_checkpointing_enable(checkpoint)
        opt = model.configure_optimizers(0.1, 1e-2)
        losses, grads = [], []
        for _ in range(3):
            opt.zero_grad()
            _, loss = model(idx, targets=idx)
            loss.backward()
            grads.append([p.grad.data.copy() for p in model.parameters()])
            losses.append(float(loss.data))
            opt.step()
        runs.append((losses, grads, [p.data.copy() for p in model.parameters()]))
    (l1, g1, w1), (l2, g2, w2) = runs
    assert l1 == l2
    assert all(_equal(a, b) for a, b in zip(g1, g2, strict=True))
    assert _equal(w1, w2)


def test_a_lenet_conv_block_checkpointed_gives_the_same_gradients() -> None:
    pytest.importorskip("tinytorch.convolutions")
    from tinytorch.profiling.workloads import lenet_model

    images = randn(6, 1, 8, 8, generator=Generator(3))
    runs = []
    for segments in (None, 2, 4):
        model = lenet_model(Generator(0))
        model.train()
        for p in model.parameters():
            p.grad = None
        state = default_generator.get_state()
        out = model(images) if segments is None else checkpoint_sequential(model, segments, images)
        out.pow(2).sum().backward()
        default_generator.set_state(state)
        runs.append([p.grad.data.copy() for p in model.parameters()])
    assert _equal(runs[0], runs[1])
    assert _equal(runs[0], runs[2])
    conv_block = lenet_model(Generator(0))[:3]  # Conv2d, ReLU, MaxPool2d
    x = randn(2, 1, 8, 8, dtype=np.float32, requires_grad=True, generator=Generator(4))
    twin = lenet_model(Generator(0))[:3]
    assert _equal(
        _grads(conv_block, x, lambda m, x: m(x)), _grads(twin, x, lambda m, x: checkpoint(m, x))
    )


def test_a_profile_of_a_checkpointed_step_counts_the_recompute_once() -> None:
    # The checkpoint rule re-runs its block: those ops and rules are reported on their own,
    # so the rule's time must exclude them, or the profile would account for over 100%.
    pytest.importorskip("tinytorch.transformers", reason="the GPT needs tinytorch.transformers")
    from tinytorch.profiling import profile
    from tinytorch.transformers import GPT, GPTConfig

    config = GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=32, dropout=0.0)
    model = GPT(config, generator=Generator(0))
    model.gradient_checkpointing_enable(checkpoint)
    rng = np.random.default_rng(0)
    x, y = Tensor(rng.integers(0, 11, (4, 16))), Tensor(rng.integers(0, 11, (4, 16)))
    model(x, y)[1].backward()  # warm-up
    with profile() as prof:
        model(x, y)[1].backward()
    rules = [r for r in prof.rules if r.op == "checkpoint"]
    assert len(rules) == 2
    assert all(0 < r.duration_ns < r.end_ns - r.start_ns for r in rules)
    recomputed = [e for e in prof.ops if any(r.start_ns <= e.start_ns <= r.end_ns for r in rules)]
    assert recomputed  # the recompute's ops were seen
    assert prof.coverage().fraction <= 1.02
