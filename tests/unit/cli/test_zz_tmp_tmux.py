import time
from pathlib import Path
from tests.integration.cli.test_cli_terminal import Terminal
def test_t(tmp_path):
    s = tmp_path / "s.sh"
    s.write_text("stty size; env | grep -E 'COLUMNS|LINES|TERM'; /work/main/.venv/bin/python -c 'from rollway.cli.output import console; print(console().size)'; sleep 30\n")
    t = Terminal(); t.start(s); time.sleep(3); print(t.screen()); t.close(); assert 0
