"""The portal's sections and fields, declared once (`table`), and what is made of them: the
settings model, comparison and field changes, the JSON Schemas. Imports nothing else of ours.
"""
