"""Import TensorFlow without its C++ start-up noise, for the command-line tools.

TensorFlow 2.21 prints its start-up lines (oneDNN, CUDA stubs, CPU features) before
absl logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` cannot silence them, and it
prints them once per copy of absl it loads (twice). They are captured while
TensorFlow is imported and shown only if the import fails; ``TF_CPP_MIN_LOG_LEVEL``
(3 unless set) silences what comes later (e.g. "failed call to cuInit").
"""

from __future__ import annotations

import os
import sys
import tempfile


def import_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow  # noqa: F401  (its start-up lines go to `capture`)
        except BaseException:
            os.dup2(saved, 2)
            capture.seek(0)
            sys.stderr.write(capture.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
