from __future__ import annotations

from portal_config.cli import main

if __name__ == "__main__":
    main()
