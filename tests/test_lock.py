"""The locks (issue 22 point 8): the Space and CI install exact versions of every transitive dependency.

`requirements.txt` (what a Space installs) and `requirements-dev.txt` (what CI installs) are
written by `python .ci/lock.py` from the `.in` files. Here, without a network: every line is an
exact pin, gradio is the README card's `sdk_version`, both locks agree, each lock satisfies its
`.in` file (an edit there without a refresh fails), and each is closed: every dependency of a
pinned package, as its installed metadata declares it, is pinned too. In CI's fresh environment
(`CI` set, as `.ci/run` runs) `pip freeze` shows exactly the dev lock.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support import ROOT

LOCKS = {"requirements.txt": "requirements.in", "requirements-dev.txt": "requirements-dev.in"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s=;#]+)$")


def pins(lock: str) -> dict[str, str]:
    """{canonical name: version}; fails on any line that is not a comment or an exact pin."""
    found = {}
    for line in (ROOT / lock).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{lock}: not an exact pin: {line!r}"
        found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def requirements(source: str) -> list[Requirement]:
    """The requirements of a `.in` file, following `-r` includes."""
    found = []
    for line in (ROOT / source).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            found += requirements(line[3:].strip())
        elif line:
            found.append(Requirement(line))
    return found


def card_value(key: str) -> str:
    front = (ROOT / "README.md").read_text().split("---")[1]
    return re.search(rf"^{key}:\s*\"?([^\"\n]+?)\"?\s*$", front, re.M).group(1)


def test_every_line_is_an_exact_pin_and_gradio_is_the_cards_sdk_version():
    for lock in LOCKS:
        assert pins(lock)["gradio"] == card_value("sdk_version") == "6.31.0", lock


def test_the_spaces_lock_agrees_with_cis_lock():
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime
    assert {canonicalize_name(r.name) for r in requirements("requirements.in")} <= set(runtime)


@pytest.mark.parametrize("lock", LOCKS)
def test_each_lock_satisfies_its_in_file(lock):
    locked = pins(lock)
    for requirement in requirements(LOCKS[lock]):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not in {lock}: run python .ci/lock.py"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{lock} pins {name}=={locked[name]}, outside {requirement}: run python .ci/lock.py"
        )


@pytest.mark.parametrize("lock", LOCKS)
def test_each_lock_pins_every_transitive_dependency(lock):
    locked = pins(lock)
    wanted = [(canonicalize_name(r.name), frozenset(r.extras)) for r in requirements(LOCKS[lock])]
    seen: set[tuple[str, frozenset]] = set()
    while wanted:
        name, extras = wanted.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        assert name in locked, f"{name} is needed but not pinned in {lock}: run python .ci/lock.py"
        for text in importlib.metadata.distribution(name).requires or []:
            requirement = Requirement(text)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environments):
                wanted.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))


def test_this_environment_has_the_locked_versions():
    locked = pins("requirements-dev.txt")
    installed = {name: importlib.metadata.version(name) for name in locked}
    assert installed == locked, "pip install -r requirements-dev.txt"


@pytest.mark.skipif(not os.environ.get("CI"), reason="CI's fresh environment only: a developer's may hold more")
def test_ci_installs_exactly_the_lock():
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
    ).stdout
    shown = {canonicalize_name(n): v for n, v in (line.split("==") for line in frozen.splitlines() if "==" in line)}
    assert shown == pins("requirements-dev.txt")
