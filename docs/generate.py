"""Fill the generated parts of the docs from the code, so the page and the server cannot disagree.

    python docs/generate.py             # rewrite docs/configuration.md between its settings-table markers
    python docs/generate.py --check     # exit 1 when the page is out of date (the tests run this too)
    python docs/generate.py --pictures  # redraw docs/demo-generate.png and docs/demo-edit.png (the README shows them)

The table comes from `settings.OPTIONS`, the same rows the server reads its variables and flags with.
Only the text between the markers is touched; the rest of the page is written by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mcp_server_siliconflow_image.settings import markdown_table

START = "<!-- settings-table:start -->"
END = "<!-- settings-table:end -->"
PAGE = Path(__file__).resolve().parent / "configuration.md"
INTRO = f"""# Configuration

The server reads its configuration from environment variables, each of which can also be given as a command-line
flag (the flag wins); bad values stop the server at start with a message naming the variable or flag. The table
below is generated from the code (`settings.OPTIONS` in `server/mcp_server_siliconflow_image/settings.py`): change
a row there, then run `python docs/generate.py` to rewrite it here; `python docs/generate.py --check` (run by the
tests) fails while the page and the code disagree.

{START}
{END}
"""


def filled(page: str) -> str:
    """`page` with the generated table between its markers (ValueError when they are missing)."""
    before, start, rest = page.partition(START)
    _, end, after = rest.partition(END)
    if not (start and end):
        raise ValueError(f"the page needs the markers {START} and {END}")
    return f"{before}{START}\n{markdown_table()}{END}{after}"


DEMO_PROMPT = "a lighthouse on a cliff at dusk"
DEMO_EDIT = "add a full moon above the lighthouse"
PICTURE_SIDE = 480


def write_demo_pictures() -> None:
    """The demo's first picture and its edit, as the offline stand-in makes them, small enough for the README."""
    import io

    from PIL import Image

    from mcp_server_siliconflow_image.standin.edits import edit_png
    from mcp_server_siliconflow_image.standin.pictures import render_image

    generated, _ = render_image("scene", DEMO_PROMPT, 42, (1024, 1024), 1)
    edited = edit_png((generated,), DEMO_EDIT, 7, (1024, 1024), 1)
    assert edited is not None
    for name, data in (("demo-generate.png", generated), ("demo-edit.png", edited)):
        with Image.open(io.BytesIO(data)) as image:
            small = image.convert("RGB").resize((PICTURE_SIDE, PICTURE_SIDE), Image.Resampling.LANCZOS)
            small.save(PAGE.parent / name, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report whether the page is up to date")
    parser.add_argument("--pictures", action="store_true", help="redraw the demo pictures the README shows")
    options = parser.parse_args(argv)
    if options.pictures:
        write_demo_pictures()
        return 0
    current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else INTRO
    wanted = filled(current)
    if options.check:
        if current != wanted:
            print(f"{PAGE} is out of date: run python docs/generate.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
