"""The Keras boundary: the only package that imports Keras or TensorFlow (with the training
callback, reportgen/keras.py, a Keras class by definition, and the demo's training).

What leaves it is reportgen's own: a `KerasModel` (model.py) standing for a model, snapshots
of plain data and read-on-demand arrays (snapshot.py), fresh weights (fresh.py), numpy outputs
(forward.py) and gradients (gradients.py). Loading, with the repairs of load/repairs.py, is
loading.py; every use of Keras's private API is in compat.py.
"""
