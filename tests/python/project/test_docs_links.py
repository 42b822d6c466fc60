"""Every relative link in README.md and docs/ resolves: the file exists and, where the link names
an anchor, the target has a heading with that anchor (GitHub's slugs). The README stays the
front door: short, with the manual in docs/."""
import pathlib
import re
import subprocess

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: pathlib.Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.M | re.S)
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def links(page: pathlib.Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.M | re.S)
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z]+:", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page):
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_every_docs_page_is_in_the_index():
    index = (ROOT / "docs" / "README.md").read_text()
    for page in (ROOT / "docs").glob("*.md"):
        if page.name != "README.md":
            assert f"({page.name})" in index, f"docs/README.md does not list {page.name}"


def test_readme_is_the_front_door():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= 220, f"README.md is {lines} lines: the manual belongs in docs/"
    for command in ("scripts/bench.sh", "scripts/test.sh"):
        assert command in (ROOT / "README.md").read_text()


def test_nothing_cites_a_document_outside_the_repository():
    # A contributor who clones the project has docs/ and nothing beside it: a comment that sends
    # them to a design file outside the repository sends them nowhere.
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    outside = re.compile(r"DESIGN\.md|\.\./shared/")
    cited = []
    for name in filter(None, files):
        path = ROOT / name
        if name.startswith("boost_src/") or not path.is_file() or path.stat().st_size > 1 << 20:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        cited += [f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1)
                  if outside.search(line) and "test_docs_links.py" not in name]
    assert not cited, "cites a document outside the repository: " + ", ".join(cited)
