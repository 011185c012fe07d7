"""Where S3 requests go and with which credentials: resolved once per process, refreshed on
time, re-resolved when the environment or the config files change, and no botocore session
for anonymous access. Reads go to SeaweedFS, which checks every signature.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.credentials import CredentialProvider, RefreshableCredentials
from servers.seaweedfs import S3Server

from astro_cloud_async import read_headers
from astro_cloud_async.errors import AccessDeniedError, ConfigurationError, ConnectionFailedError
from astro_cloud_async.options import BLOCK, Options
from astro_cloud_async.stores import S3Store
from astro_cloud_async.stores.s3.config import (
    CredentialSource,
    clear_config_cache,
    resolve_config,
)


@pytest.fixture
def aws_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty AWS environment whose config and credentials files live in ``tmp_path``."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    clear_config_cache()
    return tmp_path


def _keys(server: S3Server, monkeypatch: pytest.MonkeyPatch, secret: str | None = None) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret or server.secret_key)


def test_a_loop_of_read_headers_resolves_once(
    s3_server: S3Server,
    sample_corpus: dict[str, Path],
    aws_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _keys(s3_server, monkeypatch)
    url = s3_server.url("private", sample_corpus["mosaic"].name)
    options = {"endpoint_url": s3_server.endpoint_url}
    configs = set()
    for _ in range(3):
        assert len(read_headers(url, **options)) == 4
        configs.add(id(_current(options)))
    assert len(configs) == 1  # one resolution served every call


def _current(options: dict[str, Any]) -> object:
    import asyncio

    return asyncio.run(resolve_config(Options(**options)))


def test_a_changed_environment_is_seen_by_the_next_call(
    s3_server: S3Server,
    sample_corpus: dict[str, Path],
    aws_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = s3_server.url("private", sample_corpus["table"].name)
    options = {"endpoint_url": s3_server.endpoint_url, "retries": 0}
    _keys(s3_server, monkeypatch)
    assert read_headers(url, **options)
    _keys(s3_server, monkeypatch, secret="a-wrong-secret-0123456789")
    with pytest.raises(AccessDeniedError):
        read_headers(url, **options)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(AccessDeniedError, match="no AWS credentials"):
        read_headers(url, **options)


def test_profile_endpoint_region_and_keys_come_from_the_files(
    s3_server: S3Server,
    sample_corpus: dict[str, Path],
    aws_home: Path,
) -> None:
    (aws_home / "credentials").write_text(
        f"[survey]\naws_access_key_id = {s3_server.access_key}\n"
        f"aws_secret_access_key = {s3_server.secret_key}\n"
    )
    (aws_home / "config").write_text(
        f"[profile survey]\nregion = us-east-1\nservices = local\n\n"
        f"[services local]\ns3 =\n  endpoint_url = {s3_server.endpoint_url}\n"
    )
    url = s3_server.url("private", sample_corpus["table"].name)
    assert len(read_headers(url, profile="survey")) == 2
    # The file changes: the next call reads it again (the endpoint now goes nowhere).
    (aws_home / "config").write_text(
        "[profile survey]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:9\n"
    )
    os.utime(aws_home / "config", ns=(time.time_ns() + 10**9,) * 2)
    with pytest.raises(ConnectionFailedError):
        read_headers(url, profile="survey", retries=0, connect_timeout=2)


def test_anonymous_access_takes_the_endpoint_of_the_default_profile(
    s3_server: S3Server, sample_corpus: dict[str, Path], aws_home: Path
) -> None:
    (aws_home / "config").write_text(f"[default]\nendpoint_url = {s3_server.endpoint_url}\n")
    url = s3_server.url("public", sample_corpus["table"].name)
    assert len(read_headers(url, anon=True)) == 2


def test_a_missing_services_section_is_a_configuration_error(
    aws_home: Path,
) -> None:
    (aws_home / "config").write_text("[default]\nservices = nowhere\n")
    with pytest.raises(ConfigurationError, match="nowhere"):
        read_headers("s3://bucket/x.fits", anon=True)


def _botocore_modules_of(code: str, **aws: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter whose AWS environment is ``aws`` alone; it prints
    the botocore and aiobotocore modules it loaded."""
    code += (
        "loaded = sorted(m for m in sys.modules if m.startswith(('botocore.', 'aiobotocore')))\n"
        "print(' '.join(loaded))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    env.update(aws)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


def test_anonymous_access_makes_no_botocore_session(
    s3_server: S3Server, sample_corpus: dict[str, Path], aws_home: Path
) -> None:
    url = s3_server.url("public", sample_corpus["table"].name)
    code = (
        "import sys, astro_cloud_async as aca\n"
        f"records = aca.read_headers({url!r}, anon=True, endpoint_url={s3_server.endpoint_url!r})\n"
        "assert len(records) == 2, records\n"
    )
    done = _botocore_modules_of(code)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "botocore.session" not in loaded and "botocore.credentials" not in loaded
    assert not {m for m in loaded if m.startswith("aiobotocore")}


def test_keys_in_the_environment_sign_without_a_botocore_session(
    s3_server: S3Server, sample_corpus: dict[str, Path], aws_home: Path
) -> None:
    # SeaweedFS checks every signature: the private bucket answers only signed requests.
    url = s3_server.url("private", sample_corpus["mosaic"].name)
    code = (
        "import sys, astro_cloud_async as aca\n"
        f"for _ in range(2):\n"
        f"    records = aca.read_headers({url!r}, endpoint_url={s3_server.endpoint_url!r})\n"
        "    assert len(records) == 4, records\n"
    )
    key = s3_server.access_key
    done = _botocore_modules_of(
        code, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=s3_server.secret_key
    )
    assert done.returncode == 0, done.stderr
    assert "botocore.session" not in set(done.stdout.split())
    # A wrong secret from the environment is refused by the server, typed.
    wrong = "a-wrong-secret-0123456789"
    done = _botocore_modules_of(code, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=wrong)
    assert done.returncode != 0 and "AccessDeniedError" in done.stderr


async def test_a_profile_or_an_expiry_takes_the_keys_through_botocore(
    aws_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "environment-secret")
    (aws_home / "credentials").write_text(
        "[survey]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n"
    )
    plain = await resolve_config(Options(endpoint_url="http://127.0.0.1:9"))
    assert plain.credentials is not None
    assert (await plain.credentials.current()).access_key == "AKIDENVIRONMENT"
    named = await resolve_config(Options(endpoint_url="http://127.0.0.1:9", profile="survey"))
    assert named.credentials is not None
    assert (await named.credentials.current()).access_key == "AKIDPROFILE"
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-from-environment")
    with_token = await resolve_config(Options(endpoint_url="http://127.0.0.1:9"))
    assert with_token.credentials is not None
    assert (await with_token.credentials.current()).token == "token-from-environment"


class _Provider(CredentialProvider):  # type: ignore[misc]
    METHOD = "refresh-test"
    CANONICAL_NAME = "RefreshTest"

    def __init__(self, credentials: RefreshableCredentials):
        self.credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self.credentials


class _Refresher:
    """Credentials that expire in two minutes (inside botocore's refresh window) each time."""

    def __init__(self, access_key: str, secret_key: str):
        self.access_key, self.secret_key = access_key, secret_key
        self.calls = 0
        self.threads: set[int] = set()

    def metadata(self, secret: str, lifetime: float) -> dict[str, str]:
        expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + lifetime))
        return {
            "access_key": self.access_key,
            "secret_key": secret,
            "token": "",
            "expiry_time": expiry,
        }

    def __call__(self) -> dict[str, str]:
        import threading

        self.calls += 1
        self.threads.add(threading.get_ident())
        lifetime = 120 if self.calls == 1 else 3600
        return self.metadata(self.secret_key, lifetime)


async def test_expiring_credentials_are_refreshed_in_a_worker_thread(
    s3_server: S3Server, sample_corpus: dict[str, Path], aws_home: Path
) -> None:
    import threading

    refresher = _Refresher(s3_server.access_key, s3_server.secret_key)
    credentials = RefreshableCredentials.create_from_metadata(
        metadata=refresher.metadata("stale-secret", 120), refresh_using=refresher, method="test"
    )
    session = botocore.session.Session()
    session.get_component("credential_provider").insert_before("env", _Provider(credentials))
    options = Options(endpoint_url=s3_server.endpoint_url)
    async with S3Store(options, botocore_session=session) as store:
        for name in ("table", "mosaic", "tess_1"):
            url = s3_server.url("private", sample_corpus[name].name)
            result = await store.get_range(url, 0, BLOCK)
            assert result.data[:9] == b"SIMPLE  ="
    # The stale secret was never used; the second refresh gave an hour: no third one.
    assert refresher.calls == 2
    assert threading.get_ident() not in refresher.threads


async def test_static_credentials_are_frozen_once() -> None:
    session = botocore.session.Session()
    session.set_credentials("AKIDEXAMPLE", "secret")
    source = CredentialSource(session.get_credentials())
    first = await source.current()
    assert first is await source.current() and source.ready() is first
    assert "secret" not in repr(source) and "secret" not in repr(first)
