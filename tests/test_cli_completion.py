"""Shell completion (click 8): the scripts docs/cli.md tells users to install, and what they complete."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_MAIN = "from facecodec.cli import main; main(prog_name='facecodec')"


def _complete(**env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _MAIN],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script(shell: str) -> None:
    script = _complete(_FACECODEC_COMPLETE=f"{shell}_source")
    assert "_facecodec_completion" in script
    assert "_FACECODEC_COMPLETE" in script


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("facecodec en", "plain,encode"),
        ("facecodec train ex", "plain,export\nplain,export-runtime"),
        ("facecodec encode --device c", "plain,cpu\nplain,cuda"),
        ("facecodec encode --model face-h", "plain,face-hp-v1"),
        ("facecodec encode --model face", "plain,face-fer-v10\nplain,face-fer-v9\nplain,face-fer-v3\nplain,face-hp-v1"),
        ("facecodec encode exa", "file,exa"),
        ("facecodec decode -o exa", "file,exa"),
        ("facecodec info exa", "file,exa"),
    ],
)
def test_bash_completions(words: str, expected: str) -> None:
    out = _complete(
        _FACECODEC_COMPLETE="bash_complete",
        COMP_WORDS=words,
        COMP_CWORD=str(len(words.split()) - 1),
    )
    assert out.strip() == expected
