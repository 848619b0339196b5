"""Learner checks: one module per lesson, one mechanism that checks, hints and solves.

    exercises.check("reach", answer)  -> Feedback (shows itself in Jupyter)
    exercises.hint("reach")           -> the hint, without checking anything
    exercises.solution("reach")       -> a Solution, folded until the learner opens it
"""

from __future__ import annotations

from .mechanism import (EXERCISES, NODE_PORT_RANGE, Exercise, Feedback, Solution, check,
                        exercise, hint, solution)
# Importing a lesson registers its exercises; the order is the suite's order.
from . import start_here, who_is_calling, which_pod_answers, traffic_policies  # noqa: F401,E402
from . import names_and_dns, what_kube_proxy_writes, who_may_talk  # noqa: F401,E402
from . import after_the_load_balancer  # noqa: F401,E402
from . import why_doesnt_it_work  # noqa: F401,E402
from . import your_own_cluster  # noqa: F401,E402
from .names_and_dns import EXTERNALNAME_CAUSES
from .who_is_calling import BROKEN_SERVICE
from .which_pod_answers import SPREAD_FIXES
from .your_own_cluster import STORED_OR_WRITTEN

__all__ = ["Feedback", "Solution", "Exercise", "EXERCISES", "check", "hint", "solution",
           "exercise", "BROKEN_SERVICE", "NODE_PORT_RANGE", "SPREAD_FIXES", "EXTERNALNAME_CAUSES",
           "STORED_OR_WRITTEN"]
