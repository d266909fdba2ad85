"""portal-config: OutSmart Klantportaal guest work order settings as reviewed code."""

from __future__ import annotations

__version__ = "0.1.0"
