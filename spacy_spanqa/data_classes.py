"""Reader data: question+context windows. `Answer` lives in results.py (imported here for old code)."""
from dataclasses import dataclass, field
from typing import List, Optional

from .results import Answer  # noqa: F401  (its home is results.py; this name keeps old imports working)


@dataclass
class QAWindows:
    """Question+context pairs cut into model-sized windows (unpadded).

    `offsets[w][t]` is the (start, end) character range of token t in the
    context of pair `pair_index[w]`, or None when t is not a context token.
    `labels` holds (start_token, end_token) training targets; (0, 0) points at
    the first ([CLS]) token, the null answer.
    """

    input_ids: List[List[int]]
    token_type_ids: Optional[List[List[int]]]
    offsets: List[List[Optional[tuple]]]
    pair_index: List[int]
    labels: List[tuple] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.input_ids)
