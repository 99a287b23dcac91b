"""Old import paths that keep working for one release, with a DeprecationWarning
(the module `__getattr__` spaCy uses when it moves a module)."""
import importlib
import warnings
from typing import Any, Callable, Dict

REMOVAL = "0.4"


def moved(old: str, new: Dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `old` that finds each name in the module `new[name]`
    (a "*" key covers every other name) and warns once per use."""

    def __getattr__(name: str) -> Any:
        where = new.get(name, new.get("*"))
        if where is None or name.startswith("__"):
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(
            f"{old}.{name} moved to {where}.{name}; the old path goes away in spacy-spanqa {REMOVAL}.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(where), name)

    return __getattr__
