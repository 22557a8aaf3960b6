"""Background work for screens: the one policy (never fatal, always reported to the app's
one handler) and the messages workers send up. It lives in srm_tui.widgets.workers, below
the screens, so widgets that run work (the member list) use it too; screens import it here.
"""

from srm_tui.widgets.workers import ApiReached, DataChanged, WorkFailed, run_reported, work

__all__ = ["ApiReached", "DataChanged", "WorkFailed", "run_reported", "work"]
