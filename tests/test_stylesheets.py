"""The app's own stylesheets parse as plain CSS: every rule at the top level, every declaration
valid syntax. A missing ``}`` once turned every rule after it into a rule nested inside the
header's (browsers accept CSS nesting), so they applied only within the header."""

from pathlib import Path

import pytest
import tinycss2

CSS = sorted((Path(__file__).resolve().parent.parent / "static" / "css").glob("*.css"))


def problems(path: Path) -> list[str]:
    found = []
    rules = tinycss2.parse_stylesheet(path.read_text(), skip_comments=True, skip_whitespace=True)
    for rule in rules:
        if rule.type == "error":
            found.append(f"{rule.source_line}: {rule.message}")
        elif rule.type == "qualified-rule":
            found += _declaration_problems(rule.content)
        elif (
            rule.type == "at-rule"
            and rule.content is not None
            and rule.lower_at_keyword
            in {
                "media",
                "supports",
            }
        ):
            for inner in tinycss2.parse_rule_list(rule.content, True, True):
                if inner.type == "error":
                    found.append(f"{inner.source_line}: {inner.message}")
                elif inner.type == "qualified-rule":
                    found += _declaration_problems(inner.content)
    return found


def _declaration_problems(content) -> list[str]:
    declarations = tinycss2.parse_declaration_list(content, True, True)
    return [f"{d.source_line}: {d.message}" for d in declarations if d.type == "error"]


@pytest.mark.parametrize("path", CSS, ids=lambda path: path.name)
def test_the_stylesheet_has_no_nested_or_broken_rules(path):
    assert problems(path) == []


def test_a_missing_brace_is_found(tmp_path):
    broken = tmp_path / "broken.css"
    broken.write_text("nav {\n  flex-wrap: wrap;\n\na > code {\n  color: inherit;\n}\n")
    assert problems(broken) != []
