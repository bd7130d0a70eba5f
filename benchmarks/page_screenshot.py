"""Screenshot of the leaderboard's web page in headless Chromium (issue 23: the closing note shows the page).

Opens ``leaderboards/page/index.html`` (written by ``bench leaderboard --html leaderboards/page``) from disk, picks a
dataset and split in the page's filters, sorts by a column, and saves a PNG of the window. It also prints the browser
log (any console error or warning) and the number of rows the filter shows, so the picture comes with what was seen.

    python benchmarks/page_screenshot.py                       # vox1-s2f, split test, sorted by 1:2 stratified
    python benchmarks/page_screenshot.py --dataset toy --split test --out /tmp/toy.png

Needs Chromium and chromedriver (Debian: ``apt-get install chromium chromium-driver``) and selenium (the dev extra).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", default=str(ROOT / "leaderboards" / "page" / "index.html"))
    parser.add_argument("--dataset", default="vox1-s2f")
    parser.add_argument("--split", default="test")
    parser.add_argument("--sort", default="1:2 stratified", help="column header text to click (prefix match)")
    parser.add_argument("--out", default="/tmp/leaderboard-page.png")
    parser.add_argument("--size", default="1800,1350", help="window width,height in pixels")
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chrome or not driver_path:
        raise SystemExit("Chromium and chromedriver are needed: apt-get install chromium chromium-driver")
    page = Path(args.page).resolve()
    if not page.is_file():
        raise SystemExit(f"{page} does not exist: run `bench leaderboard --html {page.parent}` first")
    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={args.size}", "--allow-file-access-from-files"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        driver.get(page.as_uri())
        for name, value in (("dataset", args.dataset), ("split", args.split)):
            selects = [s for s in driver.find_elements(By.TAG_NAME, "select")
                       if name in (s.get_attribute("name") or s.get_attribute("id") or s.get_attribute("data-filter")
                                   or "")]
            if selects:
                Select(selects[0]).select_by_value(value)
        headers = [h for h in driver.find_elements(By.CSS_SELECTOR, "th") if h.is_displayed()
                   and h.text.strip().startswith(args.sort)]
        if headers:
            headers[0].click()
        rows = [r for r in driver.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()]
        driver.save_screenshot(args.out)
        log = driver.get_log("browser")
    finally:
        driver.quit()
    print(f"{page}: {len(rows)} rows shown for dataset={args.dataset} split={args.split}, sorted by {args.sort!r}; "
          f"browser log: {len(log)} entr{'y' if len(log) == 1 else 'ies'}")
    for entry in log:
        print("  ", entry.get("level"), entry.get("message"))
    print(f"screenshot: {args.out}")


if __name__ == "__main__":
    main()
