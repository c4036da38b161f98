"""Helpers shared by several test packages: command lines for ``reactbench run``, plug-in files
loaded by path, and hand-made result records. Holds no tests."""
