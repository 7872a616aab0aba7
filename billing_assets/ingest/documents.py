"""Raw DigitalOcean documents, from the live API or from an export folder, in one shape.

Export folder layout (the sample world writes exactly this; a user can assemble it by hand):

    balance.json                      GET /v2/customers/my/balance
    billing_history.json              GET /v2/customers/my/billing_history (one page, or billing_history.N.json)
    invoices.json                     GET /v2/customers/my/invoices
    invoices/<uuid>/items.json        GET /v2/customers/my/invoices/<uuid>        (items; or items.N.json pages)
    invoices/<uuid>/summary.json      GET /v2/customers/my/invoices/<uuid>/summary
    invoices/<uuid>/invoice.csv       GET /v2/customers/my/invoices/<uuid>/csv
    resources/<name>.json             droplets, droplets_gpus, volumes, databases, load_balancers,
                                      kubernetes_clusters, apps (the list endpoints' bodies)
    csv/*.csv                         invoice CSVs downloaded from the control panel, named
                                      "DigitalOcean Invoice YYYY Mon (...).csv"; used for months that
                                      invoices.json does not list (no resource ids then: matching by name)
"""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, Protocol

from billing_assets.ingest.client import DigitalOceanClient

RESOURCE_ENDPOINTS = {  # name -> (path, params)
    "droplets": ("v2/droplets", {}),
    "droplets_gpus": ("v2/droplets", {"type": "gpus"}),
    "volumes": ("v2/volumes", {}),
    "databases": ("v2/databases", {}),
    "load_balancers": ("v2/load_balancers", {}),
    "kubernetes_clusters": ("v2/kubernetes/clusters", {}),
    "apps": ("v2/apps", {}),
}
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                       "nov", "dec"), start=1)}


CHUNK_BYTES = 4 * 1024 * 1024  # raw bytes are hashed, stored and read back in pieces of this size


@dataclass(frozen=True)
class RawDocument:
    """One fetched document. Its bytes are in memory (`bytes`, the small JSON bodies) or in a file
    (`Path`: export-folder files and streamed CSV downloads), so a large CSV is never held whole."""

    kind: str          # balance | billing_history | invoice_list | invoice_items | invoice_summary | invoice_csv | resources
    key: str           # invoice uuid, resource list name, or the kind itself
    page: int
    source: str        # api | export_folder
    uri: str           # API path or file path (never a token)
    body: bytes | Path
    content_type: str
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def open(self) -> BinaryIO:
        return self.body.open("rb") if isinstance(self.body, Path) else io.BytesIO(self.body)

    def chunks(self) -> Iterator[bytes]:
        with self.open() as stream:
            while chunk := stream.read(CHUNK_BYTES):
                yield chunk

    @property
    def content(self) -> bytes:
        """All the bytes at once: for the small JSON documents only."""
        return self.body.read_bytes() if isinstance(self.body, Path) else self.body

    @cached_property
    def size(self) -> int:
        return self.body.stat().st_size if isinstance(self.body, Path) else len(self.body)

    @cached_property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for chunk in self.chunks():
            digest.update(chunk)
        return digest.hexdigest()


class DocumentSource(Protocol):
    name: str

    def __enter__(self) -> DocumentSource: ...
    def __exit__(self, *exc) -> None: ...

    def balance(self) -> RawDocument: ...
    def billing_history(self) -> list[RawDocument]: ...
    def invoice_list(self) -> list[RawDocument]: ...
    def invoice_items(self, invoice_uuid: str) -> list[RawDocument]: ...
    def invoice_summary(self, invoice_uuid: str) -> RawDocument | None: ...
    def invoice_csv(self, invoice_uuid: str) -> RawDocument | None: ...
    def dropped_csv(self, period: str) -> RawDocument | None: ...
    def resources(self) -> list[RawDocument]: ...


class ApiSource:
    """The live API. Invoice CSVs are streamed to a scratch folder that lives as long as the source:
    use it as a context manager (`with digitalocean.document_source() as source:`)."""

    name = "api"

    def __init__(self, client: DigitalOceanClient) -> None:
        self.client = client
        self._scratch: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> ApiSource:
        return self

    def __exit__(self, *exc) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def _doc(self, kind, key, page, response) -> RawDocument:
        from urllib.parse import urlsplit

        parts = urlsplit(response.url)
        uri = parts.path + (f"?{parts.query}" if parts.query else "")
        return RawDocument(kind, key, page, self.name, uri, response.body, response.content_type)

    def _pages(self, kind, key, path, params=None) -> list[RawDocument]:
        return [self._doc(kind, key, n, r) for n, r in enumerate(self.client.pages(path, params), start=1)]

    def balance(self) -> RawDocument:
        return self._doc("balance", "balance", 1, self.client.get("v2/customers/my/balance"))

    def billing_history(self) -> list[RawDocument]:
        return self._pages("billing_history", "billing_history", "v2/customers/my/billing_history")

    def invoice_list(self) -> list[RawDocument]:
        return self._pages("invoice_list", "invoice_list", "v2/customers/my/invoices")

    def invoice_items(self, invoice_uuid: str) -> list[RawDocument]:
        """Every page, each spilled to the scratch folder as it arrives (a large invoice has thousands)."""
        docs = []
        for n, page in enumerate(self.client.pages(f"v2/customers/my/invoices/{invoice_uuid}"), start=1):
            path = self._scratch_file(f"{invoice_uuid}.items.{n}.json")
            path.write_bytes(page.content)
            page.body = path
            docs.append(self._doc("invoice_items", invoice_uuid, n, page))
        return docs

    def invoice_summary(self, invoice_uuid: str) -> RawDocument:
        return self._doc("invoice_summary", invoice_uuid, 1,
                         self.client.get(f"v2/customers/my/invoices/{invoice_uuid}/summary"))

    def _scratch_file(self, name: str) -> Path:
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="billing-do-")
        return Path(self._scratch.name) / name

    def invoice_csv(self, invoice_uuid: str) -> RawDocument:
        dest = self._scratch_file(f"{invoice_uuid}.csv")
        return self._doc("invoice_csv", invoice_uuid, 1,
                         self.client.download(f"v2/customers/my/invoices/{invoice_uuid}/csv", dest))

    def dropped_csv(self, period: str) -> RawDocument | None:
        return None

    def resources(self) -> list[RawDocument]:
        docs = []
        for name, (path, params) in RESOURCE_ENDPOINTS.items():
            docs.extend(self._pages("resources", name, path, params))
        return docs


class FolderSource:
    name = "export_folder"

    def __enter__(self) -> FolderSource:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"BILLING_DO_EXPORT_DIR {self.folder} does not exist (and no DIGITALOCEAN_TOKEN "
                                    f"is set): run `billing-assets sample-world` or point it at an export folder")

    def _file(self, kind, key, page, relative: str, content_type="application/json") -> RawDocument | None:
        path = self.folder / relative
        if not path.is_file():
            return None
        return RawDocument(kind, key, page, self.name, str(path), path, content_type)

    def _pages(self, kind, key, stem: str) -> list[RawDocument]:
        first = self._file(kind, key, 1, f"{stem}.json")
        if first is None:
            return []
        docs, page = [first], 2
        while (more := self._file(kind, key, page, f"{stem}.{page}.json")) is not None:
            docs.append(more)
            page += 1
        return docs

    def balance(self) -> RawDocument:
        doc = self._file("balance", "balance", 1, "balance.json")
        if doc is None:
            raise FileNotFoundError(f"{self.folder / 'balance.json'} is missing")
        return doc

    def billing_history(self) -> list[RawDocument]:
        return self._pages("billing_history", "billing_history", "billing_history")

    def invoice_list(self) -> list[RawDocument]:
        return self._pages("invoice_list", "invoice_list", "invoices")

    def invoice_items(self, invoice_uuid: str) -> list[RawDocument]:
        return self._pages("invoice_items", invoice_uuid, f"invoices/{invoice_uuid}/items")

    def invoice_summary(self, invoice_uuid: str) -> RawDocument | None:
        return self._file("invoice_summary", invoice_uuid, 1, f"invoices/{invoice_uuid}/summary.json")

    def invoice_csv(self, invoice_uuid: str) -> RawDocument | None:
        return self._file("invoice_csv", invoice_uuid, 1, f"invoices/{invoice_uuid}/invoice.csv", "text/csv")

    def dropped_csv(self, period: str) -> RawDocument | None:
        """A control-panel CSV for `period` (YYYY-MM) from csv/, matched by its file name."""
        year, month = (int(x) for x in period.split("-"))
        for path in sorted((self.folder / "csv").glob("*.csv")):
            found = re.search(r"(\d{4})\s+([A-Za-z]{3})", path.name)
            if found and int(found[1]) == year and _MONTHS.get(found[2].lower()) == month:
                return RawDocument("invoice_csv", f"csv:{period}", 1, self.name, str(path), path, "text/csv")
        return None

    def resources(self) -> list[RawDocument]:
        docs = []
        for name in RESOURCE_ENDPOINTS:
            docs.extend(self._pages("resources", name, f"resources/{name}"))
        return docs
