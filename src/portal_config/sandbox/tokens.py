"""The sandbox's tokens: the environment variables it takes them from, and its defaults.

A leaf module, so targets.py (whose default target is a sandbox) can share these names
without the sandbox importing anything of the product.
"""

from __future__ import annotations

DEFAULT_TOKEN_ENV = "OUTSMART_TOKEN"
DEFAULT_SOFTWARE_TOKEN_ENV = "OUTSMART_SOFTWARE_TOKEN"
# Not secrets: they only open a loopback sandbox when no token variables are set.
SANDBOX_TOKENS = ("sandbox-token", "sandbox-software-token")
