"""What "save as shadow" stores: the live rules unchanged, plus the draft's new and changed
rules in shadow (recorded on every decision, never enforced). A changed rule keeps its live
version enforcing and gets its draft beside it as ``<name>__shadow``; a rule the draft
removes stays live (a removal cannot be tried in shadow: activate it instead).

>>> live = '''rule a:
...     block if event.amount > 100
...
... rule b:
...     review if event.amount > 5
... '''
>>> draft = '''rule a:
...     block if event.amount > 50
...
... rule b:
...     review if event.amount > 5
...
... rule c:
...     description "new"
...     challenge if event.amount > 7
... '''
>>> print(shadow_text(live, draft, note="try a lower limit"))
rule a:
    block if event.amount > 100
<BLANKLINE>
rule b:
    review if event.amount > 5
<BLANKLINE>
# shadow: try a lower limit
rule a__shadow [shadow]:
    block if event.amount > 50
<BLANKLINE>
rule c [shadow]:
    description "new"
    challenge if event.amount > 7
<BLANKLINE>
>>> shadow_text(live, live)
Traceback (most recent call last):
...
fraudwatch.errors.ValidationFailed: the draft adds or changes no rule: nothing to run in shadow
"""

from __future__ import annotations

import re

from fraudwatch.errors import ValidationFailed

SUFFIX = "__shadow"


def _blocks(text: str, ruleset) -> dict[str, list[str]]:
    """Each rule's own lines (from its header to the line before the next rule, without
    the comments and blank lines that lead into the next one)."""
    lines = text.splitlines()
    starts = [r.line - 1 for r in ruleset.rules] + [len(lines)]
    out = {}
    for rule, start, end in zip(ruleset.rules, starts, starts[1:], strict=False):
        block = lines[start:end]
        while block and (not block[-1].strip() or block[-1].lstrip().startswith("#")):
            block.pop()
        out[rule.name] = block
    return out


def _same(a, b) -> bool:
    return (a.outcome, " ".join(a.condition.split()), a.description, a.shadow) == (
        b.outcome,
        " ".join(b.condition.split()),
        b.description,
        b.shadow,
    )


def _shadow_header(line: str, name: str, new_name: str) -> str:
    pattern = re.compile(rf"^(\s*rule\s+){re.escape(name)}\s*(\[[^\]]*\])?\s*:")
    return pattern.sub(lambda m: f"{m.group(1)}{new_name} [shadow]:", line, count=1)


def shadow_text(live_text: str, draft_text: str, note: str = "") -> str:
    from fraudwatch.api import parse_rules

    live = parse_rules(live_text, "live")
    draft = parse_rules(draft_text, "draft")
    live_by_name = {r.name: r for r in live.rules}
    blocks = _blocks(draft_text, draft)
    added: list[str] = []
    for rule in draft.rules:
        before = live_by_name.get(rule.name)
        if before is not None and _same(before, rule):
            continue
        if rule.name.endswith(SUFFIX) and rule.name in live_by_name:
            continue
        new_name = rule.name if before is None else rule.name + SUFFIX
        if before is not None and new_name in live_by_name:
            raise ValidationFailed(
                f"rule {new_name!r} exists already",
                [{"loc": f"rules.{new_name}", "msg": "remove the earlier shadow copy first"}],
            )
        block = list(blocks[rule.name])
        block[0] = _shadow_header(block[0], rule.name, new_name)
        added.append("\n".join(block))
    if not added:
        raise ValidationFailed("the draft adds or changes no rule: nothing to run in shadow")
    head = live_text.rstrip("\n") + "\n\n"
    comment = "# shadow" + (": " + " ".join(note.split()) if note else "") + "\n"
    return head + comment + "\n\n".join(added) + "\n"
