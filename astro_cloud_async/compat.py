"""The API of the original ``astro-cloud`` package, on top of this one.

``astro_cloud.fits.load_headers(url, CloudService.S3, PaymentSolution.AWSRequestPayer)``, its
HTTP tier ``load_headers(url, auth=None)`` and ``astro_cloud.auth.aws.AWSAuth`` keep working
after changing the import to ``astro_cloud_async``. Headers come back as :class:`FITSHeader`
tuples (``offset``, ``length``, ``fits``), as before; ``length`` is the header's size in
bytes, END card and padding included.

An S3 object may be named ``s3://bucket/key`` or by its HTTPS URL (virtual-hosted or
path-style on AWS, or path-style under ``endpoint_url`` / ``AWS_ENDPOINT_URL`` for other S3
services); it is read signed with botocore's standard credential chain. The original left
``CloudService.ObjectStorage`` and ``CloudService.BlobStorage`` unimplemented; here they read
Google Cloud Storage and Azure Blob Storage objects (``gs://``, ``az://`` or their HTTPS URLs)
through this package's own stores, with those services' credentials.

:class:`AWSAuth` is an auth hook for the ``requests`` library (an optional dependency), for
hand-made signed GETs. It subclasses ``requests.auth.AuthBase``, so the class is built on first
access, when ``requests`` is imported; importing this module does not import ``requests``.
"""

from __future__ import annotations

import base64
import enum
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import AccessDeniedError, ConfigurationError
from .options import Options
from .stores.azure.config import configured_endpoint
from .stores.azure.urls import parse_azure_https
from .stores.gcs.urls import is_gcs_https
from .stores.s3.sigv4 import UNSIGNED_PAYLOAD, Credentials, SigV4Signer, canonical_query
from .stores.s3.sigv4 import uri_encode_path as _uri_encode_path
from .stores.s3.urls import parse_s3_https
from .sync import read_headers

if TYPE_CHECKING:
    import astropy.io.fits

__all__ = [
    "AWSAuth",
    "CloudService",
    "FITSHeader",
    "PaymentSolution",
    "load_headers",
]

_DEFAULT_REGION = "us-east-1"
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


class PaymentSolution(enum.Enum):
    """Who pays for the transfer (``AWSRequestPayer``: the requester, as for TESS data)."""

    AWSRequestPayer = "aws-request-payer"


class CloudService(enum.Enum):
    """Where the object lives: ``S3`` and ``Spaces`` (S3-compatible), ``ObjectStorage``
    (Google Cloud Storage) and ``BlobStorage`` (Azure Blob Storage)."""

    S3 = "amazon-web-services-static-storage-service"
    ObjectStorage = "google-cloud-platform-object-storage"
    BlobStorage = "azure-blob-storage"
    Spaces = "digital-ocean-spaces"


class FITSHeader(NamedTuple):
    """One HDU's header: its byte offset and size in the object, and the header itself."""

    offset: int
    length: int
    fits: astropy.io.fits.Header


def endpoint_from_environment() -> str | None:
    """The S3 endpoint set by ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``, if any."""
    for name in _ENDPOINT_VARIABLES:
        value = os.environ.get(name)
        if value:
            return value
    return None


def s3_options(url: str, options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``url`` as ``s3://bucket/key``, with the endpoint and region it implies added to
    ``options``; for callers that said the object is on S3 (``CloudService.S3``).

    AWS URLs (virtual-hosted or path-style) name their bucket and region; a URL under the
    configured endpoint (``endpoint_url``, ``AWS_ENDPOINT_URL``) is path-style on it. Any
    other ``http(s)://`` URL is taken as path-style on an S3-compatible service at its own
    origin (``http://host:9000/bucket/key``), as the original package signed whatever URL it
    was given: the origin becomes the endpoint, the first path segment the bucket, the rest
    (percent-decoded) the key. Raises :class:`ConfigurationError` for a URL that can name no
    S3 object (no bucket, a query string, another scheme).
    """
    out = dict(options)
    endpoint = out.get("endpoint_url") or endpoint_from_environment()
    if endpoint:
        out["endpoint_url"] = endpoint
    if url.lower().startswith(("s3://", "s3a://")):
        return url, out
    location = parse_s3_https(url, endpoint_url=endpoint)
    if location is None:
        parts = urlsplit(url)
        if parts.scheme.lower() in ("http", "https") and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            location = parse_s3_https(url, endpoint_url=origin)
            if location is not None:
                out["endpoint_url"] = origin
    if location is None:
        raise ConfigurationError("not the URL of an S3 object", url=url)
    if location.region is not None and out.get("region") is None:
        out["region"] = location.region
    return location.url, out


def _check_cloud_url(url: str, service: CloudService, options: Mapping[str, Any]) -> None:
    """Raise unless ``url`` names an object of ``service`` (GCS or Azure Blob Storage), in any
    form the store reads: ``gs://``/``gcs://`` or ``https://storage.googleapis.com/...``;
    ``az://``/``abfs(s)://``, ``https://ACCOUNT.blob.core.windows.net/...`` or a URL under the
    configured blob endpoint (an emulator's)."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    web = scheme in ("http", "https")
    if service is CloudService.ObjectStorage:
        if scheme in ("gs", "gcs") or (web and is_gcs_https(url)):
            return
        raise ConfigurationError(
            "not the URL of a Google Cloud Storage object: give gs://bucket/key or"
            " https://storage.googleapis.com/bucket/key",
            url=url,
        )
    endpoint = configured_endpoint(Options.from_kwargs(**options))
    if scheme in ("az", "abfs", "abfss") or (web and parse_azure_https(url, endpoint=endpoint)):
        return
    raise ConfigurationError(
        "not the URL of an Azure blob: give az://container/blob (with the account in the"
        " options) or https://ACCOUNT.blob.core.windows.net/container/blob",
        url=url,
    )


def _to_fits_headers(url: str, options: Mapping[str, Any]) -> list[FITSHeader]:
    return [FITSHeader(r.offset, r.length, r.fits) for r in read_headers(url, **options)]


def _basic_authorization(user: str | bytes, password: str | bytes) -> str:
    pair = _text(user) + ":" + _text(password)
    return "Basic " + base64.b64encode(pair.encode("latin-1")).decode("ascii")


def _http_auth_header(auth: object) -> str:
    """The ``Authorization`` value for HTTP basic credentials given in any of the usual ways."""
    import aiohttp

    if isinstance(auth, aiohttp.BasicAuth):
        return auth.encode()
    if isinstance(auth, tuple) and len(auth) == 2:
        return _basic_authorization(auth[0], auth[1])
    requests_auth = sys.modules.get("requests.auth")  # a requests auth implies requests is loaded
    if requests_auth is not None and isinstance(auth, requests_auth.HTTPBasicAuth):
        return _basic_authorization(auth.username, auth.password)
    raise ConfigurationError(
        f"unsupported auth {type(auth).__name__}: give AWSAuth, aiohttp.BasicAuth, "
        "requests.auth.HTTPBasicAuth or a (user, password) tuple"
    )


def _text(value: object) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def load_headers(
    url: str,
    service: CloudService | None = None,
    payment_solution: PaymentSolution | None = None,
    *,
    auth: object = None,
    **options: Any,
) -> list[FITSHeader]:
    """The headers of every HDU of the FITS object at ``url``.

    ``load_headers(url, CloudService.S3, PaymentSolution.AWSRequestPayer)`` reads an S3 object
    (``s3://`` or its HTTPS URL), signed, the requester paying. ``load_headers(url, auth=...)``
    reads from any HTTP server honouring Range; ``auth`` may be an :class:`AWSAuth` (then the
    URL is read as an S3 object), HTTP basic credentials, or ``None``. Further keyword arguments
    are :class:`~astro_cloud_async.options.Options`. Raises the typed error on failure.
    """
    if service is not None and not isinstance(service, CloudService):
        auth, service = service, None  # the HTTP tier's positional form: load_headers(url, auth)
    if isinstance(auth, _SigV4Auth):
        service = CloudService.S3
        if auth.request_payer and payment_solution is None:
            payment_solution = PaymentSolution.AWSRequestPayer
        for name, value in (
            ("profile", auth.profile),
            ("region", auth.region),
            ("endpoint_url", auth.endpoint_url),
        ):
            if value is not None:
                options.setdefault(name, value)
        auth = None
    if payment_solution is not None and not isinstance(payment_solution, PaymentSolution):
        raise ConfigurationError(f"unsupported payment solution {payment_solution!r}", url=url)
    if service in (CloudService.ObjectStorage, CloudService.BlobStorage):
        if payment_solution is not None:
            raise ConfigurationError(
                f"{payment_solution} is for S3; a requester-pays GCS bucket is read with"
                " requester_pays=True and project=...",
                url=url,
            )
        if auth is not None:
            raise ConfigurationError(
                "GCS and Azure objects are read with their service's own credentials"
                " (GOOGLE_APPLICATION_CREDENTIALS; an Azure account key, SAS or connection"
                " string in the options): auth= is for HTTP servers",
                url=url,
            )
        _check_cloud_url(url, service, options)
        return _to_fits_headers(url, options)
    if service is None and url.lower().startswith(("s3://", "s3a://")):
        service = CloudService.S3
    if service is None:
        if payment_solution is not None:
            raise ConfigurationError("a payment solution needs CloudService.S3", url=url)
        if auth is not None:
            headers = dict(options.get("headers") or {})
            headers["Authorization"] = _http_auth_header(auth)
            options["headers"] = headers
        return _to_fits_headers(url, options)
    if auth is not None:
        raise ConfigurationError(
            "S3 objects are signed with the AWS credential chain: auth= is for HTTP servers",
            url=url,
        )
    if payment_solution is PaymentSolution.AWSRequestPayer:
        options["requester_pays"] = True
    s3_url, s3_opts = s3_options(url, options)
    return _to_fits_headers(s3_url, s3_opts)


# --- requests auth --------------------------------------------------------------------------


class _SigV4Auth:
    """Signs a ``requests`` request with AWS Signature Version 4 for S3 (see :class:`AWSAuth`).

    Credentials come from botocore's standard chain (environment, shared files, ``profile``,
    instance roles) and are re-read on each request, so refreshed credentials are used.
    """

    def __init__(
        self,
        request_payer: bool = False,
        *,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.request_payer = request_payer
        self.profile = profile
        self.region = region
        self.endpoint_url = endpoint_url
        self._session: Any = None
        self._signers: dict[str, SigV4Signer] = {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(request_payer={self.request_payer!r}, "
            f"profile={self.profile!r}, region={self.region!r})"
        )

    def _botocore_session(self) -> Any:
        if self._session is None:
            import botocore.session

            self._session = botocore.session.Session(profile=self.profile)
        return self._session

    def credentials(self) -> Credentials:
        """The current credentials of the chain; :class:`AccessDeniedError` when there are none."""
        found = self._botocore_session().get_credentials()
        if found is None:
            raise AccessDeniedError("no AWS credentials found by botocore's credential chain")
        frozen = found.get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    def region_for(self, url: str) -> str:
        """The signing region: given, named by the URL's host, configured, or us-east-1."""
        if self.region is not None:
            return self.region
        endpoint = self.endpoint_url or endpoint_from_environment()
        location = parse_s3_https(url.split("?", 1)[0], endpoint_url=endpoint)
        if location is not None and location.region is not None:
            return location.region
        configured = self._botocore_session().get_config_variable("region")
        return str(configured) if configured else _DEFAULT_REGION

    def __call__(self, request: Any) -> Any:
        url: str = request.url
        parts = urlsplit(url)
        region = self.region_for(url)
        signer = self._signers.get(region)
        if signer is None:
            signer = self._signers[region] = SigV4Signer(region)
        to_sign: dict[str, str] = {}
        for name in ("Range", "If-Match", "If-None-Match"):
            value = request.headers.get(name)
            if value is not None:
                to_sign[name] = value
        if self.request_payer:
            to_sign["x-amz-request-payer"] = "requester"
        query = canonical_query(dict(parse_qsl(parts.query, keep_blank_values=True)))
        signed = signer.sign(
            request.method or "GET",
            _host_header(parts.scheme, parts.netloc),
            _uri_encode_path(unquote(parts.path or "/")),
            self.credentials(),
            query=query,
            headers=to_sign,
            payload_hash=UNSIGNED_PAYLOAD,
        )
        signed.pop("host")  # sent by the HTTP library from the URL, with the same value
        for name, value in signed.items():
            request.headers[name] = value
        return request


def _host_header(scheme: str, netloc: str) -> str:
    """The Host header an HTTP client sends for this URL (default ports left out)."""
    host = netloc.rpartition("@")[2].lower()
    for default_scheme, port in (("http", ":80"), ("https", ":443")):
        if scheme.lower() == default_scheme and host.endswith(port):
            return host[: -len(port)]
    return host


_aws_auth_class: type[_SigV4Auth] | None = None


def _make_aws_auth_class() -> type[_SigV4Auth]:
    global _aws_auth_class
    if _aws_auth_class is None:
        try:
            from requests.auth import AuthBase
        except ImportError as err:  # pragma: no cover  (requests is installed for the tests)
            raise ImportError(
                "AWSAuth needs the requests library: pip install 'astro_cloud_async[requests]'"
            ) from err

        class AWSAuth(_SigV4Auth, AuthBase):  # type: ignore[misc,unused-ignore]
            """AWS SigV4 auth for ``requests``: ``requests.get(url, auth=AWSAuth())``.

            ``request_payer=True`` adds (and signs) ``x-amz-request-payer: requester``. The
            URL must be an S3 object's (virtual-hosted or path-style); a ``Range`` header set
            on the request is signed with it.
            """

        AWSAuth.__module__ = __name__
        AWSAuth.__qualname__ = "AWSAuth"
        _aws_auth_class = AWSAuth
    return _aws_auth_class


if TYPE_CHECKING:
    AWSAuth = _SigV4Auth
else:

    def __getattr__(name: str) -> Any:
        if name == "AWSAuth":
            return _make_aws_auth_class()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
