"""The README tour documents the scenario schema and the example scenarios it lists."""
from pathlib import Path

from pydantic import BaseModel

from rfemu.scenario import Scenario, schema_reference

ROOT = Path(__file__).resolve().parents[2]
TOUR = ROOT / "README.md"


def _fields(model, seen=None):
    seen = set() if seen is None else seen
    seen.add(model)
    for name, info in model.model_fields.items():
        yield model, name
        for arg in (info.annotation, *getattr(info.annotation, "__args__", ())):
            for inner in (arg, *getattr(arg, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in seen:
                    yield from _fields(inner, seen)


def test_the_tour_lists_every_key_as_the_schema_has_it():
    text = TOUR.read_text(encoding="utf-8")
    missing = [f"{m.__name__}.{name}" for m, name in _fields(Scenario) if f"| `{name}` |" not in text]
    assert not missing, f"keys missing from README.md: {missing}"
    # the generated reference is current (regenerate it with schema_reference() after a change)
    assert schema_reference() in text


def test_the_tour_names_every_example_scenario_and_the_seed_papers():
    text = TOUR.read_text(encoding="utf-8")
    for path in (ROOT / "scenarios").glob("*.yaml"):
        assert f"`{path.name}`" in text
    assert "Phys. Rev. Applied* **15**, 034067 (2021)" in text
    assert "Nat. Nanotechnol.* **18**, 1273 (2023)" in text
    assert (ROOT / "docs" / "figures" / "quickstart_frequency_plan.png").is_file()
