"""The installed version, as `nostrp2p --version` and the start-up log line give it."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("nostrp2p")
except PackageNotFoundError:  # run from a source tree that was never installed
    VERSION = "unknown"
