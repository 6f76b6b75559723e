"""Importing tinytorch.autograd registers into tinytorch.tensor.graph and changes nothing else.

The check runs in a fresh interpreter, so that "before" truly means autograd not yet imported:
the same ops, with and without tensors that require grad, are computed before and after the
import and compared bit for bit, along with the Tensor class's attributes.
"""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tinytorch.tensor as tt

    def results():
        g = tt.Generator(0)
        x = tt.randn(4, 5, generator=g, dtype=tt.float64, requires_grad=True)
        y = tt.randn(5, 3, generator=g)
        c = tt.randn(4, 5, generator=g)
        outs = [
            x + c, x - 1.5, x * c, x / (c.abs() + 1.0), x**2, x.abs() ** c.abs(), -x,
            x.exp(), (x.abs() + 1.0).log(), x.abs().sqrt(), x.clip(-0.5, 0.5), x.float(),
            x.sum(axis=1), x.mean(), x.var(axis=0), x.max(axis=1).values, x.min(), x.reshape(5, 4),
            x.T, x[:, :1].expand(4, 3), x[[0, 0, 2]], x.float() @ y, tt.cat([x, x]),
            tt.stack([c, c], axis=1), tt.where(c > 0, x, 0.0), c @ y, (c * 2.0).exp(),
        ]
        return [(o.data.tobytes(), o.dtype.str, o.shape, o.requires_grad) for o in outs]

    assert "tinytorch.autograd" not in sys.modules, "imported too early"
    before = results()
    tensor_attrs = {k: v for k, v in vars(tt.Tensor).items()}
    assert "tinytorch.autograd" not in sys.modules, "a forward imported autograd"

    import tinytorch.autograd

    after = results()
    assert before == after, "a forward changed when autograd was imported"
    assert {k: v for k, v in vars(tt.Tensor).items()} == tensor_attrs, "Tensor was patched"
    print("same", len(before))
    """
)


def test_importing_autograd_changes_no_forward_result():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["same", "27"]


def test_backward_finds_the_engine_without_an_import():
    # The entry point does it: a user who never imports autograd still gets gradients.
    script = textwrap.dedent(
        """
        import sys
        import tinytorch.tensor as tt
        x = tt.tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        print(x.grad.tolist(), "tinytorch.autograd" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[2.0, 4.0] True"
