"""Entry points of the event-driven functions; app.py attaches them to their triggers.

Each takes the composition root's `Components` (tests pass their own) and is imported only by the function that
runs it, so the API function never loads a worker's code.
"""
