"""no_grad / enable_grad / set_grad_enabled: context managers, decorators, nesting, exceptions."""

import pytest

import tinytorch.tensor as tt
from tinytorch.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from tinytorch.tensor import graph


@pytest.fixture(autouse=True)
def grad_mode_is_restored():
    assert is_grad_enabled()
    yield
    # A test that leaks a switched-off mode would make every later test wrong.
    leaked = not is_grad_enabled()
    graph.set_grad_enabled(True)
    assert not leaked, "the test left grad mode off"


def recorded(w):
    return (w * 2.0).requires_grad


def test_no_grad_as_a_context_manager():
    w = tt.ones(2, requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        out = w * 2.0
    assert out.node is None
    assert not out.requires_grad
    assert recorded(w)


def test_no_grad_as_a_decorator():
    w = tt.ones(2, requires_grad=True)

    @no_grad()
    def evaluate(t):
        """Docstring kept."""
        return recorded(t), is_grad_enabled()

    assert evaluate(w) == (False, False)
    assert evaluate.__doc__ == "Docstring kept."
    assert evaluate.__name__ == "evaluate"
    assert recorded(w)
    assert evaluate(w) == (False, False)  # the decorator works on every call


def test_enable_grad_inside_no_grad_as_context_and_decorator():
    w = tt.ones(2, requires_grad=True)

    @enable_grad()
    def train_step(t):
        return recorded(t)

    with no_grad():
        with enable_grad():
            assert recorded(w)
        assert not recorded(w)
        assert train_step(w)
        assert not recorded(w)


def test_set_grad_enabled_as_context_and_decorator():
    w = tt.ones(2, requires_grad=True)
    for mode in (False, True):
        with set_grad_enabled(mode):
            assert recorded(w) is mode
        assert recorded(w)

    @set_grad_enabled(False)
    def frozen(t):
        return recorded(t)

    assert recorded(w)  # decorating switched nothing in the caller
    assert frozen(w) is False
    assert recorded(w)


def test_set_grad_enabled_as_a_plain_call_switches_for_good():
    # As torch.set_grad_enabled: the call itself switches the mode.
    w = tt.ones(2, requires_grad=True)
    set_grad_enabled(False)
    try:
        assert not recorded(w)
        with enable_grad():
            assert recorded(w)
        assert not recorded(w)
    finally:
        set_grad_enabled(True)
    assert recorded(w)


def test_nesting_restores_each_level():
    states = []
    with no_grad():
        states.append(is_grad_enabled())
        with enable_grad():
            states.append(is_grad_enabled())
            with set_grad_enabled(False):
                states.append(is_grad_enabled())
                with no_grad():
                    states.append(is_grad_enabled())
                states.append(is_grad_enabled())
            states.append(is_grad_enabled())
        states.append(is_grad_enabled())
    states.append(is_grad_enabled())
    assert states == [False, True, False, False, False, True, False, True]


def test_the_same_object_can_be_reused_and_nested():
    guard = no_grad()
    with guard:
        with guard:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()
    with guard:
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_the_mode_is_restored_when_an_exception_escapes():
    with pytest.raises(KeyError), no_grad():
        raise KeyError("boom")
    assert is_grad_enabled()

    @no_grad()
    def fails():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        fails()
    assert is_grad_enabled()

    with no_grad():
        with pytest.raises(RuntimeError), enable_grad():
            raise RuntimeError
        assert not is_grad_enabled()


def test_in_place_updates_of_parameters_need_no_grad():
    # The pattern every optimizer uses: update the leaf's data without recording.
    w = tt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w -= 0.1
    with no_grad():
        w -= 0.1
    assert w.is_leaf
    assert w.requires_grad
