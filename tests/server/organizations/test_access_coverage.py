"""Every service that acts for someone checks what they may do.

An async function under `server/` that takes an `actor` must reach `authorize` (or one
of the other access checks) on every path that matters; this test checks at least that it
calls one, directly or through functions that do. (Plain functions cannot read the
database, which is async here: a rule that needs no data, such as "this event sells to
signed-in buyers only", may take an actor without a check.) It fails for a new service that takes an actor
and forgets the check: call `authorize(...)` there, or if the function really touches no
tenant data, list it in PUBLIC below with the reason."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3] / "server"
GUARDS = {"authorize", "authorize_many", "readable_organization_ids", "require_user"}
PUBLIC: dict[str, str] = {
    # "module.path:function": "why it needs no access check",
}


def functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((f"{module}:{node.name}", node))
    return found


def called_names(node: ast.AST) -> set[str]:
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            if isinstance(sub.func, ast.Name):
                names.add(sub.func.id)
            elif isinstance(sub.func, ast.Attribute):
                names.add(sub.func.attr)
    return names


def guarded_names(all_functions: list[tuple[str, ast.AST]]) -> set[str]:
    """Names of functions that call a guard, directly or through other such functions
    (by name: a coarse but conservative-enough call graph)."""
    calls: dict[str, set[str]] = {}
    for qualified, node in all_functions:
        calls.setdefault(qualified.split(":")[1], set()).update(called_names(node))
    guarded = set(GUARDS)
    grew = True
    while grew:
        grew = False
        for name, called in calls.items():
            if name not in guarded and called & guarded:
                guarded.add(name)
                grew = True
    return guarded


def takes_actor(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    params = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    return any(p.arg == "actor" for p in params)


def test_every_function_acting_for_an_actor_checks_access() -> None:
    every = functions()
    guarded = guarded_names(every)  # type: ignore[arg-type]

    unchecked = [
        qualified
        for qualified, node in every
        if isinstance(node, ast.AsyncFunctionDef)
        and takes_actor(node)
        and not node.name.startswith("_")
        and node.name not in guarded
        and qualified not in PUBLIC
        and not qualified.startswith("server.auth.")  # the actor's own definition and checks
    ]

    assert unchecked == [], (
        "these take an actor but never call authorize (or another access check): "
        + ", ".join(unchecked)
    )


def test_the_check_finds_a_function_that_forgets_authorize(tmp_path: Path) -> None:
    source = """
async def leaky(session, *, actor, organization_id):
    return await session.get(Thing, organization_id)

async def careful(session, *, actor, organization_id):
    await authorize(session, actor, organization_id, Permission.EVENTS_READ)

async def delegating(session, *, actor, organization_id):
    return await careful(session, actor=actor, organization_id=organization_id)
"""
    nodes = [
        (f"fake:{n.name}", n)
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.AsyncFunctionDef)
    ]

    guarded = guarded_names(nodes)  # type: ignore[arg-type]

    assert "leaky" not in guarded
    assert {"careful", "delegating"} <= guarded
