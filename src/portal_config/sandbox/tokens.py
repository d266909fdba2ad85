"""The sandbox's default tokens, for when no token variables are set.

A leaf module, so targets.py (whose default target is a sandbox) can share them
without the sandbox importing anything of the product. The variables' names live in
portal_config.tokens.
"""

from __future__ import annotations

# Not secrets: they only open a loopback sandbox when no token variables are set.
SANDBOX_TOKENS = ("sandbox-token", "sandbox-software-token")
