"""Keep TensorFlow's native start-up lines off the terminal (`--verbose` shows them).

TensorFlow's C++ side logs through absl before any Python setting can reach it ("All log
messages before absl::InitializeLog() ...", "oneDNN custom operations are on", "Could not find
cuda drivers"), straight to file descriptor 2, and TF_CPP_MIN_LOG_LEVEL no longer silences all
of it. So the command routes descriptor 2 through a pipe and drops the native info and warning
lines; everything else written to stderr (our errors, Python warnings, native errors) passes.
"""

import contextlib
import logging
import os
import re
import sys
import threading

NATIVE_NOISE = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.]+:\d+\])")


@contextlib.contextmanager
def native_logs_filtered():
    """Within the block, stderr lines of TensorFlow's native info/warning logs are dropped."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    pump = threading.Thread(target=_copy_lines, args=(read_end, os.dup(original)), daemon=True)
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end: the pump sees the end
        os.close(original)
        pump.join(timeout=5)


def _copy_lines(read_end, target):
    with os.fdopen(read_end, "rb") as source, os.fdopen(target, "wb") as sink:
        for line in source:
            if not NATIVE_NOISE.match(line):
                sink.write(line)
                sink.flush()
