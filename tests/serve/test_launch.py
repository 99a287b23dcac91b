"""`spanqa serve` refuses to start beyond loopback without a token, and checks
its options before loading anything heavy."""
import os
import socket
import subprocess
import sys

import pytest

from spacy_spanqa.serve.security import host_refusal, is_loopback, token_matches

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Runs `spanqa ARGS...`, then says whether torch was imported.
RUN_CLI = (
    "import sys\nfrom spacy_spanqa.cli import main\nsys.argv = ['spanqa'] + sys.argv[1:]\n"
    "try:\n    main()\nfinally:\n    print('torch loaded' if 'torch' in sys.modules else 'torch not loaded')\n"
)


def spanqa(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("SPANQA_TOKEN", "SPANQA_INDEX")}
    return subprocess.run([sys.executable, "-c", RUN_CLI, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**environment, **env})


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_need_no_token(host):
    assert is_loopback(host) and host_refusal(host, None) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.com"])
def test_other_hosts_need_a_token(host):
    assert not is_loopback(host)
    assert host_refusal(host, None).startswith(f"Listening on {host} lets other machines ask")
    assert host_refusal(host, "a-long-token") is None


def test_an_empty_token_is_refused_anywhere():
    assert host_refusal("127.0.0.1", "  ").startswith("The API token is empty")


def test_tokens_compare_only_as_a_bearer_header():
    assert token_matches("Bearer abc", "abc") and token_matches("bearer abc", "abc")
    assert not token_matches("Basic abc", "abc") and not token_matches("Bearer abcd", "abc")
    assert not token_matches(None, "abc")


def test_cli_refuses_a_public_host_without_a_token_in_one_sentence():
    run = spanqa("serve", "--host", "0.0.0.0")
    assert run.returncode == 1
    assert run.stderr.strip() == (
        "Error: Listening on 0.0.0.0 lets other machines ask and read insights, so give an API token with --token "
        "or SPANQA_TOKEN (clients send it as `Authorization: Bearer TOKEN`), or keep the default --host 127.0.0.1."
    )
    assert run.stdout.strip() == "torch not loaded"


def test_cli_takes_the_token_from_the_environment_then_checks_the_index(tmp_path):
    run = spanqa("serve", "--host", "0.0.0.0", "--index", str(tmp_path / "missing.idx"), SPANQA_TOKEN="t0ken")
    assert run.returncode == 1
    assert run.stderr.strip().startswith(f"Error: No index at {tmp_path / 'missing.idx'}")
    assert run.stdout.strip() == "torch not loaded"


def test_cli_says_when_the_port_is_taken(tmp_path):
    (tmp_path / "kb.idx").mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = spanqa("serve", "--index", str(tmp_path / "kb.idx"), "--port", str(port))
    assert run.returncode == 1
    assert run.stderr.strip().startswith(f"Error: Cannot listen on 127.0.0.1:{port} (")
    assert run.stderr.strip().endswith("); pick another --port or --host.")
