"""One run of a command, over one account or many: options as a value, the console,
the checks before any request, the live loop, the fleet.
"""
