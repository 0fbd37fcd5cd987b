"""Shared fixtures. Keep the Hub client offline and its caches isolated before any import.

Nothing here starts a server at import: the local Hub starts on the first test that asks for
`hub_server` (see tests/support/hub.py); the Tushare server per test module, from `served_market`.
"""

import os
import sys

import pytest

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_UPDATE_DOWNLOAD_COUNTS", "0")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # hf_xet's bars would fill every failure report

# One Hub-compatible server for the whole session. huggingface_hub and datasets read HF_ENDPOINT
# once, at import, so it must be set here, before any test module imports them (no trailing slash:
# datasets mangles `…/datasets/x` into `hf://atasets/x` otherwise). The address is reserved now;
# the server starts on first use.
if "huggingface_hub" in sys.modules or "datasets" in sys.modules:
    raise RuntimeError(
        "huggingface_hub was imported before tests/conftest.py could point HF_ENDPOINT at the local "
        "test Hub; remove the early import (e.g. from a plugin or a root conftest)."
    )

from sync.targets.hub_xet import bound_xet_retries  # noqa: E402
from tests.support.hub import ENDPOINT, session_hub  # noqa: E402

os.environ["HF_ENDPOINT"] = ENDPOINT
os.environ.pop("HF_TOKEN", None)  # never send a developer's real token to the test server

# hf_xet reads its retry policy once, when huggingface_hub starts its process-wide session: take the
# product's bound (sync.targets.hub_xet) with short waits, whichever test starts the session
# (tests/sync/targets/test_hub_xet.py times the real waits in a fresh process).
bound_xet_retries()
os.environ.setdefault("HF_XET_CLIENT_RETRY_BASE_DELAY", "50ms")


def pytest_report_header(config):
    if config.option.markexpr == "not slow":
        return 'fast tier: tests marked slow are deselected; python -m pytest -m "" runs every test'
    return None


@pytest.fixture
def hf_home(tmp_path, monkeypatch):
    """A fresh, empty HF_HOME for this test (hub cache, datasets cache, token paths).

    A warm cache hides failures: `load_dataset` silently serves a cached build when the Hub errors
    (hub-protocol.md G1). huggingface_hub and datasets turn HF_HOME into module constants at import,
    so besides the environment this patches those constants; both libraries read them at call time.
    """
    import datasets.config
    import huggingface_hub.constants as hub_constants
    from huggingface_hub import HfFileSystem

    home = tmp_path / "hf_home"
    home.mkdir()
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    for name, value in {
        "HF_HOME": home,
        "HF_HUB_CACHE": home / "hub",
        "HUGGINGFACE_HUB_CACHE": home / "hub",
        "HF_ASSETS_CACHE": home / "assets",
        "HUGGINGFACE_ASSETS_CACHE": home / "assets",
        "HF_XET_CACHE": home / "xet",
        "HF_TOKEN_PATH": home / "token",
        "HF_STORED_TOKENS_PATH": home / "stored_tokens",
        "AGENT_HARNESSES_PATH": home / ".agent_harnesses.json",
    }.items():
        if hasattr(hub_constants, name):
            monkeypatch.setattr(hub_constants, name, str(value))
    datasets_cache = home / "datasets"
    monkeypatch.setattr(datasets.config, "HF_CACHE_HOME", str(home))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", datasets_cache)
    monkeypatch.setattr(datasets.config, "HF_MODULES_CACHE", home / "modules")
    monkeypatch.setattr(datasets.config, "DOWNLOADED_DATASETS_PATH", datasets_cache / "downloads")
    monkeypatch.setattr(datasets.config, "EXTRACTED_DATASETS_PATH", datasets_cache / "downloads" / "extracted")
    HfFileSystem.clear_instance_cache()  # its dircache and repo-exists cache outlive a test otherwise
    yield home
    HfFileSystem.clear_instance_cache()


@pytest.fixture(scope="session")
def session_hub_server():
    """The session's local Hub, started here on first use and stopped when the session ends."""
    hub = session_hub()
    yield hub
    hub.stop()


@pytest.fixture
def hub_server(request, session_hub_server, hf_home):
    """The session's local Hub (`tests.support.hub_server.HubServer`), emptied for this test.

    `hub_server.url` equals HF_ENDPOINT; every test starts with no repos, no auth and no injected
    failures, and with a fresh HF_HOME (via `hf_home`). It stores files like the real Hub, with
    Xet, unless `HUB_TEST_STORAGE=regular` or the test is marked `@pytest.mark.hub_storage("regular")`.
    """
    session_hub_server.reset()
    marker = request.node.get_closest_marker("hub_storage")
    if marker is not None:
        session_hub_server.storage = marker.args[0]
    yield session_hub_server
    session_hub_server.reset()


@pytest.fixture
def served_market(market):
    """(server, source): our Tushare server over the test module's `market`, its clock at the market's
    last day 20:00 Shanghai, and a Source talking to it (tests.support.serving.served)."""
    from tests.support.serving import at, served

    with served(market, at(market.spec.end)) as pair:
        yield pair


@pytest.fixture
def server(served_market):
    return served_market[0]


@pytest.fixture
def source(served_market):
    return served_market[1]
