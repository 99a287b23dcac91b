"""Reliability diagrams: how often a reader's answers are right at each
confidence, against the diagonal of perfect calibration. Needs matplotlib
(`pip install "spacy-spanqa[plot]"`)."""
from pathlib import Path
from typing import Dict, Sequence

INSTALL = 'Drawing plots needs matplotlib: pip install "spacy-spanqa[plot]".'


def plot_reliability(tables: Dict[str, Sequence[dict]], path: Path, title: str = "") -> Path:
    """Draw one reliability curve per table (name -> `Bin.to_dict()` rows, as
    `spanqa evaluate` prints them) with bar heights of the question counts, and
    save it to `path` (PNG, SVG or PDF by its suffix)."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError(INSTALL) from None
    path = Path(path)
    fig, (curve, counts) = plt.subplots(
        2, 1, figsize=(5.5, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    curve.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    width = 0.8 / max(len(tables), 1) / 10
    for n, (name, rows) in enumerate(tables.items()):
        scores = [r["mean_score"] for r in rows]
        right = [r["accuracy"] for r in rows]
        curve.plot(scores, right, marker="o", label=name)
        lows = [float(r["range"].split("-")[0]) for r in rows]
        counts.bar([low + 0.01 + n * width for low in lows], [r["count"] for r in rows], width=width, align="edge", label=name)
    curve.set_ylabel("share of answers right")
    curve.set_xlim(0, 1)
    curve.set_ylim(0, 1)
    curve.legend(loc="upper left", fontsize="small")
    curve.set_title(title or "Reliability of the reader's confidence")
    counts.set_xlabel("confidence (calibrated score)")
    counts.set_ylabel("questions")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
