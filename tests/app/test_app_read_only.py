"""Under ``--read-only`` a write key says why it does nothing, remapped keys too."""

from __future__ import annotations

import pytest
from apphelpers import make_app
from testkit import settle

from tui.appcore.keys import write_key
from tui.compat.textual_private import notifications
from tui.screens.affinity import AffinityMenu


@pytest.mark.parametrize(
    ("key", "title"),
    [("a", "affinity"), ("g", "global"), ("h", "shared"), ("s", "scale"), ("plus", "+1"), ("0", "scale 0")],
)
async def test_each_write_key_names_read_only(key: str, title: str) -> None:
    app, source = make_app(read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await pilot.pause()
        messages = [str(n.message) for n in notifications(app)]
        assert messages == [f"{title}: read-only mode (--read-only): nothing is written"]
        assert len(app.screen_stack) == 1 and source.writes == []


async def test_remapped_write_key_and_plain_keys() -> None:
    app, _ = make_app(read_only=True, keymap={"affinity": "f"})
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await pilot.pause()
        assert [str(n.message) for n in notifications(app)] == [
            "affinity: read-only mode (--read-only): nothing is written"
        ]
        await pilot.press("down", "question_mark")  # not write keys: no word about read-only
        await pilot.pause()
        assert len(list(notifications(app))) == 1
        assert not isinstance(app.screen, AffinityMenu)


def test_write_key_follows_the_keymap() -> None:
    assert write_key("a", {}) is not None and write_key("a", {"affinity": "f"}) is None
    assert write_key("c", {}) is None and write_key("minus", {}).id == "scale-down"  # type: ignore[union-attr]
