"""The repository's notes cannot rot silently: every file, test, anchor and name that
docs/physics.md and docs/architecture.md cite exists, and the code cites those notes (by section)
rather than a physics sheet the repository does not hold."""
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
OLD_SHEET = "PHYSICS" + ".md"          # spelt so that this file does not cite it
# the kernel's sources are owned by the build; their comments are fixed with the kernel
GENERATED = {ROOT / "rfemu" / "_core.c"}   # Cython output, not a source
CITING = [ROOT / "README.md", *sorted((ROOT / "rfemu").rglob("*.py")), *sorted((ROOT / "tests").rglob("*.py")),
          *sorted((ROOT / "benchmarks").glob("*.py")), *sorted((ROOT / "examples").glob("*.py")),
          *sorted((ROOT / "scenarios").glob("*.yaml")), *DOCS]

PATH = re.compile(r"(?<![\w./-])((?:rfemu|tests|benchmarks|examples|scenarios|docs)/[\w./-]*[\w/])")
TEST_REF = re.compile(r"((?:tests)/[\w./-]+\.py)::(\w+)")
ANCHOR_REF = re.compile(r"docs/(\w+\.md)#([\w-]+)")
LOCAL_ANCHOR = re.compile(r"\]\(#([\w-]+)\)")
DOTTED = re.compile(r"`(rfemu(?:\.\w+)+)`")


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(doc: Path) -> set:
    found, fenced = set(), False
    for line in doc.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.add(slug(line.lstrip("#")))
    return found


def _text(path: Path) -> str:
    return path.read_text(errors="replace")


def test_the_notes_exist_and_have_sections():
    names = {d.name for d in DOCS}
    assert {"physics.md", "architecture.md"} <= names, names
    for doc in DOCS:
        assert len(anchors(doc)) >= 5, doc


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_path_named_in_the_notes_exists(doc):
    text = _text(doc)
    named = {m.group(1) for m in PATH.finditer(text) if not text.startswith("<", m.end())}  # not a template
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_test_named_in_the_notes_exists(doc):
    missing = []
    for path, name in set(TEST_REF.findall(_text(doc))):
        file = ROOT / path
        if not file.is_file() or not re.search(rf"^\s*def {name}\(", file.read_text(), re.M):
            missing.append(f"{path}::{name}")
    assert not missing, f"{doc.name} names tests that do not exist: {sorted(missing)}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_rfemu_name_in_the_notes_imports(doc):
    missing = []
    for dotted in sorted(set(DOTTED.findall(_text(doc)))):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):        # the longest importable module, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                missing.append(dotted)
            break
        else:
            missing.append(dotted)
    assert not missing, f"{doc.name} names objects that do not exist: {missing}"


def test_every_cited_section_of_the_notes_exists():
    known = {doc.name: anchors(doc) for doc in DOCS}
    broken = []
    for path in CITING:
        text = _text(path)
        for name, anchor in ANCHOR_REF.findall(text):
            if anchor not in known.get(name, set()):
                broken.append(f"{path.relative_to(ROOT)}: docs/{name}#{anchor}")
        if path in DOCS:
            broken += [f"{path.relative_to(ROOT)}: #{a}" for a in LOCAL_ANCHOR.findall(text)
                       if a not in known[path.name]]
    assert not broken, "citations of sections that do not exist:\n" + "\n".join(broken)


def test_nothing_cites_the_physics_sheet_the_repository_does_not_hold():
    sources = [ROOT / "README.md", *(ROOT / "rfemu").rglob("*"), *(ROOT / "tests").rglob("*.py")]
    citing = sorted(str(p.relative_to(ROOT)) for p in sources
                    if p.is_file() and p.suffix in {".py", ".pyx", ".pxi", ".md"}
                    and p not in GENERATED
                    and OLD_SHEET in _text(p))
    assert not citing, f"cite docs/physics.md#<section> instead of {OLD_SHEET} in: {citing}"
