from __future__ import annotations

import sys

from conformance_tests._cli import main

sys.exit(main())
