"""An option list whose highlighted option is marked in its text ("›"), not only by the
cursor's colour: with NO_COLOR the highlight has no colour, and "Enter takes the highlighted
one" must still say which one that is."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

MARK = "› "
BLANK = "  "


class MarkedOptionList(OptionList):
    """An OptionList of ``Option``s (or plain prompts) with a leading "›" on the highlighted one."""

    def __init__(self, *options: Option | Text | str, **kwargs) -> None:
        self._prompts: list[Text] = []
        marked: list[Option] = []
        for option in options:
            if isinstance(option, Option):
                prompt, option_id, disabled = option.prompt, option.id, option.disabled
            else:
                prompt, option_id, disabled = option, None, False
            text = prompt.copy() if isinstance(prompt, Text) else Text(str(prompt))
            self._prompts.append(text)
            marked.append(Option(Text(BLANK) + text, id=option_id, disabled=disabled))
        self._marked: int | None = None
        super().__init__(*marked, **kwargs)

    def watch_highlighted(self, highlighted: int | None) -> None:
        """Move the mark to the highlighted option, then do what OptionList does."""
        if highlighted != self._marked:
            before, self._marked = self._marked, highlighted
            for index, mark in ((before, BLANK), (highlighted, MARK)):
                if index is not None and 0 <= index < len(self._prompts):
                    self.replace_option_prompt_at_index(index, Text(mark) + self._prompts[index])
        super().watch_highlighted(highlighted)
