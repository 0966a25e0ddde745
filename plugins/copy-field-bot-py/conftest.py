# Lets pytest import app.py and the SDK from the repository without installing them.
import pathlib
import sys

here = pathlib.Path(__file__).parent
sys.path[:0] = [str(here), str(here.parent.parent / "sdk" / "python")]
