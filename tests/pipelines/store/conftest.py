"""Store fixtures: an S3-compatible server (moto, server mode) on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.support import s3


@pytest.fixture(scope="module")
def s3_server():
    server = s3.start()
    try:
        yield server
    finally:
        s3.stop(server)
