from shim_lsp.cli import main

raise SystemExit(main(own_process=True))
