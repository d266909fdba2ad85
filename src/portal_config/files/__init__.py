"""Writing portal files: the canonical form (`fmt`), round-trip edits that keep comments,
`pull`, and the files `init` starts a repository with.
"""
