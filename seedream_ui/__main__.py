"""`python -m seedream_ui`: the command line (see seedream_ui/cli.py)."""

from seedream_ui.cli import main

raise SystemExit(main())
