"""Reading portal files with positions, the schema and the rules, and lint's fast path
(`reader.batch.open_project`): files in, one report of problems out.
"""
