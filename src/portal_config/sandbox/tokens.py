"""The sandbox's default tokens, and how its demo accounts are named.

A leaf module, so targets.py (whose default target is a sandbox) can share them
without the sandbox importing anything of the product. The variables' names live in
portal_config.project.config, as does where each account's state file goes
(account_state_path): the config's targets need both.
"""

from __future__ import annotations

# Not secrets: they only open a loopback sandbox when no token variables are set.
SANDBOX_TOKENS = ("sandbox-token", "sandbox-software-token")

ACCOUNT_PREFIX = "account-"
MIN_ACCOUNT_DIGITS = 3


def account_names(count: int) -> list[str]:
    """The names of `portal-config sandbox --accounts COUNT`: account-001, account-002, ...

    Zero-padded to the width of ``count`` (at least 3 digits), so they sort as numbered.
    """
    width = max(MIN_ACCOUNT_DIGITS, len(str(count)))
    return [f"{ACCOUNT_PREFIX}{number:0{width}d}" for number in range(1, count + 1)]


def account_token(account: str) -> str:
    """The account token a multi-account sandbox gives ``account`` (not a secret either)."""
    return f"{SANDBOX_TOKENS[0]}-{account}"
