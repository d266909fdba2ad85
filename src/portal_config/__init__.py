"""portal-config: OutSmart Klantportaal guest work order settings as reviewed code."""

from __future__ import annotations

__version__ = "0.1.0"

# The `tool` of every JSON output (lint, plan, apply report): one spelling everywhere.
TOOL = f"portal-config {__version__}"
