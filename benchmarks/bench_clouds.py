"""Requests and client CPU per object on GCS and Azure against the S3 path, same files; and
the cost of one signature, Shared Key against SigV4. Run by hand.

The same survey (``tests/servers/survey.py``: 500 small FITS files of six kinds, tile-
compressed images among them) is loaded into SeaweedFS (S3, SigV4 checked), fake-gcs-server
(behind its gateway, a bearer token from google-auth's service-account flow) and Azurite
(Shared Key checked), each read signed from a private bucket or container and anonymously
from a public one. Each scan of the whole prefix is run ``--repeat`` times in this process
(a fresh ``Client`` each time, tokens kept process-wide as in real use) and the fastest is
reported: client CPU per object (``os.times``, user + system; the servers run in their own
processes) and requests per object as the client counted them (listing pages included).
Ratios are against the S3 line of the same run. Example::

    python benchmarks/bench_clouds.py --objects 500 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any

import astro_cloud_async as aca
from astro_cloud_async.stores.azure.sharedkey import SharedKeySigner
from astro_cloud_async.stores.s3.sigv4 import Credentials, SigV4Signer, uri_encode_path

TESTS = str(Path(__file__).resolve().parent.parent / "tests")


async def scan_once(source: str, options: dict[str, Any]) -> tuple[float, int, int, int]:
    """(CPU seconds, objects, GETs, listing pages) of one scan of ``source``."""
    before = os.times()
    objects: set[str] = set()
    async with aca.Client(**options) as client:
        async for result in client.scan(source):
            if isinstance(result, aca.ObjectFailed):
                raise RuntimeError(f"{result.url}: {result.error!r}")
            objects.add(result.url)
        stats = client.stats
    after = os.times()
    cpu = (after.user - before.user) + (after.system - before.system)
    return cpu, len(objects), stats.requests, stats.list_requests


def signing_cost(n: int) -> dict[str, float]:
    """Microseconds per signature of one ranged GET, each signer as the stores call it."""
    sigv4 = SigV4Signer("us-east-1", "s3")
    creds = Credentials("AKIDASTROCLOUDTEST01", "astro-cloud-test-secret-key-0000000000001")
    path = "/" + uri_encode_path("bucket/survey/obs-0001.fits")
    shared = SharedKeySigner("devstoreaccount1", "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleQ==")
    blob = "/devstoreaccount1/private/survey/obs-0001.fits"

    def s3() -> None:
        sigv4.sign("GET", "127.0.0.1:9000", path, creds, headers={"Range": "bytes=0-28799"})

    def azure() -> None:
        shared.sign("GET", blob, {}, {"x-ms-range": "bytes=0-28799", "Accept-Encoding": "identity"})

    out = {}
    for name, call in (("SigV4 (S3)", s3), ("Shared Key (Azure)", azure)):
        best = min(timeit.repeat(call, number=n, repeat=5))
        out[name] = best / n * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--signatures", type=int, default=20000)
    args = parser.parse_args()

    sys.path.insert(0, TESTS)
    from servers.azurite import start_azurite
    from servers.gcs import start_fake_gcs
    from servers.s3data import upload_folder
    from servers.seaweedfs import start_seaweedfs
    from servers.survey import write_survey

    print("signing cost per request (µs):")
    costs = signing_cost(args.signatures)
    for name, micro in costs.items():
        print(f"  {name:20s} {micro:6.1f}  ({micro / costs['SigV4 (S3)']:.2f}x SigV4)")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_survey(folder, args.objects)
        weed = start_seaweedfs(logging_proxy=False)
        gcs = start_fake_gcs({"private": files, "public": files})
        azure = start_azurite()
        try:
            upload_folder(weed, folder, weed.private_bucket)
            upload_folder(weed, folder, weed.public_bucket)
            for container in ("private", "public"):
                azure.upload(container, files)
            os.environ.update(weed.env())
            os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(gcs.credentials_file(folder))
            cs = azure.connection_string(direct=True)
            s3 = {"endpoint_url": weed.direct_endpoint_url}
            google = {"endpoint_url": gcs.endpoint_url}  # the gateway serves the token
            cases = {
                "S3 signed (SeaweedFS)": ("s3://private/survey/", s3),
                "S3 anonymous": ("s3://public/survey/", {**s3, "anon": True}),
                "GCS signed (fake-gcs)": ("gs://private/survey/", google),
                "GCS anonymous": ("gs://public/survey/", {**google, "anon": True}),
                "Azure Shared Key (Azurite)": ("az://private/survey/", {"connection_string": cs}),
                "Azure anonymous": ("az://public/survey/", {"connection_string": cs, "anon": True}),
            }
            rows = []
            for name, (source, options) in cases.items():
                runs = [asyncio.run(scan_once(source, options)) for _ in range(args.repeat)]
                cpu, objects, gets, pages = min(runs)
                rows.append((name, cpu / objects * 1e3, (gets + pages) / objects, objects))
        finally:
            azure.stop()
            gcs.stop()
            weed.stop()
    s3_cpu = rows[0][1]
    print(f"\nscan of {args.objects} objects, fastest of {args.repeat}:")
    print("| path | CPU ms / object | vs S3 signed | requests / object |")
    print("| --- | --- | --- | --- |")
    for name, cpu_ms, requests, _ in rows:
        print(f"| {name} | {cpu_ms:.2f} | {cpu_ms / s3_cpu:.2f}x | {requests:.3f} |")


if __name__ == "__main__":
    main()
