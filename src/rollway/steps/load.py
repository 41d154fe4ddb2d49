"""load: the judge's traffic Job — GETs to each side of a release at a bounded rate for a bounded
time, each on a connection of its own (kube-proxy picks a pod per connection), so a thinly used
app still gives the judge samples. It stops by itself and never fails the analysis over the
answers: judging them is the judge's job."""

from __future__ import annotations

import threading
import time
from collections import Counter

import click

from ..analysis.config import MAX_RATE

MAX_SECONDS = 3600


@click.command("load")
@click.option("--url", "urls", multiple=True, required=True, help="A side's URL (repeatable).")
@click.option(
    "--rate",
    type=click.FloatRange(min=0, max=MAX_RATE, min_open=True),
    default=5.0,
    show_default=True,
    help="Requests a second to each URL.",
)
@click.option(
    "--duration",
    type=click.IntRange(min=1, max=MAX_SECONDS),
    required=True,
    help="Seconds to send for.",
)
def command(urls: tuple[str, ...], rate: float, duration: int) -> None:
    """Send GETs to every URL for `duration` seconds, then print what answered."""
    answers: dict[str, Counter[str]] = {url: Counter() for url in urls}
    deadline = time.monotonic() + duration
    threads = [
        threading.Thread(target=_send, args=(url, 1.0 / rate, deadline, answers[url]), daemon=True)
        for url in urls
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for url, counts in answers.items():
        shown = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))
        click.echo(f"{url}  {shown or 'nothing sent'}")


def _send(url: str, interval: float, deadline: float, counts: Counter[str]) -> None:
    import httpx

    with httpx.Client(timeout=5, headers={"Connection": "close"}) as http:
        while (started := time.monotonic()) < deadline:
            try:
                counts[str(http.get(url).status_code)] += 1
            except httpx.HTTPError as err:
                counts[type(err).__name__] += 1
            time.sleep(max(0.0, min(interval - (time.monotonic() - started), deadline - started)))
