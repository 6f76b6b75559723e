"""TinyTorch module 16: compression. Pruning that really shrinks, low-rank layers, distillation.

- :mod:`~tinytorch.compression.prune`: ``torch.nn.utils.prune``'s unstructured pruning
  (``l1_unstructured``, ``random_unstructured``, ``global_unstructured``, ``custom_from_mask``,
  ``remove``, ``is_pruned``) by the same reparametrisation: ``weight_orig``, ``weight_mask``
  and a forward pre-hook that recomputes ``weight = weight_orig * weight_mask``.
- :mod:`~tinytorch.compression.sparsity`: exact sparsity per tensor and overall; an iterative
  schedule (prune a little, fine-tune, repeat).
- :mod:`~tinytorch.compression.sparse`: CSR export of a pruned weight (bytes from ``nbytes``)
  and a vectorized sparse-times-dense product for inference.
- :mod:`~tinytorch.compression.structured`: structured pruning that removes neurons and
  channels physically, returning a smaller dense Sequential.
- :mod:`~tinytorch.compression.lowrank`: a Linear replaced by two of rank ``r`` (SVD energy).
- :mod:`~tinytorch.compression.distillation`: Hinton's loss and a teacher -> student loop.

Example:
    >>> from tinytorch.layers import Linear
    >>> layer = l1_unstructured(Linear(64, 128), "weight", amount=0.9)
    >>> round(sparsity_report(layer).fraction, 3), to_sparse_csr(layer.weight).nnz
    (0.9, 819)
"""

from tinytorch.compression.distillation import DistillationLoss, distillation_loss, train_student
from tinytorch.compression.lowrank import factorize_linear, low_rank, rank_for_energy
from tinytorch.compression.prune import (
    BasePruningMethod,
    CustomFromMask,
    L1Unstructured,
    PruningContainer,
    RandomUnstructured,
    custom_from_mask,
    global_unstructured,
    is_pruned,
    l1_unstructured,
    random_unstructured,
    remove,
)
from tinytorch.compression.sparse import CSRMatrix, csr_linear, to_sparse_csr
from tinytorch.compression.sparsity import (
    LayerSparsity,
    SparsityReport,
    effective_weight,
    iterative_pruning,
    prunable_parameters,
    sparsity_report,
)
from tinytorch.compression.structured import held_bytes, output_norms, structured_prune

__all__ = [
    "BasePruningMethod",
    "CSRMatrix",
    "CustomFromMask",
    "DistillationLoss",
    "L1Unstructured",
    "LayerSparsity",
    "PruningContainer",
    "RandomUnstructured",
    "SparsityReport",
    "csr_linear",
    "custom_from_mask",
    "distillation_loss",
    "effective_weight",
    "factorize_linear",
    "global_unstructured",
    "held_bytes",
    "is_pruned",
    "iterative_pruning",
    "l1_unstructured",
    "low_rank",
    "output_norms",
    "prunable_parameters",
    "random_unstructured",
    "rank_for_energy",
    "remove",
    "sparsity_report",
    "structured_prune",
    "to_sparse_csr",
    "train_student",
]
