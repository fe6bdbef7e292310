"""The shape of the code: the import contracts in pyproject.toml hold, modules stay small, and
the engine imports its own modules at the top of a file unless a comment says why not."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "app"
MAX_MODULE_LINES = 300


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_import_contracts_hold():
    """lint-imports checks the contracts in pyproject.toml: no Qt in the engine, the stage
    layers, no import circles."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    assert lint_imports.exists(), f"{lint_imports} not found: install the test extra (import-linter)"
    proc = subprocess.run([str(lint_imports), "--no-cache"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, f"lint-imports failed:\n{proc.stdout}\n{proc.stderr}"


def test_modules_are_at_most_300_lines():
    sizes = {p.relative_to(REPO).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
             for p in _modules(APP)}
    over = {path: n for path, n in sizes.items() if n > MAX_MODULE_LINES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines: " + ", ".join(
        f"{path} ({n})" for path, n in sorted(over.items(), key=lambda item: -item[1]))


def _comments(source: str) -> dict[int, str]:
    """Comment text by line number."""
    found: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            found[tok.start[0]] = tok.string.lstrip("#").strip()
    return found


def _imports_app(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name == "app" or alias.name.startswith("app.") for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or node.module == "app" or (node.module or "").startswith("app.")
    return False


def _function_level_app_imports(path: Path) -> list[tuple[int, ast.AST, bool]]:
    """(line, node, explained) for each `import app...` inside a function."""
    source = path.read_text(encoding="utf-8")
    comments = _comments(source)
    found = []
    for func in ast.walk(ast.parse(source, str(path))):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        for node in ast.walk(func):
            if not _imports_app(node):
                continue
            # the reason sits on one of the statement's lines or on the line above it
            lines = range(node.lineno - 1, (node.end_lineno or node.lineno) + 1)
            reasons = [comments[n] for n in lines if n in comments and not comments[n].startswith("noqa")]
            found.append((node.lineno, node, any(len(reason.split()) >= 3 for reason in reasons)))
    return found


def test_engine_imports_its_modules_at_the_top_unless_a_comment_says_why():
    unexplained = []
    for path in _modules(APP / "engine"):
        for line, node, explained in _function_level_app_imports(path):
            if not explained:
                unexplained.append(f"{path.relative_to(REPO)}:{line}: {ast.unparse(node)}")
    assert not unexplained, ("imports inside a function with no comment saying why "
                             "(e.g. `# imports OpenGL: only when GL is chosen`):\n" + "\n".join(unexplained))


def test_the_import_check_sees_a_function_level_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n"
                      "    from app.engine.gl import context\n"
                      "    import app.engine.gl.objects  # imports OpenGL: only when used\n"
                      "    import os\n")
    assert [(line, explained) for line, _, explained in _function_level_app_imports(sample)] == [
        (2, False), (3, True)]
