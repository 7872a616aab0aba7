"""stable_id must be uuid5, character for character: every invoice, line, ledger entry and journal id
written before it existed has to come out the same."""

import random
import uuid

from billing_assets.ids import stable_id
from billing_assets.revenue.invoicing.credits import LEDGER_NAMESPACE
from billing_assets.revenue.invoicing.documents import INVOICE_NAMESPACE


def test_stable_id_is_uuid5_for_every_name():
    rng = random.Random(16)
    names = ["", "0", "t-0001/2026-04/0", "/" * 300, "ünïcødé/€/日本/🧾", "a\x00b", "line\nbreak",
             *("".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(0, 60))) for _ in range(2_000))]
    namespaces = [INVOICE_NAMESPACE, LEDGER_NAMESPACE, uuid.NAMESPACE_DNS, uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)]
    for namespace in namespaces:
        for name in names:
            assert stable_id(namespace, name) == str(uuid.uuid5(namespace, name)), (namespace, name)


def test_a_known_invoice_id_is_unchanged():
    # The literal is what uuid.uuid5 gave for this name before stable_id existed; if it changes, every stored
    # document would be orphaned by its own re-run.
    assert stable_id(INVOICE_NAMESPACE, "t1/2026-04/0") == "31691c83-fbe0-5d47-a71f-58e2e8852f4f"
