"""The plan: what a plan is made from (`inputs`), the frozen value one builder makes of
them (`value`), saved plans, live values no file can hold, and apply's results.
"""
