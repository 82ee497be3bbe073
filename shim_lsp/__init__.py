"""SHIM: a Python language server that keeps every edit safe and brings work back after a crash."""

__version__ = "0.1.0"
