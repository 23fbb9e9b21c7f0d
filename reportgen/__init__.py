"""reportgen: a self-contained HTML audit of what a Keras model's layers learned."""

__version__ = "0.1.0"
