"""The SigV4 signer against AWS's published example and against botocore's own signer."""

from __future__ import annotations

import calendar
import datetime

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from astro_cloud_async.stores.s3.sigv4 import (
    UNSIGNED_PAYLOAD,
    Credentials,
    SigV4Signer,
    canonical_query,
    uri_encode_path,
)

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_aws_documented_get_object_example() -> None:
    # "Example: GET Object" of the S3 SigV4 header-based authentication documentation.
    signer = SigV4Signer("us-east-1")
    headers = signer.sign(
        "GET",
        "examplebucket.s3.amazonaws.com",
        "/test.txt",
        Credentials(AK, SK),
        headers={"Range": "bytes=0-9"},
        payload_hash=EMPTY_SHA256,
        now=calendar.timegm((2013, 5, 24, 0, 0, 0)),
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    assert headers["x-amz-date"] == "20130524T000000Z"


keys = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(lambda k: not k.startswith("/") and "//" not in k and "/./" not in k)


@settings(max_examples=60, deadline=None)
@given(
    key=keys,
    region=st.sampled_from(["us-east-1", "eu-west-3", "ap-southeast-2"]),
    token=st.one_of(st.none(), st.text(alphabet="abcXYZ019+/=", min_size=10, max_size=60)),
    payer=st.booleans(),
)
def test_matches_botocore(key: str, region: str, token: str | None, payer: bool) -> None:
    now = datetime.datetime(2024, 3, 1, 12, 34, 56, tzinfo=datetime.timezone.utc)
    path = "/bucket/" + uri_encode_path(key)
    host = "127.0.0.1:9000"
    extra = {"x-amz-request-payer": "requester"} if payer else {}

    ours = SigV4Signer(region).sign(
        "GET", host, path, Credentials(AK, SK, token), headers=extra, now=now.timestamp()
    )

    request = AWSRequest(
        method="GET",
        url=f"http://{host}{path}",
        headers=extra,
    )
    request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    auth = S3SigV4Auth(BotoCredentials(AK, SK, token), "s3", region)
    mp = pytest.MonkeyPatch()
    mp.setattr("botocore.auth.get_current_datetime", lambda: now.replace(tzinfo=None))
    try:
        auth.add_auth(request)
    finally:
        mp.undo()
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["x-amz-date"] == request.headers["X-Amz-Date"]
    assert request.headers["X-Amz-Content-SHA256"] == UNSIGNED_PAYLOAD
    if token:
        assert ours["x-amz-security-token"] == token


def test_signing_key_cached_per_date_and_secret() -> None:
    signer = SigV4Signer("us-east-1")
    a = signer.signing_key(SK, "20240101")
    assert signer.signing_key(SK, "20240101") is a
    assert signer.signing_key(SK, "20240102") != a
    assert signer.signing_key(SK + "x", "20240101") != a


def test_secrets_hidden_from_repr() -> None:
    creds = Credentials(AK, SK, "SESSIONTOKEN123")
    text = repr(creds) + str(creds)
    assert SK not in text and "SESSIONTOKEN123" not in text and AK not in text
    assert "AKIA" in text


def test_uri_encoding_and_query() -> None:
    assert uri_encode_path("dir/a b+c~_-.fits") == "dir/a%20b%2Bc~_-.fits"
    assert uri_encode_path("é") == "%C3%A9"
    assert canonical_query({"b": "2", "a": "x y"}) == "a=x%20y&b=2"
