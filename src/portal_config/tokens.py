"""The environment variables the tokens are read from, unless a target names others.

A leaf: api.py, targets.py and the sandbox (which sits below the product and may
import only leaves) all take these names from here, so they are spelled once.
"""

from __future__ import annotations

DEFAULT_TOKEN_ENV = "OUTSMART_TOKEN"
DEFAULT_SOFTWARE_TOKEN_ENV = "OUTSMART_SOFTWARE_TOKEN"
