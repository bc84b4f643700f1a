"""The rules of the house (ARCHITECTURE.md) as tests: which part of stic may import which, and how big a
module, a class and the top level of the package may grow."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "include" / "stic"

# ---------- import layering

_FOUNDATION = {"config", "faults"}
_PRODUCT = {"config", "faults", "contract", "intake", "warehouse", "ledger", "load", "quality", "reports",
            "pipeline", "agencies", "ops"}

#: The parts of stic each part may import, besides itself (a part is a subpackage or a top-level module).
#: Lowest first; a part never imports one above it. stic.dev is in no list but cli's (and there only
#: inside a function: see LAZY_ONLY), so the product never depends on the tooling.
MAY_IMPORT: dict[str, set[str]] = {
    "config": set(),
    "faults": {"config"},
    "contract": {"config"},
    # Intake reads bytes into rows; it knows the contract, not the database, the ledger or the reports.
    "intake": {"contract", "config"},
    # The ledger works on the connection it is given; warehouse (connections, dbt) shares its publication lock.
    "ledger": {"contract"} | _FOUNDATION,
    "warehouse": {"ledger", "contract"} | _FOUNDATION,
    "load": {"intake", "ledger", "warehouse", "contract"} | _FOUNDATION,
    "quality": {"ledger", "warehouse", "contract"} | _FOUNDATION,
    "reports": {"quality", "ledger", "warehouse", "intake", "contract"} | _FOUNDATION,
    "pipeline": {"reports", "quality", "load", "ledger", "warehouse", "intake", "contract"} | _FOUNDATION,
    "agencies": {"pipeline", "reports", "quality", "load", "ledger", "warehouse", "intake", "contract"} | _FOUNDATION,
    "ops": {"pipeline", "reports", "quality", "load", "ledger", "warehouse", "intake", "contract"} | _FOUNDATION,
    "cli": _PRODUCT | {"dev"},
    "dev": _PRODUCT,
}

#: (importer part, imported part): allowed only inside a function, never when the module is imported.
LAZY_ONLY = {("cli", "dev")}

#: Known exceptions, each with the reason it is tolerated; the list should only shrink.
EXCEPTIONS = {
    ("stic.ledger.declarations", "stic.pipeline"):
        "declare_nil runs its NIL.txt through the pipeline (inside the function); it belongs in pipeline or cli",
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. stic.intake.normalise
    target: str  # the imported module or name, e.g. stic.contract.codes
    line: int
    lazy: bool  # inside a function (or under `if TYPE_CHECKING`): not run when the module is imported


def _module_name(path: Path, root: Path, package: str) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imports_of(path: Path, root: Path, package: str = "stic") -> list[Import]:
    """Every import of `package` in one file, relative ones resolved."""
    module = _module_name(path, root, package)
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            child_lazy = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) \
                or _is_type_checking(child)
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    source = ".".join(base + ([child.module] if child.module else []))
                else:
                    source = child.module or ""
                # `from stic import ledger` imports stic.ledger; `from stic.ledger import Status` imports stic.ledger.
                targets = [f"{source}.{a.name}" for a in child.names] if source == package else [source]
            for t in targets:
                if t == package or t.startswith(package + "."):
                    found.append(Import(module, t, child.lineno, lazy))
            visit(child, child_lazy)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), False)
    return found


def _part(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def layering_violations(root: Path, package: str = "stic", may_import: dict[str, set[str]] | None = None,
                        lazy_only=LAZY_ONLY, exceptions=EXCEPTIONS) -> list[str]:
    """What breaks the rules, one line each: file:line, importer -> imported, and why."""
    may_import = MAY_IMPORT if may_import is None else may_import
    problems = []
    for path in sorted(root.rglob("*.py")):
        for imp in imports_of(path, root, package):
            src, dst = _part(imp.module), _part(imp.target)
            if src is None or dst is None or src == dst:
                continue
            where = f"{path.relative_to(root.parent)}:{imp.line}: {imp.module} imports {imp.target}"
            if any(imp.module == m and (imp.target == t or imp.target.startswith(t + ".")) for m, t in exceptions):
                continue
            if src not in may_import:
                problems.append(f"{where} ({src} is not in the layering table: add it to MAY_IMPORT and ARCHITECTURE.md)")
            elif dst not in may_import[src]:
                problems.append(f"{where} ({src} may import only {', '.join(sorted(may_import[src])) or 'nothing of stic'})")
            elif (src, dst) in lazy_only and not imp.lazy:
                problems.append(f"{where} (at import time; {src} imports {dst} only inside the function that needs it)")
    return problems


def test_the_package_keeps_its_import_layering():
    problems = layering_violations(PACKAGE)
    assert not problems, "imports against ARCHITECTURE.md's rules:\n" + "\n".join(problems)


def test_the_layering_table_covers_every_part():
    parts = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    parts |= {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert parts == set(MAY_IMPORT), "a part of stic without a rule (or a rule without a part)"


def test_the_checker_catches_planted_violations(tmp_path):
    pkg = tmp_path / "stic"
    files = {
        "config.py": "import os\n",
        "contract/__init__.py": "from stic.config import settings\nfrom stic.ledger import Status\n",
        "intake/__init__.py": "",
        "intake/readers.py": "from ..warehouse import db\n",  # relative, two levels up
        "ledger/__init__.py": "def f():\n    from stic import reports\n",  # lazy does not excuse a wrong layer
        "warehouse/__init__.py": "",
        "warehouse/db.py": "",
        "reports/__init__.py": "",
        "pipeline.py": "import stic.dev.sample\n",
        "cli/__init__.py": "from stic.dev import bench\n\ndef run():\n    from stic.dev import sample\n",
        "dev/__init__.py": "from stic import cli\n",
        "dev/sample.py": "",
        "dev/bench.py": "",
    }
    for name, text in files.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    problems = layering_violations(pkg, exceptions={})
    caught = {p.split(": ", 1)[1].split(" (")[0] for p in problems}
    assert caught == {
        "stic.contract imports stic.ledger",
        "stic.intake.readers imports stic.warehouse",
        "stic.ledger imports stic.reports",
        "stic.pipeline imports stic.dev.sample",
        "stic.cli imports stic.dev",  # at import time; the one inside run() is fine
        "stic.dev imports stic.cli",
    }, "\n".join(problems)
    # The same files with the imports the rules allow: nothing to report.
    (pkg / "contract/__init__.py").write_text("from stic.config import settings\n")
    for name in ("intake/readers.py", "ledger/__init__.py", "pipeline.py", "dev/__init__.py"):
        (pkg / name).write_text("")
    (pkg / "cli/__init__.py").write_text("def run():\n    from stic.dev import sample\n")
    assert layering_violations(pkg, exceptions={}) == []


def test_dags_do_not_import_the_tooling_or_the_cli():
    problems = [f"dags/{p.name}:{i.line}: {i.target}"
                for p in sorted((ROOT / "dags").glob("*.py"))
                for i in imports_of(p, ROOT / "dags", "stic")
                if _part(i.target) in ("dev", "cli")]
    assert not problems, "\n".join(problems)


# ---------- the command line keeps stic.dev lazy

def test_stic_help_does_not_import_the_dev_tooling():
    code = ("import sys; from stic.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in sys.modules if m.startswith('stic.dev')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_dev_commands_show_their_modules_help_and_arguments():
    from stic.cli import build_parser, dev
    from stic.dev import agency_api, bench

    class Capture:
        def __init__(self):
            self.help = {}

        def add_parser(self, name, help=None, **kwargs):
            self.help[name] = help
            return argparse.ArgumentParser()

    seen = Capture()
    agency_api.add_cli(seen)
    bench.add_cli(seen)
    assert seen.help == dev.LAZY_HELP
    args = build_parser().parse_args(["bench", "--quick", "--skip", "2"])
    assert (args.quick, args.skip, args.func) == (True, "2", bench.cmd_bench)
    args = build_parser().parse_args(["agency-api", "serve", "--port", "9", "--fault", "slow"])
    assert (args.port, args.fault, args.func) == (9, ["slow"], agency_api.cmd_serve)


# ---------- sizes

MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 150
MAX_TOP_LEVEL_MODULES = 6


def test_no_module_is_over_500_lines():
    big = {str(p.relative_to(PACKAGE)): n for p in sorted(PACKAGE.rglob("*.py"))
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not big, f"modules over {MAX_MODULE_LINES} lines (split them by concern): {big}"


def test_no_class_is_over_150_lines():
    big = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and (n := node.end_lineno - node.lineno + 1) > MAX_CLASS_LINES:
                big[f"{p.relative_to(PACKAGE)}:{node.name}"] = n
    assert not big, f"classes over {MAX_CLASS_LINES} lines: {big}"


def test_the_package_has_at_most_6_top_level_modules():
    top = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(top) <= MAX_TOP_LEVEL_MODULES, f"{len(top)} top-level modules, a concern belongs in a subpackage: {top}"


@pytest.mark.parametrize("name", sorted(MAY_IMPORT))
def test_every_part_says_what_it_is_for(name):
    path = PACKAGE / f"{name}.py" if (PACKAGE / f"{name}.py").exists() else PACKAGE / name / "__init__.py"
    assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), f"{path} has no docstring"
