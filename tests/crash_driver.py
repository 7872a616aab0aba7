"""Run part of the pipeline in a process that kills itself (SIGKILL, as `kill -9` or the OOM killer
would) at one chosen point, for tests/test_crash_recovery.py. Only the kill is injected: everything
before it is the real code against the test's real files and local servers.

    python -m tests.crash_driver ROOT POINT [STRIPE_BASE STRIPE_KEY]

POINT: `mid-export` (the analyst exports of April half written: the first table's files, then killed) or
`after-stripe-finalize` (the first document finalized at Stripe, not yet recorded in the warehouse).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def _die(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> None:
    from tests.conftest import Env, make_resources

    root, point = Path(argv[0]), argv[1]
    resources = make_resources(root)
    if point == "mid-export":
        import billing_assets.reports.exports as exports

        real_write, calls = exports.write_exports, []

        def write_once_then_die(*args, **kwargs):
            calls.append(args)
            return real_write(*args, **kwargs) if len(calls) == 1 else _die()

        exports.write_exports = write_once_then_die
        Env(root, resources).materialize(["analyst_exports"], partition_key="2026-04-01")
    elif point == "after-stripe-finalize":
        import billing_assets.revenue.payments.assets as payments
        from billing_assets.revenue.payments.resources import StripeResource

        real_push = payments.push_document

        def push_then_die(*args, **kwargs):
            real_push(*args, **kwargs)
            _die()

        payments.push_document = push_then_die
        resources["stripe"] = StripeResource(api_key=argv[3], api_base=argv[2], timeout_s=1, max_network_retries=3)
        Env(root, resources).materialize(["stripe_invoices"])
    raise SystemExit(f"crash point {point!r} was never reached")


if __name__ == "__main__":
    main(sys.argv[1:])
