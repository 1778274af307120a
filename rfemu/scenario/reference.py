"""The key reference of the schema (the README's tables)."""
from __future__ import annotations

import re

from pydantic import BaseModel

from rfemu.scenario.schema import Scenario, _unwrap

__all__ = ["schema_reference"]


def _unit_of(info) -> str:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if "unit" in extra:
        return extra["unit"] or "-"
    annotation = info.annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        for meta in getattr(arg, "__metadata__", ()) or ():
            if getattr(meta, "json_schema_extra", None):
                return meta.json_schema_extra.get("unit") or "-"
    return ""


def _default_text(info) -> str:
    from pydantic_core import PydanticUndefined
    if info.default is PydanticUndefined:
        if info.default_factory is not None:
            value = info.default_factory()
            if isinstance(value, BaseModel):
                return "(section)"
            return repr(value)
        return "required"
    value = info.default
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


def schema_reference() -> str:
    """Markdown tables of every key of the scenario schema: SI unit, default, meaning.

    One table per section (each section model once: the frequency plans and the per-layer
    device overrides share theirs).
    """
    seen: set = set()
    out: list[str] = []

    def table(model, path):
        seen.add(model)
        rows, nested = [], []
        for name, info in model.model_fields.items():
            inner = _unwrap(info.annotation)
            is_section = isinstance(inner, type) and issubclass(inner, BaseModel)
            if is_section:
                nested.append((name, inner))
            doc = " ".join((info.description or "").split()).replace("|", "\\|")
            default = "(section)" if is_section and info.default_factory else _default_text(info)
            rows.append(f"| `{name}` | {_unit_of(info)} | {default} | {doc} |")
        title = " ".join((model.__doc__ or "").split())
        if model.__doc__ == BaseModel.__doc__:
            title = ""
        out.append(f"#### `{path or '(top level)'}`\n" + (f"\n{title}\n" if title else "") +
                   "\n| key | SI unit | default | meaning |\n| --- | --- | --- | --- |\n" +
                   "\n".join(rows) + "\n")
        for name, inner in nested:
            sub = f"{path}.{name}" if path else name
            if name == "layers":
                sub += "[i]"
            if inner not in seen:
                table(inner, sub)

    table(Scenario, "")
    text = "\n".join(out)
    text = re.sub(r":(?:class|mod|func):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def update_readme(path) -> bool:
    """Replace the key reference in the README at ``path`` (from its ``#### `(top level)``` table to
    the next ``## `` heading or the end) by :func:`schema_reference`; True if it changed."""
    from pathlib import Path
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    start = text.index("#### `(top level)`")
    end = text.find("\n## ", start)
    end = len(text) if end < 0 else end + 1
    new = text[:start] + schema_reference() + ("\n" if end < len(text) else "") + text[end:]
    if not new.endswith("\n"):
        new += "\n"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":       # python -m rfemu.scenario.reference README.md
    import sys
    print("updated" if update_readme(sys.argv[1] if len(sys.argv) > 1 else "README.md") else "current")
