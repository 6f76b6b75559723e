"""The functional forms of this module's ops (``torch.nn.functional``'s names and signatures).

Each is defined, beside its gradient rule, in the file of its family: :mod:`.conv`,
:mod:`.pooling`, :mod:`.normalization`. ``windows`` and ``output_size`` are the index
arithmetic they all share (the strided view of every kernel patch, and how many fit), public so
that a later module computing a convolution its own way (int8, or without the graph) does not
write it again.

Example:
    >>> from tinytorch.tensor import ones
    >>> from tinytorch.convolutions import functional as F
    >>> F.max_pool2d(F.conv2d(ones(1, 1, 6, 6), ones(2, 1, 3, 3), padding=1), 2).shape
    (1, 2, 3, 3)
"""

from tinytorch.convolutions._windows import output_size, windows
from tinytorch.convolutions.conv import conv2d
from tinytorch.convolutions.normalization import batch_norm
from tinytorch.convolutions.pooling import avg_pool2d, max_pool2d

__all__ = ["avg_pool2d", "batch_norm", "conv2d", "max_pool2d", "output_size", "windows"]
