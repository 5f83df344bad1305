"""The sources objects are read from: one module per kind of input."""
