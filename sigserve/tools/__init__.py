"""Offline tools for SavedModels: ``inspect`` (describe), ``check`` (find serving
traps) and ``export`` (write a SavedModel TF Serving accepts, and verify it).

These modules may import TensorFlow; nothing imports them from ``sigserve``'s
serving path, so ``import sigserve`` stays light.
"""
