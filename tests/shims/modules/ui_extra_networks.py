"""Test stand-in for A1111's ``modules.ui_extra_networks``: the registered pages and their refresh()."""

from __future__ import annotations


class Page:
    def __init__(self, tabname: str):
        self.extra_networks_tabname = tabname
        self.refreshed = 0

    def refresh(self) -> None:
        self.refreshed += 1


extra_pages = [Page("textual_inversion"), Page("hypernetworks"), Page("checkpoints"), Page("lora")]
