from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def tool_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from models import build_all

    return build_all(tmp_path_factory.mktemp("tool-models"))
