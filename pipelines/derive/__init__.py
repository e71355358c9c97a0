"""Derive: tables computed from the history (spec join, price per TFLOP, change events).

Change detection returns events; it does not send them (the run hands them to `notify`).
"""
