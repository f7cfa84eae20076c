"""Reading and writing: scenario and experiment files in, results out (atomically), and provenance.

The bottom layer beside the parameter registry: it knows files, not the market.
"""
