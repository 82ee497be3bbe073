"""SHIM's ready codemods: one libcst CodemodCommand per module.

Each works with the libcst CLI too (``python -m libcst.tool codemod``) and may declare a
``prefilter`` of strings a file must contain to be worth parsing.
"""
