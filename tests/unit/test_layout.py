"""The shape of the house: polyalign's modules as rooms, their imports as arrows.

Measured from the source with ``ast`` (nothing is imported, no torch): every ``import`` of a
polyalign module counts, at module level and inside functions, and ``from polyalign.x import y``
is an arrow to ``polyalign.x.y`` when that is a module, else to ``polyalign.x`` (a package's
``__init__`` is a room of its own). The rules (issue 21, DESIGN.md):

- no circle;
- at most ``MAX_FLOORS`` floors (a room's floor is the length of the longest chain of arrows from
  it down; a room that imports no polyalign module is on floor 1);
- the foundations (``scaling/``, ``grid``, ``models``, ``eval/``, ``data/``) import nothing of the
  experiment and nothing of ``train/``;
- no module over ``MAX_LINES`` lines;
- an import inside a function only where it keeps a heavy module (torch, transformers ...) out of
  ``polyalign --help``: never of a light polyalign module, which could always sit at the top (the
  house has no circle for it to dodge).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

from test_imports import HEAVY as MODEL_CODE  # the modules that exist to run a model

SRC = Path(__file__).resolve().parents[2] / "src"
MAX_FLOORS = 10  # the goal (issue 21)
FLOORS_NOW = 10  # what the house has today: it may only come down (lower this when it does)
MAX_LINES = 500

# The experiment: the only part that may know every other.
EXPERIMENT = (
    "polyalign.stages",
    "polyalign.arms",
    "polyalign.pilot",
    "polyalign.experiment",
    "polyalign.estimate",
    "polyalign.calibrate",
)
# Foundations, which must not import the experiment or the trainer.
FOUNDATIONS = ("polyalign.scaling", "polyalign.grid", "polyalign.models", "polyalign.eval", "polyalign.data")
TRAINER = ("polyalign.train",)
# Third-party packages too slow to import for ``polyalign --help``: a polyalign module that
# imports one of these at its top (or imports a module that does), and the model code
# test_imports.py names, may be imported inside a function; nothing else may.
HEAVY_DEPS = frozenset(
    {
        *("torch", "transformers", "peft", "accelerate", "safetensors", "vllm", "comet"),
        *("datasets", "huggingface_hub", "pyarrow", "submitit", "mlflow", "matplotlib"),
        *("numpy", "scipy", "sacrebleu", "langid"),
    }
)

Graph = dict[str, set[str]]


def module_name(path: Path, src: Path) -> str:
    """``src/polyalign/a/b.py`` -> ``polyalign.a.b``; a package's ``__init__.py`` -> the package."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_sources(src: Path, package: str = "polyalign") -> dict[str, str]:
    """Every module of ``package`` under ``src``: name -> source text."""
    return {module_name(p, src): p.read_text(encoding="utf-8") for p in sorted((src / package).rglob("*.py"))}


def _in_function(node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return True
    return False


def imports(source: str, rooms: Iterable[str], package: str = "polyalign") -> list[tuple[str, bool]]:
    """The modules a source imports: (name, inside a function). Polyalign names are resolved to
    rooms (``from p.x import y`` -> ``p.x.y`` if it is a room, else ``p.x``); others are kept as the
    top-level package name (``torch.nn`` -> ``torch``)."""
    rooms = set(rooms)
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in rooms else node.module for a in node.names
            ]
        else:
            continue
        inner = _in_function(node, parents)
        for name in names:
            if name != package and not name.startswith(package + "."):
                name = name.split(".")[0]
            found.append((name, inner))
    return found


def arrows(sources: Mapping[str, str], package: str = "polyalign") -> Graph:
    """Room -> the rooms it imports (anywhere in its body)."""
    rooms = set(sources)
    return {
        room: {name for name, _ in imports(text, rooms, package) if name in rooms and name != room}
        for room, text in sources.items()
    }


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One circle of arrows as its rooms, first room repeated at the end; None when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(room: str) -> list[str] | None:
        state[room] = 1
        path.append(room)
        for nxt in sorted(graph.get(room, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[room] = 2
        return None

    for room in sorted(graph):
        if room not in state and (cycle := visit(room)):
            return cycle
    return None


def longest_chains(graph: Mapping[str, set[str]]) -> dict[str, list[str]]:
    """Room -> the longest chain of arrows from it down (itself first); its floor is the chain's length.
    The graph must have no circle."""
    chains: dict[str, list[str]] = {}

    def chain(room: str) -> list[str]:
        if room not in chains:
            below = [chain(nxt) for nxt in sorted(graph.get(room, ()))]
            chains[room] = [room] + max(below, key=len, default=[])
        return chains[room]

    for room in sorted(graph):
        chain(room)
    return chains


def within(room: str, prefixes: Iterable[str]) -> bool:
    return any(room == p or room.startswith(p + ".") for p in prefixes)


def upward_arrows(graph: Mapping[str, set[str]], low: Iterable[str], high: Iterable[str]) -> list[tuple[str, str]]:
    """Arrows from a room under one of ``low`` into a room under one of ``high``."""
    low, high = tuple(low), tuple(high)
    return sorted((a, b) for a, targets in graph.items() if within(a, low) for b in targets if within(b, high))


def heavy_rooms(
    sources: Mapping[str, str], heavy_deps: Iterable[str], seeds: Iterable[str] = (), package: str = "polyalign"
) -> set[str]:
    """Rooms whose import (at module level, through other rooms) pulls in a heavy dependency or
    one of ``seeds`` (model code, heavy by what it is for)."""
    rooms, heavy_deps = set(sources), set(heavy_deps)
    top = {room: {n for n, inner in imports(text, rooms, package) if not inner} for room, text in sources.items()}
    heavy = {room for room, names in top.items() if names & heavy_deps} | (set(seeds) & rooms)
    grew = True
    while grew:
        new = {room for room, names in top.items() if room not in heavy and names & heavy}
        heavy |= new
        grew = bool(new)
    return heavy


def light_imports_in_functions(sources: Mapping[str, str], heavy: set[str], package: str = "polyalign") -> list[str]:
    """``room -> target`` for each import, inside a function, of a light polyalign room."""
    rooms = set(sources)
    return sorted(
        {
            f"{room} -> {name}"
            for room, text in sources.items()
            for name, inner in imports(text, rooms, package)
            if inner and name in rooms and name not in heavy and name != package
        }
    )


# ---- the measure itself, on a tiny synthetic house -------------------------------------------


def _house(edges: dict[str, list[str]]) -> dict[str, str]:
    return {room: "".join(f"import {t}\n" for t in targets) for room, targets in edges.items()}


def test_arrows_resolve_submodules_packages_and_function_bodies():
    sources = {
        "p": "",
        "p.a": "from p import b\nfrom p.sub import c, VALUE\nimport os\n",
        "p.b": "def f():\n    import p.sub.c\n    from p import a\n",
        "p.sub": "VALUE = 1\n",
        "p.sub.c": "from p import __version__\n",
    }
    graph = arrows(sources, "p")
    assert graph == {
        "p": set(),
        "p.a": {"p.b", "p.sub.c", "p.sub"},
        "p.b": {"p.sub.c", "p.a"},
        "p.sub": set(),
        "p.sub.c": {"p"},
    }
    assert imports(sources["p.b"], sources, "p") == [("p.sub.c", True), ("p.a", True)]
    assert find_cycle(graph) == ["p.a", "p.b", "p.a"]


def test_a_planted_cycle_is_caught_and_named():
    graph = arrows(_house({"p.a": ["p.b"], "p.b": ["p.c"], "p.c": ["p.d"], "p.d": ["p.b"]}), "p")
    assert find_cycle(graph) == ["p.b", "p.c", "p.d", "p.b"]
    assert find_cycle(arrows(_house({"p.a": ["p.b"], "p.b": ["p.c"], "p.c": []}), "p")) is None


def test_a_planted_eleven_floor_chain_is_measured():
    rooms = [f"p.m{i:02d}" for i in range(11)]
    edges = {room: rooms[i + 1 : i + 2] for i, room in enumerate(rooms)}
    edges["p.side"] = ["p.m09"]  # a shorter way down does not hide the long one
    chains = longest_chains(arrows(_house(edges), "p"))
    assert chains["p.m00"] == rooms
    assert len(chains["p.m00"]) == 11 > MAX_FLOORS
    assert len(chains["p.m10"]) == 1
    assert chains["p.side"] == ["p.side", "p.m09", "p.m10"]


def test_upward_arrows_and_light_imports_in_functions_are_found():
    sources = {
        "p.grid": "import p.run\n",
        "p.data.x": "def f():\n    import p.train.loop\n    import p.lite\n",
        "p.train.loop": "import torch\n",
        "p.lite": "import json\n",
        "p.run": "import p.data.x\n",
    }
    graph = arrows(sources, "p")
    assert upward_arrows(graph, ["p.grid", "p.data"], ["p.run", "p.train"]) == [
        ("p.data.x", "p.train.loop"),
        ("p.grid", "p.run"),
    ]
    heavy = heavy_rooms(sources, {"torch"}, package="p")
    assert heavy == {"p.train.loop"}
    assert light_imports_in_functions(sources, heavy, "p") == ["p.data.x -> p.lite"]
    # a seed is heavy, and so is every room that imports it at its top, however far up
    assert heavy_rooms(sources, {"torch"}, seeds=["p.data.x"], package="p") == {
        "p.train.loop",
        "p.data.x",
        "p.run",
        "p.grid",
    }


# ---- the real house ------------------------------------------------------------------------------

SOURCES = read_sources(SRC)
GRAPH = arrows(SOURCES)


def test_the_house_is_read():
    assert {"polyalign", "polyalign.io", "polyalign.cli", "polyalign.data.records"} <= set(GRAPH)
    assert "polyalign.config" in GRAPH["polyalign.recipe"]


def test_no_circle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def _tallest() -> list[str]:
    assert find_cycle(GRAPH) is None
    return max(longest_chains(GRAPH).values(), key=len)


def test_the_house_grows_no_taller():
    top = _tallest()
    assert len(top) <= FLOORS_NOW, f"{len(top)} floors (was {FLOORS_NOW}): " + " -> ".join(top)


def test_at_most_ten_floors():
    top = _tallest()
    assert len(top) <= MAX_FLOORS, f"{len(top)} floors: " + " -> ".join(top)


def test_no_arrow_up_from_the_foundations():
    up = upward_arrows(GRAPH, FOUNDATIONS, EXPERIMENT + TRAINER)
    assert up == [], "arrows up: " + ", ".join(f"{a} -> {b}" for a, b in up)


def test_no_module_over_500_lines():
    sizes = {room: len(text.splitlines()) for room, text in SOURCES.items()}
    big = sorted(f"{room}: {n} lines" for room, n in sizes.items() if n > MAX_LINES)
    assert big == [], "modules over 500 lines: " + ", ".join(big)


def test_imports_inside_functions_only_for_heavy_modules():
    heavy = heavy_rooms(SOURCES, HEAVY_DEPS, seeds=MODEL_CODE)
    light = light_imports_in_functions(SOURCES, heavy)
    assert light == [], f"{len(light)} imports of light modules inside functions: " + ", ".join(light)
