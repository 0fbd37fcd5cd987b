"""Secrets never leave the process (docs/operations.md): `scrub` for texts, `display_url` for URLs."""

import pytest

from sync.core.scrub import display_url, scrub

SECRET_VARIABLES = ("TUSHARE_TOKEN", "HF_TOKEN", "SYNC_ADMIN_TOKEN")


@pytest.fixture(autouse=True)
def no_secrets_in_the_environment(monkeypatch):
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# -- scrub ------------------------------------------------------------------------------------


def test_a_given_secret_is_replaced_everywhere_in_the_text():
    text = "POST token=f00dcafe1234 refused; retry with f00dcafe1234"
    assert scrub(text, ["f00dcafe1234"]) == "POST token=*** refused; retry with ***"


def test_several_given_secrets_are_all_replaced():
    assert scrub("tushare abcd1234 hf hf_zzzz9999", ["abcd1234", "hf_zzzz9999"]) == "tushare *** hf ***"


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
def test_a_secret_from_the_environment_is_replaced_without_being_passed(monkeypatch, variable):
    monkeypatch.setenv(variable, "env-secret-5678")
    assert scrub("echoed env-secret-5678 back") == "echoed *** back"


def test_secrets_from_the_environment_and_from_the_arguments_are_both_replaced(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_fromTheEnv")
    assert scrub("hf_fromTheEnv and settings-token", ["settings-token"]) == "*** and ***"


def test_other_environment_variables_are_not_treated_as_secrets(monkeypatch):
    monkeypatch.setenv("DATASET_REPO", "./dataset")
    monkeypatch.setenv("TUSHARE_API_URL", "http://api.waditu.com/dataapi")
    text = "target ./dataset at http://api.waditu.com/dataapi"
    assert scrub(text) == text


def test_a_longer_secret_that_contains_a_shorter_one_is_replaced_whole():
    # Replacing "abcd" first would leave "***5678" and leak the tail of the longer secret.
    text = "short abcd, long abcd5678"
    assert scrub(text, ["abcd", "abcd5678"]) == "short ***, long ***"
    assert scrub(text, ["abcd5678", "abcd"]) == "short ***, long ***"


def test_a_longer_secret_from_the_environment_wins_over_a_shorter_given_one(monkeypatch):
    monkeypatch.setenv("TUSHARE_TOKEN", "token-abcdef-123456")
    assert scrub("got token-abcdef-123456", ["abcdef"]) == "got ***"


@pytest.mark.parametrize("short", ["a", "ab", "abc"])
def test_strings_shorter_than_four_characters_are_not_scrubbed(short, monkeypatch):
    text = "a cab is a car"
    assert scrub(text, [short]) == text
    monkeypatch.setenv("SYNC_ADMIN_TOKEN", short)
    assert scrub(text) == text


def test_a_four_character_secret_is_scrubbed():
    assert scrub("pin wxyz used", ["wxyz"]) == "pin *** used"


@pytest.mark.parametrize("empty", [None, ""])
def test_missing_secrets_are_ignored(empty):
    assert scrub("nothing secret here", [empty]) == "nothing secret here"


def test_a_text_without_secrets_is_unchanged():
    assert scrub("error: 40203 每分钟最多访问该接口200次", ["abcd1234"]) == "error: 40203 每分钟最多访问该接口200次"


# -- display_url ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, shown",
    [
        ("http://api.waditu.com/dataapi", "http://api.waditu.com/dataapi"),
        ("http://user:pw@api.waditu.com/dataapi", "http://api.waditu.com/dataapi"),
        ("http://token-only@api.waditu.com/dataapi", "http://api.waditu.com/dataapi"),
        ("http://api.waditu.com/dataapi?token=abcd1234", "http://api.waditu.com/dataapi"),
        ("http://api.waditu.com/dataapi#token=abcd1234", "http://api.waditu.com/dataapi"),
        ("http://u:p@api.waditu.com/dataapi?token=t&x=1#frag", "http://api.waditu.com/dataapi"),
    ],
)
def test_display_url_drops_userinfo_query_and_fragment(url, shown):
    assert display_url(url) == shown


@pytest.mark.parametrize(
    "url, shown",
    [
        ("http://127.0.0.1:8765/dataapi", "http://127.0.0.1:8765/dataapi"),
        ("http://user:pw@127.0.0.1:8765/dataapi?token=x", "http://127.0.0.1:8765/dataapi"),
        ("https://huggingface.co:443/api", "https://huggingface.co:443/api"),
    ],
)
def test_display_url_keeps_the_port(url, shown):
    assert display_url(url) == shown


@pytest.mark.parametrize(
    "url, shown",
    [
        ("http://[::1]:8765/dataapi?token=x", "http://[::1]:8765/dataapi"),
        ("http://user:pw@[::1]/dataapi", "http://[::1]/dataapi"),
        ("http://[2001:db8::7]:80/a/b", "http://[2001:db8::7]:80/a/b"),
    ],
)
def test_display_url_keeps_ipv6_hosts_in_brackets(url, shown):
    assert display_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "http://api.waditu.com:99999/dataapi",
        "http://api.waditu.com:port/dataapi",
        "http://user:secret1234@api.waditu.com:notaport/dataapi",
        "http://[::1/dataapi",
    ],
)
def test_display_url_of_an_invalid_url_shows_no_part_of_it(url):
    shown = display_url(url)
    assert shown == "<invalid URL>"
    assert "secret1234" not in shown


def test_display_url_keeps_the_path():
    assert (
        display_url("http://localhost:8000/datasets/owner/name/commit/main")
        == "http://localhost:8000/datasets/owner/name/commit/main"
    )
