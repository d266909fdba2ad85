"""Renderers: lint reports (`render.lint`) and plans and apply results (`render.plan`).

`render.lint` must stay importable without deepdiff or the HTTP client.
"""
