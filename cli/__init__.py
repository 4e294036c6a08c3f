"""The `neuro` command-line interface (click), installed as `neuro.cli`; `main` is the entry point."""
