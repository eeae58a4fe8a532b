"""`labextension/src/tokens.ts` and the stylesheet mirror the role and stage tables in roles.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jupyter_mlprod import roles

LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"
ROLE_ENTRY = re.compile(
    r"\{\s*tag:\s*'(?P<tag>[a-z]+)',\s*colour:\s*'(?P<colour>#[0-9a-fA-F]{6})',"
    r"\s*becomes:\s*'(?P<becomes>[^']*)',\s*exported:\s*(?P<exported>true|false)\s*\}"
)


def ts_roles() -> list[tuple[str, str, str, bool]]:
    source = (LABEXTENSION / "src" / "tokens.ts").read_text()
    table = source[source.index("export const ROLES") :]
    table = table[: table.index("];")]
    return [
        (m["tag"], m["colour"].lower(), m["becomes"], m["exported"] == "true")
        for m in ROLE_ENTRY.finditer(table)
    ]


def test_tokens_ts_has_the_roles_of_roles_py_in_order() -> None:
    expected = [(r.tag, r.colour.lower(), r.becomes, r.exported) for r in roles.ROLES]
    assert ts_roles() == expected


def test_tokens_ts_stage_order_and_metadata_key_match() -> None:
    source = (LABEXTENSION / "src" / "tokens.ts").read_text()
    order = re.search(r"STAGE_ORDER: readonly RoleName\[\] = \[([^\]]*)\]", source)
    assert order is not None
    # The parameters come first, then every stage tagged by a role, in the table's run order.
    by_order = sorted((spec for spec in roles.STAGES if spec.tagged), key=lambda s: s.order)
    expected = (roles.PARAMETERS, *(spec.role for spec in by_order))
    assert tuple(re.findall(r"'([a-z]+)'", order.group(1))) == expected
    assert f"MLPROD_KEY = '{roles.MLPROD_KEY}'" in source


def test_stylesheet_light_colours_match_roles_py() -> None:
    css = (LABEXTENSION / "style" / "base.css").read_text()
    light = css[css.index(":root") : css.index("}")]
    for role in roles.ROLES:
        assert f"--jp-mlprod-{role.tag}: {role.colour.lower()};" in light.lower()


def test_schema_shortcuts_cover_every_role() -> None:
    schema = json.loads((LABEXTENSION / "schema" / "plugin.json").read_text())
    bound = {s["args"]["role"]: s["keys"] for s in schema["jupyter.lab.shortcuts"]}
    assert set(bound) == {r.tag for r in roles.ROLES} | {"none"}
