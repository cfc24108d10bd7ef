"""Entry points of the workflow's steps: read a step's inputs, call the package's functions, write its outputs."""
