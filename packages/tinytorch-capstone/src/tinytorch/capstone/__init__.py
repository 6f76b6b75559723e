"""TinyTorch module 20: the Torch Olympics, MLPerf-style submissions that a verifier re-measures.

- :mod:`~tinytorch.capstone.events`: the five events, the two divisions, their rules.
- :mod:`~tinytorch.capstone.techniques`: the named optimizations (``prune``, ``quantize``,
  ``accelerate``, ``low-rank``; ``kv-cache``, ``quantize-dynamic``).
- :func:`submit`: train the reference, optimize, measure with module 19, write the document
  (JSON Schema ``schema/submission-1.schema.json``) and the weights.
- :func:`verify`: re-measure and accept or refuse, naming the field.
- :func:`leaderboard`: rank the verified submissions of a folder, as Markdown and HTML.

Example:
    >>> from tinytorch.capstone import EVENTS
    >>> list(EVENTS)
    ['latency-sprint', 'memory-challenge', 'accuracy-contest', 'all-around', 'extreme-push']
"""

from tinytorch.capstone.events import DIVISIONS, EVENTS, check_constraints
from tinytorch.capstone.leaderboard import Board, leaderboard
from tinytorch.capstone.references import Reference, train_reference
from tinytorch.capstone.submission import Submission, SubmissionError, load_document, submit
from tinytorch.capstone.techniques import TECHNIQUES, System, apply_techniques
from tinytorch.capstone.validate import load_schema
from tinytorch.capstone.verify import DEFAULT_LATENCY_TOLERANCE, VerifyReport, verify

__all__ = [
    "DEFAULT_LATENCY_TOLERANCE",
    "DIVISIONS",
    "EVENTS",
    "TECHNIQUES",
    "Board",
    "Reference",
    "Submission",
    "SubmissionError",
    "System",
    "VerifyReport",
    "apply_techniques",
    "check_constraints",
    "leaderboard",
    "load_document",
    "load_schema",
    "submit",
    "train_reference",
    "verify",
]
