"""SHIM's packages: ``shim_lsp``, and its ready codemods, kept in ``transforms/`` in this
repository and installed as ``shim_transforms`` (a name no other distribution uses)."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["shim_lsp", "shim_lsp.*"]), "shim_transforms"],
    package_dir={"shim_transforms": "transforms"},
    # The runner that hands SHIM's chosen files to jscpd's detector on Node.js.
    package_data={"shim_lsp.analysis": ["jscpd_runner.js"]},
)
