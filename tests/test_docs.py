"""The README's and the model card's links and pictures resolve inside a clone (nothing points outside the repository)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "sketchcolor" / "weights" / "MODEL_CARD.md", ROOT / "docs" / "EVALUATION.md"]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve_in_the_repository(doc):
    targets = [t for t in LINK.findall(doc.read_text(encoding="utf-8")) if not re.match(r"[a-z]+://|#|mailto:", t)]
    assert targets or doc.name != "README.md"
    for target in targets:
        path = (doc.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"{doc.name} links outside the repository: {target}"
        assert path.exists(), f"{doc.name} links to a missing file: {target}"
