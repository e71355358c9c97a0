"""The unsubscribe page in a real browser (headless Chromium driven by Playwright): the
link in a mail shows a confirmation button, a GET alone changes nothing, the click
unsubscribes, and the token never appears in the server's request log.

Chromium comes from the system (Debian package `chromium`; `setup.sh` installs it);
Playwright's own browser download is not used.
"""

from __future__ import annotations

import threading

import pytest

from pipelines.notify import alerts
from tests.support.browser import chromium


@pytest.fixture
def unsubscribe_server(tmp_path):
    engine = alerts.make_engine(f"sqlite:///{tmp_path / 'alerts.sqlite'}")
    server = alerts.make_unsubscribe_server(engine, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        engine.dispose()


def test_unsubscribe_link_in_a_real_browser(unsubscribe_server, caplog, capfd):
    engine, base = unsubscribe_server
    sub = alerts.subscribe(engine, "ml-team@example.org", gpus=["H100"])
    link = alerts.unsubscribe_url(base, sub.token)
    with chromium() as browser:
        page = browser.new_page()
        page.goto(link)
        button = page.get_by_role("button", name="Unsubscribe from GPU price alerts")
        assert button.is_visible()
        # Opening the link (what a mail scanner does) must not unsubscribe anyone.
        assert [s.email for s in alerts.list_subscribers(engine)] == ["ml-team@example.org"]
        button.click()
        page.wait_for_load_state()
        assert "ml-team@example.org is unsubscribed." in page.content()
        assert alerts.list_subscribers(engine) == []
        # The link is spent: opening it again and clicking says so, without error.
        page.goto(link)
        page.get_by_role("button").click()
        page.wait_for_load_state()
        assert "no longer subscribed" in page.content()
    out, err = capfd.readouterr()
    assert sub.token not in out + err + caplog.text
