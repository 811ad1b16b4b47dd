"""`python -m seedream_ui.stub --port N`: run the stand-in API."""

from seedream_ui.stub.cli import main

raise SystemExit(main())
