"""The code examples of the user documentation, as published: each fenced block with a language carries a marker.

``<!-- example NAME: tests/…/test_x.py -->`` right before a block names it and the test that runs it as written;
``<!-- example not run: why -->`` says why a block is not run. ``tests/e2e/test_docs_examples.py`` checks that every
block has one and that the named test asks for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.support.services import ROOT

DOCS = (ROOT / "README.md", ROOT / "docs" / "liaisons.md")
_FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<code>.*?)^```$", re.S | re.M)
_RUN = re.compile(r"<!-- example (?P<name>[\w-]+): (?P<test>tests/\S+\.py) -->\s*$")
_NOT_RUN = re.compile(r"<!-- example not run: (?P<why>.+?) -->\s*$")


@dataclass(frozen=True)
class Example:
    doc: Path
    line: int
    lang: str
    code: str
    name: str | None
    test: str | None
    why_not_run: str | None


def examples(doc: Path) -> list[Example]:
    """Every fenced block with a language (bash, sh, python, …) in ``doc``, with the marker before it."""
    text = doc.read_text(encoding="utf-8")
    found = []
    for fence in _FENCE.finditer(text):
        if not fence["lang"]:
            continue  # a diagram or a listing, not an example
        before = text[: fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
        run, not_run = _RUN.match(before), _NOT_RUN.match(before)
        found.append(
            Example(
                doc=doc,
                line=text.count("\n", 0, fence.start()) + 1,
                lang=fence["lang"],
                code=fence["code"],
                name=run["name"] if run else None,
                test=run["test"] if run else None,
                why_not_run=not_run["why"] if not_run else None,
            )
        )
    return found


def example(doc: Path, name: str) -> str:
    """The code of the block ``doc`` marks as example ``name``, exactly as published."""
    named = [e for e in examples(doc) if e.name == name]
    assert len(named) == 1, f"{doc.name} has {len(named)} examples named {name!r}"
    return named[0].code
