"""Shell completion: ``iamledger completion bash|zsh|fish`` prints click's script, and the installed command answers
the script's requests (click's ``_IAMLEDGER_COMPLETE`` protocol) without importing the store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli_startup import HEAVY, loaded, run_main

SCRIPT = Path(sys.executable).with_name("iamledger")


def iamledger(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a shell runs it."""
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env={**os.environ, **env}, check=False, timeout=120
    )


def bash_complete(line: str) -> list[str]:
    """What the script's bash function asks for ``line`` (the word under the cursor being the last one)."""
    words = line.split(" ")
    result = iamledger(_IAMLEDGER_COMPLETE="bash_complete", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_clicks_script_for_each_shell(shell):
    printed = iamledger("completion", shell)
    sourced = iamledger(_IAMLEDGER_COMPLETE=f"{shell}_source")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == sourced.stdout
    assert "_IAMLEDGER_COMPLETE" in printed.stdout
    assert f"{shell}_complete" in printed.stdout
    assert "iamledger" in printed.stdout


def test_completion_of_an_unknown_shell_is_a_usage_error():
    result = iamledger("completion", "powershell")
    assert result.returncode == 2
    assert "'powershell' is not one of 'bash', 'zsh', 'fish'" in result.stderr


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("iamledger ia", ["plain,iam"]),
        ("iamledger iam create-u", ["plain,create-user"]),
        ("iamledger sts get-c", ["plain,get-caller-identity"]),
        ("iamledger audit lookup", ["plain,lookup-events"]),
        ("iamledger comp", ["plain,completion"]),
        ("iamledger completion f", ["plain,fish"]),
        ("iamledger --out", ["plain,--output"]),
        ("iamledger --output t", ["plain,table", "plain,text"]),
    ],
)
def test_the_command_completes_words_by_clicks_protocol(line, expected):
    assert bash_complete(line) == expected


def test_zsh_and_fish_completion_carry_each_commands_help():
    zsh = iamledger(_IAMLEDGER_COMPLETE="zsh_complete", COMP_WORDS="iamledger ini", COMP_CWORD="1")
    assert zsh.stdout.splitlines() == ["plain", "init", "Create the store (if needed), its first..."]
    fish = iamledger(_IAMLEDGER_COMPLETE="fish_complete", COMP_WORDS="iamledger iam list-user", COMP_CWORD="list-user")
    assert fish.stdout.splitlines()[-1] == "plain,list-users\tLists the IAM users that have the..."


def test_bash_completes_through_the_installed_script(tmp_path):
    script = iamledger("completion", "bash").stdout
    (tmp_path / "completion.bash").write_text(script)
    session = (
        f"source {tmp_path / 'completion.bash'}\n"
        "COMP_WORDS=(iamledger sts get-caller); COMP_CWORD=2; _iamledger_completion iamledger\n"
        'echo "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{SCRIPT.parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-c", session], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["get-caller-identity"]


@pytest.mark.parametrize(
    ("line", "allowed"),
    [
        ("iamledger ", ()),
        ("iamledger ia", ()),
        ("iamledger --output t", ()),
        ("iamledger iam create-u", ("botocore",)),  # the command's help comes from botocore's model
    ],
)
def test_completion_imports_no_store(tmp_path, line, allowed):
    env = {"_IAMLEDGER_COMPLETE": "bash_complete", "COMP_WORDS": line, "COMP_CWORD": str(len(line.split(" ")) - 1)}
    code, printed, modules = run_main(tmp_path, env=env)
    assert code == 0, printed
    assert printed
    assert [name for name in HEAVY if name not in allowed and loaded(modules, name)] == []
    assert not (tmp_path / "iamledger.db").exists()
