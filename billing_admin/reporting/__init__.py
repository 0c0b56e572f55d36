"""Figures every area reads: subscription counts, MRR, the weekly trend and the chart shapes.

Below plans/, subscribers/, dashboard/ and api/, which all import from here; nothing here imports
them.
"""
