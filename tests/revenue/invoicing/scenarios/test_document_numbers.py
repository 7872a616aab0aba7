"""Document numbers are drawn from a counter per series (document type and service month) when a
document is issued: a draft has none, and nothing in a number comes from the tenant, so tenants whose
slugs differ only in case (`solo`, `SOLO`) are both invoiced and numbered apart."""

from tests.revenue.invoicing.scenarios.world import T0, Plan, ScenarioWorld

FLAT = Plan("flat", 3000)


def test_tenants_differing_only_in_case_are_both_invoiced_with_distinct_numbers(tmp_path):
    world = ScenarioWorld(tmp_path)
    world.plan(Plan(FLAT.version_id, FLAT.base_fee))
    world.subscribe("sub", [("flat", "2026-01-01 00:00:00", None)])
    world.insert("tenants", tenant_id="t-2", slug="SOLO", name="SOLO Holdings", currency="USD",
                 tax_jurisdiction="AU", segment="standard", is_internal=False, billing_email=None, created_at=T0)
    world.insert("deployments", deployment_id="d-2", tenant_id="t-2", slug="solo-app-2", state="active",
                 created_at=T0, deleted_at=None)
    world.insert("subscriptions", subscription_id="sub-2", deployment_id="d-2", plan_version_id="flat",
                 status="active", started_at="2026-01-01 00:00:00", trial_ends_at=None, canceled_at=None)
    world.insert("subscription_phases", subscription_id="sub-2", plan_version_id="flat",
                 effective_from="2026-01-01 00:00:00", effective_to=None)
    world.close("2026-04")
    # Each tenant: base fee 3000 + GST 10% 300 = 3300; both drafts, neither numbered yet.
    assert world.documents("2026-04") == [(None, "invoice", "draft", 3000, 300, 3300)] * 2
    world.issue("2026-04")
    # Numbered in tenant id order (t-1 `solo`, then t-2 `SOLO`) from the INV-202604 series.
    with world.env.connect() as conn:
        numbers = conn.execute("SELECT tenant_id, invoice_number, status FROM revenue.tenant_invoices "
                               "ORDER BY tenant_id").fetchall()
        series = conn.execute("SELECT * FROM revenue.document_number_series").fetchall()
    assert numbers == [("t-1", "INV-202604-000001", "issued"), ("t-2", "INV-202604-000002", "issued")]
    assert series == [("INV-202604", 2)]
    world.issue("2026-04")  # issuing again draws nothing: there are no drafts left
    world.close("2026-05")
    world.issue("2026-05")  # a new month is a new series, starting at 1
    with world.env.connect() as conn:
        assert conn.execute("SELECT invoice_number FROM revenue.tenant_invoices WHERE period_start = '2026-05-01' "
                            "ORDER BY tenant_id").fetchall() == [("INV-202605-000001",), ("INV-202605-000002",)]
