// Drives the page of `llmforge serve` in headless Chromium (Debian's /usr/bin/chromium) with playwright-core.
//   node browser.mjs URL SCREENSHOT_PATH generate [MAX_TOKENS]
//                                                  a base or instruction model: streamed text grows (MAX_TOKENS asked,
//                                                  default 100000, which the page clamps), Stop stops it, a greedy run
//                                                  shows the final rate, an API error is shown
//   node browser.mjs URL SCREENSHOT_PATH classify   a classifier: the label and each label's probability
//   node browser.mjs URL SCREENSHOT_PATH key KEY    a server with --api-key: the page asks for the key, refuses a
//                                                  wrong one, works with the right one and remembers it
// Prints ONE JSON object on stdout (what was observed); any failure: the error on stderr, exit 1.
import { chromium } from "playwright-core";

const [rawUrl, screenshot, mode, extra] = process.argv.slice(2); // extra: MAX_TOKENS or KEY
const url = rawUrl?.replace(/\/+$/, ""); // "http://host:port/" or without the slash
if (!url || !screenshot || !["generate", "classify", "key"].includes(mode) || (mode === "key" && !extra)) {
  console.error("usage: node browser.mjs URL SCREENSHOT_PATH generate [MAX_TOKENS] | classify | key KEY");
  process.exit(2);
}

const TIMEOUT = 30_000; // for each wait; the tiny models answer in well under a second
const check = (ok, message) => {
  if (!ok) throw new Error(message);
};
const text = (page, selector) => page.locator(selector).textContent();
// The text of the reply being streamed: the last .reply in #output (base models have one, a chat one per turn).
const replyLength = (page) =>
  page.evaluate(() => {
    const replies = document.querySelectorAll("#output .reply");
    return replies.length ? replies[replies.length - 1].textContent.length : 0;
  });
const waitForStatus = (page, pattern) =>
  page.waitForFunction((source) => new RegExp(source, "i").test(document.getElementById("status").textContent), pattern.source, { timeout: TIMEOUT });

async function generate(page, maxTokens = "100000") {
  await page.locator("#prompt").waitFor({ state: "visible", timeout: TIMEOUT });
  const kind = (await page.evaluate(() => document.body.classList.contains("chat"))) ? "instruction" : "base";

  // The tiny test models write their whole answer in well under a second: the connection is slowed so that
  // Stop is pressed while text is still arriving (the server's answer itself is not changed).
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: 1500, uploadThroughput: -1 });

  await page.fill("#prompt", "Every effort moves you");
  await page.fill("#max-tokens", maxTokens);
  await page.click("#send");
  // Text, or an error the API answered (say max tokens beyond what the context leaves): then fail at once with it.
  await page.waitForFunction(() => document.getElementById("status").className === "error" ||
    [...document.querySelectorAll("#output .reply")].pop()?.textContent.length > 0, null, { timeout: TIMEOUT });
  check(!(await page.isVisible("#status.error")), `the page shows an error instead of text: ${await text(page, "#status")}`);
  const first = await replyLength(page);
  await page.waitForFunction((n) => [...document.querySelectorAll("#output .reply")].pop().textContent.length > n, first, { timeout: TIMEOUT });
  const grown = await replyLength(page);
  const liveRate = await text(page, "#rate");
  check(/chunks\/s/.test(liveRate), `the live rate shows no chunks/s while streaming: "${liveRate}"`);
  check(await page.isEnabled("#stop"), "#stop is disabled while streaming");

  await page.click("#stop");
  await waitForStatus(page, /stopped/);
  const atStop = await replyLength(page);
  await page.waitForTimeout(1500); // long enough for several more chunks, were any still arriving
  const afterStop = await replyLength(page);
  check(afterStop === atStop, `the output grew after Stop (${atStop} → ${afterStop} characters)`);
  check(await page.isEnabled("#send"), "#send is still disabled after Stop");
  check(!(await page.isEnabled("#stop")), "#stop is still enabled after Stop");
  const stoppedStatus = await text(page, "#status");
  const maxTokensSent = await page.inputValue("#max-tokens");
  await page.screenshot({ path: screenshot, fullPage: true });

  // A whole greedy answer at full speed (comparable with `llmforge generate`); the final rate comes from usage.
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.fill("#temperature", "0");
  await page.fill("#max-tokens", "8");
  await page.click("#clear"); // a new conversation: one user message, as `llmforge respond` would be asked
  await page.fill("#prompt", "Every effort moves you");
  await page.click("#send");
  await waitForStatus(page, /^Done/);
  const finalRate = await text(page, "#rate");
  check(/tokens\/s \(8 tokens in/.test(finalRate), `the final rate is not from usage (8 tokens): "${finalRate}"`);
  const doneStatus = await text(page, "#status");
  const replies = await page.locator("#output .reply").allTextContents();

  // An API error (a prompt longer than the context) is shown in the page.
  await page.fill("#prompt", "word ".repeat(500));
  await page.click("#send");
  await page.locator("#status.error").waitFor({ timeout: TIMEOUT });
  const errorStatus = await text(page, "#status");

  return {
    kind,
    model: await text(page, "#model"),
    max_tokens_sent: Number(maxTokensSent),
    lengths: { first, grown, at_stop: atStop, after_stop: afterStop },
    live_rate: liveRate,
    stopped_status: stoppedStatus,
    final_rate: finalRate,
    done_status: doneStatus,
    replies,
    error_status: errorStatus,
  };
}

async function classify(page) {
  await page.locator("#classify-input").waitFor({ state: "visible", timeout: TIMEOUT });
  const input = "WINNER!! You have been selected to receive a free prize. Call now to claim.";
  await page.fill("#classify-input", input);
  await page.click("#classify-send");
  await page.locator("#classify-label").waitFor({ timeout: TIMEOUT });
  const label = await text(page, "#classify-label");
  const rows = await page.locator("#classify-result tr").evaluateAll((trs) =>
    trs.map((tr) => ({ label: tr.cells[0].textContent, percent: parseFloat(tr.cells[2].textContent), bar: tr.querySelector(".bar").style.width })));
  check(rows.some((row) => row.label === label), `the label "${label}" is not among the rows shown`);
  const total = rows.reduce((sum, row) => sum + row.percent, 0);
  check(Math.abs(total - 100) < 0.5, `the probabilities shown add up to ${total}%`);
  await page.screenshot({ path: screenshot, fullPage: true });
  return { model: await text(page, "#model"), input, label, rows, status: await text(page, "#status") };
}

async function keyed(page, key) {
  await page.locator("#api-key").waitFor({ state: "visible", timeout: TIMEOUT });
  const askedStatus = await text(page, "#status");

  await page.fill("#api-key", key + "-wrong");
  await page.click("#api-key-save");
  await waitForStatus(page, /key was refused/);
  check(await page.isVisible("#api-key"), "the key field went away after a wrong key");
  const wrongStatus = await text(page, "#status");

  await page.fill("#api-key", key);
  await page.click("#api-key-save");
  await page.locator("#generate:not([hidden]), #classify:not([hidden])").waitFor({ timeout: TIMEOUT });
  check(!(await page.isVisible("#api-key")), "the key field is still shown after the right key");
  const stored = await page.evaluate(() => localStorage.getItem("llmforge.apiKey"));
  check(stored === key, "the key was not kept in localStorage");

  // Reloaded, the page uses the stored key without asking, and a generation goes through with it.
  await page.reload();
  await page.locator("#generate:not([hidden]), #classify:not([hidden])").waitFor({ timeout: TIMEOUT });
  check(!(await page.isVisible("#api-key")), "the page asked for the key again after a reload");
  let reply = null;
  if (await page.isVisible("#prompt")) {
    await page.fill("#max-tokens", "4");
    await page.fill("#prompt", "Every effort moves you");
    await page.click("#send");
    await waitForStatus(page, /^Done/);
    reply = await page.locator("#output .reply").last().textContent();
  }
  await page.screenshot({ path: screenshot, fullPage: true });
  return { asked_status: askedStatus, wrong_key_status: wrongStatus, model: await text(page, "#model"), reply, status: await text(page, "#status") };
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(url + "/");
  const observed = await { generate, classify, key: keyed }[mode](page, extra);
  check(pageErrors.length === 0, `the page threw: ${pageErrors.join("; ")}`);
  console.log(JSON.stringify({ mode, screenshot, ...observed }));
} catch (error) {
  console.error(`browser: ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
