"""The package imports with only its declared dependencies: the vision extra stays unimported."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_pull_in_the_vision_extra() -> None:
    code = (
        "import sys, tinytorch.compression as c; "
        "print('tinytorch.convolutions' in sys.modules, len(c.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, count = out.stdout.split()
    assert loaded == "False"
    assert int(count) > 20
