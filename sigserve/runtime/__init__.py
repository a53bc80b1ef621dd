"""The TensorFlow runtime: the only serving layer that imports TensorFlow."""
