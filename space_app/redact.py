"""What the Space may show: secrets scrubbed and local paths hidden, in every log line, error and status.

`sync.core.scrub` removes the tokens; the Space also hides the folders of this machine (the dataset
folder, the working directory, the home directory), since a public page must not describe the
machine it runs on.

    >>> Redactor(secrets=["s3cret-token"], paths=["/data/ds"]).text("bad s3cret-token at /data/ds/x")
    'bad *** at <dataset>/x'
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from sync.core.scrub import scrub
from sync.targets import is_hub
from sync.targets.local import store_of


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = (), paths: Sequence[str] = (), labels: Sequence[str] = ()):
        self.secrets = tuple(s for s in secrets if s)
        # The first path is the dataset; the others are machine folders. Longest first: nested paths.
        named = [(p, labels[i] if i < len(labels) else "<dataset>") for i, p in enumerate(paths) if p and p != os.sep]
        self.paths = sorted(named, key=lambda item: len(item[0]), reverse=True)

    def text(self, text: str) -> str:
        text = scrub(text, self.secrets)
        for path, label in self.paths:
            text = text.replace(path, label)
        return text


def for_target(secrets: Iterable[str | None], target: str) -> Redactor:
    """A redactor for a Space publishing to `target` (a Hub id is public and stays visible)."""
    paths, labels = [], []
    if not is_hub(target):
        folder = os.path.abspath(target)
        paths += [str(store_of(Path(folder))), folder]
        labels += ["<dataset store>", "<dataset>"]
    for folder, label in ((os.getcwd(), "<app>"), (os.path.expanduser("~"), "<home>")):
        paths.append(folder)
        labels.append(label)
    return Redactor(secrets, paths, labels)
