"""The benchmark harness behind ``scripts/bench`` (see bench/README.md).

It runs in the project's venv and never imports TensorFlow: everything that loads a model runs in
a child process (``bench/processes/``), one at a time, on 127.0.0.1.
"""
