"""Suite-wide test settings.

Under CI (``CI`` set, as ``.ci/run`` is run) hypothesis draws the same examples on every run,
so a landing never depends on the luck of the draw; on a developer's machine it keeps
exploring new examples (and ``.hypothesis/`` replays any failure it found).
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
