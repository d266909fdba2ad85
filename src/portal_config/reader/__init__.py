"""How lint reads a project: its files, their ids and their documents, fast.

The rest of lint sees Documents and Problems; what makes reading them fast (str paths,
the id index, ...) stays behind this package's functions.
"""
