"""``python -m bridge``: the same as ``factory-bridge``."""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from bridge.cli import main  # noqa: E402

sys.exit(main())
