"""Plumbing every command shares: the one error the CLI shows as a line (errors), atomic file writing (files),
Ctrl-C and SIGTERM as a request to stop (interrupts), and the memory check before long work (memory)."""
