"""``python -m <package>``: the same CLI as the console script."""

from .cli import main

raise SystemExit(main())
