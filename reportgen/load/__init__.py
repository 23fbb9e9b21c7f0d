"""Reading a model: its file, Keras or a direct HDF5 reader, and the sample inputs."""
