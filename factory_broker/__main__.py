import sys

from factory_broker.cli import main

sys.exit(main())
