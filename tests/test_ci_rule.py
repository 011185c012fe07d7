"""The CI rule: under ``CI=true`` a test of the real servers fails instead of skipping.

Checked on a small test module of its own, run by pytest in a subprocess with the rule's
plugin, once with ``CI=true`` and once without.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

MODULE = """
import pytest
from servers import ServerBinaryMissing
from servers.availability import start_or_skip


def _missing():
    raise ServerBinaryMissing("nginx is not installed (looked on PATH)")


@pytest.mark.servers
def test_marked_and_skipped():
    pytest.skip("no server today")


def test_catches_the_missing_program_itself():
    try:
        _missing()
    except ServerBinaryMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture
def server():
    try:
        _missing()
    except ServerBinaryMissing as exc:
        pytest.skip(str(exc))


def test_through_a_fixture_that_skips(server):
    pass


def test_through_start_or_skip():
    start_or_skip(_missing)


def test_skips_for_another_reason():
    pytest.skip("not about servers")
"""


@pytest.fixture
def rule_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makepyfile(test_rule=MODULE)
    pytester.makeconftest('pytest_plugins = ["servers.ci_rule"]\n')
    pytester.makeini("[pytest]\nmarkers =\n    servers: needs the real servers\n")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )
    return pytester


def test_under_ci_every_skip_of_a_real_server_test_fails(
    rule_run: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = rule_run.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(failed=3, errors=1, skipped=1)
    result.stdout.fnmatch_lines(["*a test of the real servers may not skip*no server today*"])
    result.stdout.fnmatch_lines(["SKIPPED*not about servers*"])


def test_elsewhere_they_skip(rule_run: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = rule_run.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(skipped=5)
