"""Talking to OutSmart: transport, the API adapter and its wire format, envelope codes,
tokens and their redaction, and applying a plan.
"""
