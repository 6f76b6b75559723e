"""gradcheck itself: it passes right rules and, what makes every other gradient test mean
something, fails wrong ones."""

import re

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.autograd import gradcheck, no_grad
from tinytorch.layers import Linear, Module, Parameter
from tinytorch.tensor import Tensor, record
from tinytorch.tensor.graph import register_gradient


# Test-only ops: the same forward, x ** 2, with a right and a wrong gradient rule.
def square(x):
    return record("test_square", x.data * x.data, (x,))


def wrong_square(x):
    return record("test_wrong_square", x.data * x.data, (x,))


def blind_mul(a, b):
    return record("test_blind_mul", a.data * b.data, (a, b))


@register_gradient("test_square")
def _square(grad, node):
    (x,) = node.inputs
    return (2.0 * x.data * grad,)


@register_gradient("test_wrong_square")
def _wrong_square(grad, node):
    (x,) = node.inputs
    return ((2.0 * x.data + 0.01 * (x.data > 0.5)) * grad,)  # 2x + 0.01 where x > 0.5


@register_gradient("test_blind_mul")
def _blind_mul(grad, node):
    _, b = node.inputs
    return (grad * b.data, None)  # forgets b's gradient


def f64(values, requires_grad=True):
    return Tensor(values, dtype=tt.float64, requires_grad=requires_grad)


def test_passes_a_right_rule():
    x = f64(np.linspace(-1.0, 1.0, 6).reshape(2, 3))
    assert gradcheck(square, [x]) is True


def test_catches_a_rule_that_is_slightly_wrong():
    x = f64([[0.1, 0.9, 0.2], [0.3, 0.4, 0.7]])
    with pytest.raises(AssertionError) as err:
        gradcheck(wrong_square, [x])
    message = str(err.value)
    # It names the input, the first wrong element, and both values: at x = 0.9 the rule says
    # 1.81 where the derivative is 1.8 (times the same upstream gradient).
    match = re.search(
        r"input 0 \(shape \(2, 3\)\) is wrong at element \(0, 1\): "
        r"analytic (\S+) vs numeric (\S+) \(2 of 6 elements",
        message,
    )
    assert match, message
    analytic, numeric = float(match[1]), float(match[2])
    assert analytic / numeric == pytest.approx(1.81 / 1.8, rel=1e-6)


def test_returns_false_instead_of_raising_when_asked():
    x = f64([0.9])
    assert gradcheck(wrong_square, [x], raise_exception=False) is False
    assert gradcheck(square, [x], raise_exception=False) is True


def test_catches_a_missing_gradient():
    a, b = f64([1.0, 2.0]), f64([3.0, -1.0])
    with pytest.raises(AssertionError, match=r"input 1 .* analytic 0.0 vs numeric"):
        gradcheck(blind_mul, [a, b])
    # The same op checked only where its rule is right passes.
    assert gradcheck(blind_mul, [a, b.detach()])


def test_tolerances_are_honoured():
    x = f64([0.9])
    # The rule is off by 0.01 on a derivative of 1.8: inside rtol=1e-2, outside rtol=1e-4.
    assert gradcheck(wrong_square, [x], rtol=1e-2)
    assert not gradcheck(wrong_square, [x], rtol=1e-4, atol=0.0, raise_exception=False)


def test_an_input_the_output_ignores_needs_no_gradient():
    x, unused = f64([1.0, 2.0]), f64([[5.0]])
    assert gradcheck(lambda x, unused: x * 3.0, [x, unused])
    # ...and an output that depends on no input at all has zero gradients everywhere.
    assert gradcheck(lambda x: Tensor(np.ones(3)), [x])


def test_a_detached_path_is_caught():
    x = f64([1.0, 2.0])
    with pytest.raises(AssertionError, match="input 0"):
        gradcheck(lambda x: x * x.detach(), [x])


def test_inputs_that_require_no_grad_pass_through_unchanged():
    x = f64([1.0, 2.0, 3.0])
    index = tt.tensor([2, 2, 0])
    mask = tt.tensor([True, False, True])
    assert gradcheck(lambda x, i, m: tt.where(m, x[i], 0.0), [x, index, mask])


def test_float32_inputs_are_refused_with_a_reason():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"input 0 .*float32.*float64"):
        gradcheck(square, [x])
    # A float32 input that requires no grad is a constant, and allowed.
    assert gradcheck(lambda x, c: x * c, [f64([1.0]), Tensor([2.0])])


def test_bad_arguments_are_refused():
    x = f64([1.0])
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(square, [x.detach()])
    with pytest.raises(TypeError, match="sequence of Tensors"):
        gradcheck(square, x)
    with pytest.raises(TypeError, match="input 0 is a ndarray"):
        gradcheck(square, [np.ones(2)])
    with pytest.raises(TypeError, match="must return a Tensor"):
        gradcheck(lambda x: x.data, [x])


def test_leaves_the_callers_tensors_alone():
    x = f64([0.5, 1.5])
    x.grad = Tensor([7.0, 7.0], dtype=tt.float64)
    before = x.data.copy()
    gradcheck(square, [x])
    np.testing.assert_array_equal(x.data, before)
    np.testing.assert_array_equal(x.grad.data, [7.0, 7.0])


def test_works_inside_no_grad_and_restores_it():
    x = f64([0.5, 1.5])
    with no_grad():
        assert gradcheck(square, [x])
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_non_leaf_inputs_are_checked_as_leaves():
    base = f64([0.5, 1.5])
    assert gradcheck(square, [base * 2.0])


def test_empty_inputs_and_outputs():
    x = f64(np.zeros((0, 3)))
    assert gradcheck(lambda x: x.sum(axis=0), [x])
    assert gradcheck(lambda x: x * 2.0, [x])


def test_the_upstream_gradient_is_random_not_ones():
    # A rule that gives every element the mean of the upstream gradient is right when that
    # gradient is all ones (all a checker that backpropagates ones would try), wrong otherwise.
    def fake_identity(x):
        return record("test_fake_identity", x.data.copy(), (x,))

    @register_gradient("test_fake_identity")
    def _fake_identity(grad, node):
        return (np.full(node.inputs[0].shape, grad.mean()),)

    with pytest.raises(AssertionError):
        gradcheck(fake_identity, [f64([1.0, 2.0, 3.0])])


# ---- modules: their parameters are checked too ---------------------------------------------
def _scaled_product(x, w):
    """x * w with a wrong gradient for w (half of it): what a module's check must catch."""
    return record("test_half_wrong_scale", x.data * w.data, (x, w))


@register_gradient("test_half_wrong_scale")
def _half_wrong_scale(grad, node):
    x, w = node.inputs
    return (grad * w.data, 0.5 * (grad * x.data).sum(axis=0))


class _Scale(Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.w = Parameter(tt.tensor(np.linspace(0.5, 1.5, n), dtype=tt.float64))

    def forward(self, x):
        return _scaled_product(x, self.w)


def test_a_modules_parameters_are_checked_and_named():
    model = _Scale(3)
    x = f64(np.ones((2, 3)))
    with pytest.raises(AssertionError, match=r"gradient of parameter 'w' \(shape \(3,\)\)"):
        gradcheck(model, [x])
    # The same function with only the input checked passes: the wrong part is the weight's.
    assert gradcheck(lambda x: model(x), [x])


def test_parameters_are_restored_bit_for_bit_with_their_grad():
    model = Linear(4, 3).to(dtype=tt.float64)
    before = {n: p.data.copy() for n, p in model.named_parameters()}
    marker = Tensor(np.full((3, 4), 7.0))
    model.weight.grad = marker
    assert gradcheck(model, [f64(np.random.default_rng(0).standard_normal((2, 4)))])
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, before[name])
    assert model.weight.grad is marker
    assert model.bias.grad is None


def test_parameters_of_a_module_called_by_a_function():
    model = Linear(3, 2).to(dtype=tt.float64)
    x = f64(np.random.default_rng(1).standard_normal((4, 3)))
    assert gradcheck(lambda x: (model(x) ** 2).sum(), [x], parameters=model)
    assert gradcheck(lambda: (model(x.detach()) ** 2).sum(), [], parameters=model)


def test_float32_parameters_are_refused_naming_the_fix():
    with pytest.raises(TypeError, match=r"parameter 'weight' .* float32; .*model.to\(dtype"):
        gradcheck(Linear(3, 2), [f64(np.ones((1, 3)))])


def test_samples_checks_a_fixed_subset_and_still_catches_a_wrong_rule():
    model = _Scale(50)
    x = f64(np.ones((2, 50)))
    with pytest.raises(AssertionError, match=r"of 5 elements checked"):
        gradcheck(model, [x], samples=5)
    with pytest.raises(ValueError, match="samples must be a positive int"):
        gradcheck(model, [x], samples=0)
