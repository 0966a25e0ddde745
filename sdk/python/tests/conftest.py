import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent.parent))

from pyrus_plugin import testing  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_fakes():
    testing.reset()
    yield
