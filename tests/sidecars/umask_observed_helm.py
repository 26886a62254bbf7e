"""gitopsd-helm with every os.umask call appended to the file $GITOPSD_TEST_UMASK_CALLS (a test helper).

The umask is process-wide, so a sidecar must never change it: threads starting workers meanwhile
would hand the changed value on. The wrapper only records calls and passes them through.
"""

from __future__ import annotations

import os
import sys

from gitopsd_helm.server import main

_umask = os.umask


def _observed_umask(mask: int) -> int:
    with open(os.environ["GITOPSD_TEST_UMASK_CALLS"], "a") as calls:
        calls.write(f"{mask:o}\n")
    return _umask(mask)


os.umask = _observed_umask

if __name__ == "__main__":
    sys.exit(main())
