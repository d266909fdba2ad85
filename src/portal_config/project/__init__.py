"""The repository: its config (a plain value, and the reader that checks
`portal-config.yaml`), its accounts, and its git history.
"""
