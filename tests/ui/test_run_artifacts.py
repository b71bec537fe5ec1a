"""The run page's artifacts in a real browser: a folder our client logged, navigated by URL, previewed
(text, JSON, YAML, CSV as a table, PNG/JPEG/GIF/SVG as images), a file downloaded and compared byte for byte,
and paths that would leave the run's artifact root refused."""

from __future__ import annotations

import base64
import json
import struct
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from mlflow_client import MlflowClient
from mlflow_client.ui import UIServer
from playwright.sync_api import Browser, Dialog, Page, expect

from server_stub.server import StubServer

Shot = Callable[[str], Path]
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBk"
    "eFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAGAAgD"
    "ASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKB"
    "kaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZ"
    "mqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQF"
    "BgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5"
    "OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX"
    "2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDHooorhPqD/9k="
)
GIF = base64.b64decode("R0lGODdhBQADAIAAAAAAAAAAACwAAAAABQADAAAICAABCBxIsGBAADs=")
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="teal"/>'
    "<script>alert(1)</script></svg>"
)


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x10\x80\xf0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """(UI URL, run id, the local folder that was logged as the run's ``report`` folder)."""
    folder = tmp_path / "report"
    (folder / "images").mkdir(parents=True)
    (folder / "notes.txt").write_text("epoch 3: <b>loss</b> went down\n")
    (folder / "config.json").write_text(json.dumps({"lr": 0.01, "layers": [64, 32]}))
    (folder / "params.yaml").write_text("optimizer: adam\nbatch_size: 128\n")
    (folder / "scores.csv").write_text("fold,auc\n1,0.91\n2,0.87\n")
    (folder / "big.txt").write_text("x" * 100_000 + "END-OF-BIG")
    (folder / "images" / "curve.png").write_bytes(_png(30, 20))
    (folder / "images" / "photo.jpg").write_bytes(JPEG)
    (folder / "images" / "tiny.gif").write_bytes(GIF)
    (folder / "images" / "logo.svg").write_text(SVG)
    root = tmp_path / "mlruns"
    with MlflowClient(str(root)) as c:
        run = c.create_run(c.create_experiment("artifacts"), run_name="with-files")
        c.log_artifacts(run.info.run_id, str(folder), "report")
        c.log_text(run.info.run_id, "secret-ish", "outside.txt")
    with UIServer(str(root), port=0) as server:
        yield server.url, run.info.run_id, folder


def test_a_person_browses_a_runs_artifacts_sees_their_previews_and_downloads_one(
    page: Page, logged: tuple[str, str, Path], shot: Shot
) -> None:
    url, run_id, folder = logged
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(f"{url}/runs/{run_id}")
    expect(page.locator("#artifacts")).to_contain_text("report/")
    expect(page.locator("#artifacts")).to_contain_text("outside.txt")
    shot("run-root")

    page.get_by_role("link", name="report/").click()
    expect(page).to_have_url(f"{url}/runs/{run_id}?path=report")
    files = page.locator("#artifacts")
    expect(files.locator('li[data-path="report/notes.txt"] pre')).to_have_text("epoch 3: <b>loss</b> went down\n")
    expect(files.locator('li[data-path="report/config.json"] pre')).to_contain_text('"layers": [\n    64,')
    expect(files.locator('li[data-path="report/params.yaml"] pre')).to_contain_text("batch_size: 128")
    csv_table = files.locator('li[data-path="report/scores.csv"] table')
    expect(csv_table.locator("th")).to_have_text(["fold", "auc"])
    expect(csv_table.locator("tbody tr")).to_have_count(2)
    expect(csv_table.locator("tbody tr").nth(1)).to_have_text("20.87")
    big = files.locator('li[data-path="report/big.txt"]')
    expect(big.locator(".truncated")).to_be_visible()  # capped: the end of the file is not on the page
    assert "END-OF-BIG" not in big.inner_text()
    shot("run-report")

    page.get_by_role("link", name="images/").click()
    expect(page).to_have_url(f"{url}/runs/{run_id}?path=report%2Fimages")
    for name, width in (("curve.png", 30), ("photo.jpg", 8), ("tiny.gif", 5), ("logo.svg", 40)):
        image = page.locator(f'li[data-path="report/images/{name}"] img')
        expect(image).to_be_visible()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        assert image.evaluate("img => img.naturalWidth") == width, name
    shot("run-images")

    with page.expect_download() as caught:
        page.locator('li[data-path="report/images/curve.png"] a.download').click()
    download = caught.value
    assert download.suggested_filename == "curve.png"
    assert Path(download.path()).read_bytes() == (folder / "images" / "curve.png").read_bytes()
    page.get_by_role("link", name="report", exact=True).click()
    with page.expect_download() as caught:
        page.locator('li[data-path="report/big.txt"] a.download').click()
    assert Path(caught.value.path()).read_bytes() == (folder / "big.txt").read_bytes()  # all of it, streamed
    assert dialogs == []  # the SVG's script never ran

    page.goto(f"{url}/runs/{run_id}?path=report%2Fscores.csv")  # a link to one file shows that file alone
    expect(page.locator("#artifacts li")).to_have_count(1)
    expect(page.locator('li[data-path="report/scores.csv"] tbody tr')).to_have_count(2)
    expect(page.locator("#artifact-path")).to_have_text("artifacts / report")
    shot("one-file")


@pytest.mark.parametrize(
    "query",
    [
        "path=..%2F..%2Fmeta.yaml",
        "path=report%2F..%2F..%2F..%2Fmeta.yaml",
        "path=%2Fetc%2Fpasswd",
        "path=%252e%252e%2Fmeta.yaml",
        "path=report%5C..%5C..%5Cmeta.yaml",
        "path=",
    ],
)
def test_a_download_path_that_leaves_the_runs_artifacts_is_refused(logged: tuple[str, str, Path], query: str) -> None:
    url, run_id, _ = logged
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{url}/get-artifact?run_id={run_id}&{query}", timeout=10)
    assert caught.value.code in (400, 404), query
    assert b"root:" not in caught.value.read()


def test_a_traversal_in_the_browser_is_refused_and_a_missing_file_is_404(
    page: Page, logged: tuple[str, str, Path], shot: Shot
) -> None:
    url, run_id, _ = logged
    answer = page.goto(f"{url}/runs/{run_id}?path=..%2F..")
    assert answer is not None and answer.status == 400
    expect(page.locator(".error")).to_contain_text("Refusing artifact path")
    shot("traversal")
    answer = page.goto(f"{url}/get-artifact?run_id={run_id}&path=report%2Fnope.txt")
    assert answer is not None and answer.status == 404
    shot("missing")


def test_an_svg_download_is_sandboxed_and_an_attachment(logged: tuple[str, str, Path]) -> None:
    url, run_id, _ = logged
    with urllib.request.urlopen(f"{url}/get-artifact?run_id={run_id}&path=report/images/logo.svg", timeout=10) as a:
        assert a.headers["Content-Type"] == "image/svg+xml"
        assert "sandbox" in a.headers["Content-Security-Policy"]
        assert a.headers["Content-Disposition"] == 'attachment; filename="logo.svg"'
        assert a.read() == SVG.encode()
    with urllib.request.urlopen(f"{url}/get-artifact?run_id={run_id}&path=report/notes.txt", timeout=10) as a:
        assert a.headers["Content-Type"] == "application/octet-stream"  # never rendered as a page


def test_the_stub_serves_artifact_previews_and_downloads_through_its_artifact_proxy(
    browser: Browser, tmp_path: Path
) -> None:
    secret = "pw-never-in-a-page"
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "scores.csv").write_text("fold,auc\n1,0.91\n")
    (folder / "curve.png").write_bytes(_png(30, 20))
    with StubServer(port=0, basic_auth=("bob", secret)) as stub:
        with MlflowClient(stub.url, username="bob", password=secret) as c:
            run = c.create_run(c.create_experiment("proxied"), run_name="proxied-run")
            c.log_artifacts(run.info.run_id, str(folder), "out")
        assert (run.info.artifact_uri or "").startswith("mlflow-artifacts:"), run.info.artifact_uri
        context = browser.new_context(http_credentials={"username": "bob", "password": secret})
        try:
            page = context.new_page()
            page.goto(f"{stub.url}/runs/{run.info.run_id}?path=out")
            expect(page.locator('li[data-path="out/scores.csv"] tbody tr')).to_have_text(["10.91"])
            image = page.locator('li[data-path="out/curve.png"] img')
            page.wait_for_function("img => img.complete && img.naturalWidth === 30", arg=image.element_handle())
            page.screenshot(path=str(tmp_path / "stub-artifacts.png"), full_page=True)
            with page.expect_download() as caught:
                page.locator('li[data-path="out/curve.png"] a.download').click()
            assert Path(caught.value.path()).read_bytes() == (folder / "curve.png").read_bytes()
            answer = page.goto(f"{stub.url}/get-artifact?run_id={run.info.run_id}&path=..%2F..%2Fx")
            assert answer is not None and answer.status == 400
            assert secret not in page.content()
        finally:
            context.close()


def test_a_file_name_with_a_line_break_cannot_add_a_header_to_its_download(tmp_path: Path) -> None:
    local = tmp_path / "evil\r\nX-Injected: 1.txt"
    local.write_text("payload")
    root = tmp_path / "mlruns"
    with MlflowClient(str(root)) as c:
        run = c.create_run(c.create_experiment("names"))
        c.log_artifact(run.info.run_id, str(local))
    with UIServer(str(root), port=0) as server:
        query = urlencode({"run_id": run.info.run_id, "path": local.name})
        with urllib.request.urlopen(f"{server.url}/get-artifact?{query}", timeout=10) as answer:
            assert answer.headers["X-Injected"] is None
            assert answer.headers["Content-Disposition"] == 'attachment; filename="evil__X-Injected: 1.txt"'
            assert answer.read() == b"payload"
