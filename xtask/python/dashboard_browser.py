"""The dashboard in a real browser: headless Chromium driven by Selenium through Debian's chromedriver.

Usage:
  dashboard_browser.py day BASE_URL TODAY [SCREENSHOT_DIR]
  dashboard_browser.py auth BASE_URL TOKEN

`day` expects the sandbox's demo day (a plan per coach, Day Trading's with an archived chart and edited once,
Swing's text holding a <script>): it checks the day view, the chart images, the big chart, the coach filter, the
date switch, search, the history diff, the phone width, headings and keyboard focus; then it prints `READY live`,
waits for a line on standard input (the test changes a plan through the local Discord meanwhile) and checks that the
open page shows the change within 5 seconds. Throughout, the browser's console must stay free of errors and no
request may leave BASE_URL. With SCREENSHOT_DIR, it saves dashboard-desktop.png and dashboard-phone.png there.

`auth` expects `api.auth: required`: the sign-in form, a refused token, the session cookie (HttpOnly: scripts cannot
read it), and signing out.

Prints `ok: ...` lines as checks pass; exits non-zero with the failed check otherwise.
"""

import json
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

# Never let Selenium Manager look for a browser or a driver on the network.
os.environ["SE_OFFLINE"] = "true"


def driver():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-default-apps"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print("ok:", what.split(":")[0], flush=True)


def wait_for(condition, what, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s: {what}")


class Watch:
    """The browser's console errors and the hosts of its requests, collected as pages are visited."""

    def __init__(self, browser, base):
        self.browser, self.base = browser, base
        self.errors, self.outside = [], []

    def collect(self):
        for entry in self.browser.get_log("browser"):
            if entry.get("level") == "SEVERE":
                self.errors.append(entry.get("message"))
        for entry in self.browser.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                url = message["params"]["request"]["url"]
                if not (url.startswith(self.base) or url.startswith("data:") or url.startswith("about:")):
                    self.outside.append(url)

    def verify(self):
        self.collect()
        check(not self.errors, f"no console errors: {self.errors}")
        check(not self.outside, f"no request leaves {self.base}: {self.outside}")


def headings_in_order(browser):
    levels = browser.execute_script(
        "return Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6')).map(h => Number(h.tagName[1]));")
    previous = 0
    for level in levels:
        if level > previous + 1:
            return False
        previous = level
    return levels[:1] == [1]


def images_loaded(browser, selector):
    return browser.execute_script(
        "const images = Array.from(document.querySelectorAll(arguments[0]));"
        "images.forEach(i => i.scrollIntoView());"
        "return images.length > 0 && images.every(i => i.complete && i.naturalWidth > 0);", selector)


def day(base, today, screenshots):
    browser = driver()
    watch = Watch(browser, base)
    try:
        browser.get(f"{base}/dashboard")
        plans = browser.find_elements(By.CSS_SELECTOR, "#plans article.plan")
        check(len(plans) == 4, f"every coach's plan is shown: {len(plans)}")
        check(today in browser.title, f"today's date is in the title: {browser.title}")
        wait_for(lambda: images_loaded(browser, "#plans img"), "the chart images load (natural width > 0)")
        check(images_loaded(browser, "#plans img"), "chart images load")
        alts = browser.execute_script("return Array.from(document.images).filter(i => i.closest('#plans')).map(i => i.alt)")
        check(all(alts), f"every image has alt text: {alts}")
        check(headings_in_order(browser), "headings in order")
        swing = browser.find_element(By.CSS_SELECTOR, "#plans article[data-coach='s'] .text").text
        check("<script>" in swing, f"a <script> in a plan shows as text: {swing!r}")
        check(browser.execute_script("return window.__xss === undefined"), "the <script> plan is inert")

        # Keyboard: the first Tab stops of a freshly loaded page reach links and the search box. The keys go to the
        # page as typed, not to an element (Selenium would click that element first, and Chromium starts the Tab
        # order from where a click landed).
        browser.refresh()
        focused = []
        for _ in range(3):
            ActionChains(browser).send_keys(Keys.TAB).perform()
            focused.append(browser.execute_script("return document.activeElement.tagName"))
        check("A" in focused and "INPUT" in focused, f"keyboard reaches links and the search box: {focused}")

        # A chart opens large, and Escape closes it.
        browser.find_element(By.CSS_SELECTOR, "#plans a.chart").click()
        wait_for(lambda: browser.execute_script("return document.getElementById('chart-dialog').open"), "dialog opens")
        wait_for(lambda: images_loaded(browser, "#chart-dialog img"), "the large chart loads")
        browser.switch_to.active_element.send_keys(Keys.ESCAPE)
        wait_for(lambda: not browser.execute_script("return document.getElementById('chart-dialog').open"),
                 "Escape closes the chart")
        check(True, "a chart opens large on click and closes with Escape")
        if screenshots:
            browser.save_screenshot(os.path.join(screenshots, "dashboard-desktop.png"))

        # Coach filter.
        browser.find_element(By.CSS_SELECTOR, "select[name=coach] option[value=i]").click()
        browser.find_element(By.CSS_SELECTOR, "form[action='/dashboard'] button").click()
        wait_for(lambda: "coach=i" in browser.current_url, "the filter's URL")
        shown = [a.get_attribute("data-coach") for a in browser.find_elements(By.CSS_SELECTOR, "#plans article")]
        check(shown == ["i"], f"the coach filter shows one coach: {shown}")

        # Date switch: the day before, then back.
        browser.find_element(By.CSS_SELECTOR, "a[rel=prev]").click()
        wait_for(lambda: today not in browser.title, "the previous day")
        check(len(browser.find_elements(By.CSS_SELECTOR, "#plans article.plan")) == 0,
              "the day before has no plans")
        browser.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
        wait_for(lambda: today in browser.title, "back to today")

        # Search.
        box = browser.find_element(By.CSS_SELECTOR, "input[name=q]")
        box.send_keys("NVDA")
        box.send_keys(Keys.ENTER)
        wait_for(lambda: "/dashboard/search" in browser.current_url, "the search page")
        results = browser.find_element(By.ID, "results").text
        check("Day Trading" in results, f"search finds the NVDA plan: {results[:200]!r}")

        # History diff.
        browser.get(f"{base}/dashboard/plans/d/{today}")
        removed = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".diff del")]
        added = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".diff ins")]
        check(removed and added, f"the history shows what changed: -{removed} +{added}")

        # Phone width.
        browser.set_window_size(375, 812)
        browser.get(f"{base}/dashboard")
        width = browser.execute_script("return document.documentElement.scrollWidth")
        check(width <= 375, f"usable at 375 px without sideways scrolling: {width}")
        if screenshots:
            wait_for(lambda: images_loaded(browser, "#plans img"), "the chart images load at phone width")
            browser.execute_script("window.scrollTo(0, 0)")
            browser.save_screenshot(os.path.join(screenshots, "dashboard-phone.png"))

        # Live: the test changes a plan through the local Discord while the page is open.
        browser.set_window_size(1280, 1000)
        browser.get(f"{base}/dashboard")
        note = browser.find_element(By.ID, "live-note")
        wait_for(lambda: "follows changes" in note.text, "the script says the page follows changes")
        # The keyboard is on Swing's plan while another coach's changes.
        browser.execute_script("document.querySelector(\"#plans article[data-coach='s'] h2 a\").focus()")
        focused = "return document.activeElement.getAttribute('href')"
        before = browser.execute_script(focused)
        check(before and "/plans/s/" in before, f"Swing's link has the focus: {before}")
        watch.collect()
        print("READY live", flush=True)
        marker = sys.stdin.readline().strip()
        started = time.monotonic()
        wait_for(lambda: marker in browser.find_element(By.ID, "plans").text, f"{marker!r} on the open page", 5.0)
        check(True, f"the change shows without a reload within 5 s: {time.monotonic() - started:.1f} s")
        check(browser.execute_script("return performance.getEntriesByType('navigation').length") == 1,
              "no reload happened")
        after = browser.execute_script(focused)
        check(after == before, f"the focus stays where it was across the update: {after}")
        updated = note.text
        check(updated.startswith("Updated ") and ("EST" in updated or "EDT" in updated),
              f"the update's time is the market's: {updated!r}")
        watch.verify()
    finally:
        browser.quit()


def auth(base, token):
    browser = driver()
    watch = Watch(browser, base)
    try:
        browser.get(f"{base}/dashboard?coach=d")
        wait_for(lambda: "/dashboard/sign-in" in browser.current_url, "the sign-in form")
        check("/dashboard/sign-in" in browser.current_url, "a reader without a token is sent to the sign-in form")
        field = browser.find_element(By.CSS_SELECTOR, "input[name=token]")
        field.send_keys("cpt_0000000000000000000000000000")
        field.send_keys(Keys.ENTER)
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "[role=alert]"), "the refusal")
        check("does not open" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text, "a wrong token is refused")
        field = browser.find_element(By.CSS_SELECTOR, "input[name=token]")
        field.send_keys(token)
        field.send_keys(Keys.ENTER)
        wait_for(lambda: browser.find_elements(By.ID, "plans"), "the day view after signing in")
        check("coach=d" in browser.current_url, f"signing in returns to the page asked for: {browser.current_url}")
        check("coach_plans_token" not in browser.execute_script("return document.cookie"),
              "the session cookie is HttpOnly")
        cookie = browser.get_cookie("coach_plans_token")
        check(cookie and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict",
              f"the session cookie is HttpOnly and SameSite=Strict: {cookie}")
        browser.find_element(By.XPATH, "//button[text()='Sign out']").click()
        wait_for(lambda: "/dashboard/sign-in" in browser.current_url, "signed out")
        browser.get(f"{base}/dashboard")
        check("/dashboard/sign-in" in browser.current_url, "after signing out the dashboard asks for the token again")
        watch.verify()
    finally:
        browser.quit()


if __name__ == "__main__":
    mode, base = sys.argv[1], sys.argv[2].rstrip("/")
    if mode == "day":
        day(base, sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    elif mode == "auth":
        auth(base, sys.argv[3])
    else:
        sys.exit(f"unknown mode {mode}")
    print("done", flush=True)
