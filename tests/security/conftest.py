from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory):
    from certs import make_certificates

    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make test certificates")
    return make_certificates(tmp_path_factory.mktemp("certs"))
