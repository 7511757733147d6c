"""The try-it page at /ui, driven in a real headless browser (Debian's chromium and its chromedriver).

.ci/run installs both (apt packages `chromium`, `chromium-driver`); nothing is
downloaded at run time: Selenium is given both paths, so its driver manager never runs.
Without them the test is skipped, except in CI (`CI` set), where it fails.
"""

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.support.server import metric_total

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("CI"):
    pytest.skip(
        "chromium and chromedriver are not on PATH; .ci/run installs them (Debian packages chromium, chromium-driver)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,1400"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_shown(driver, element_id: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, element_id).is_displayed())
    return driver.find_element(By.ID, element_id)


def test_a_user_tries_a_tweet_sees_why_sends_feedback_once_and_scores_three(browser, service):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, _ = service
    browser.get(f"{url}/ui")
    assert "registry version" in wait_shown(browser, "served").text  # GET /version answered
    browser.find_element(By.ID, "tweet").send_keys("I hate this, worst service ever. Never again.")
    browser.find_element(By.ID, "classify").click()
    assert wait_shown(browser, "label").text.lower() == "negative"
    assert browser.find_element(By.ID, "lang").text == "language: en"
    bars = browser.find_elements(By.CSS_SELECTOR, "#scores .row")
    assert [bar.get_attribute("data-label") for bar in bars] == ["negative", "neutral", "positive"]
    words = browser.find_elements(By.CSS_SELECTOR, "#explanation .word")
    assert [word.text for word in words] == ["I", "hate", "this,", "worst", "service", "ever.", "Never", "again."]
    assert all(word.get_attribute("data-weight") for word in words)

    feedback_before = metric_total(url, "tweet_sentiment_feedback_total")
    browser.find_element(By.ID, "confirm").click()
    assert "recorded “negative”" in wait_shown(browser, "receipt").text
    browser.find_element(By.ID, "confirm").click()  # a second click: the same request id, counted once
    WebDriverWait(browser, 30).until(lambda d: "already received" in d.find_element(By.ID, "receipt").text)
    assert metric_total(url, "tweet_sentiment_feedback_total") == feedback_before + 1

    browser.find_element(By.ID, "batch").send_keys("I love it\nmeh, it is monday\n\u200b\nworst day ever")
    browser.find_element(By.ID, "score-batch").click()
    wait_shown(browser, "batch-result")
    rows = browser.find_elements(By.CSS_SELECTOR, "#batch-table tbody tr")
    assert [row.find_element(By.TAG_NAME, "td").text for row in rows] == [
        "I love it",
        "meh, it is monday",
        "worst day ever",
    ]
    assert browser.find_element(By.ID, "csv").get_attribute("href").startswith("blob:")
    problems = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not problems, problems  # no failed fetch, no script error, nothing refused by the page's CSP


def test_a_tweet_over_the_explanation_cap_still_gets_its_label_and_feedback(browser, service):
    from selenium.webdriver.common.by import By

    url, _ = service
    browser.get(f"{url}/ui")
    tweet = " ".join(["I love this so much, best day ever! :)"] * 9)  # 81 words
    box = browser.find_element(By.ID, "tweet")
    box.clear()
    box.send_keys(tweet)
    browser.find_element(By.ID, "classify").click()
    assert wait_shown(browser, "label").text.lower() == "positive"
    assert "No explanation" in browser.find_element(By.ID, "explanation").text
    assert "at most 64 words" in browser.find_element(By.ID, "explanation").text
    browser.find_element(By.ID, "confirm").click()
    assert "recorded" in wait_shown(browser, "receipt").text
