"""portal-config: the settings of OutSmart Klantportaal portals as reviewed code."""

from __future__ import annotations

# The version comes from the git tags: setuptools-scm writes _version.py when the package
# is built or installed (pip install ., pip install -e ., a wheel). Only a source tree that
# was never installed lacks it; the installed metadata, if any, then says the version.
try:
    from portal_config._version import __version__
except ImportError:  # pragma: no cover - a source tree that was never built
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("portal-config")
    except PackageNotFoundError:
        __version__ = "0.0.0"

__all__ = ["TOOL", "__version__"]

# The `tool` of every JSON output (lint, plan, apply report): one spelling everywhere.
TOOL = f"portal-config {__version__}"
