// page.test.mjs BASE_URL OUT_DIR — ntpmon-web's page in Debian's chromium (playwright-core, no browser download):
// the server list loads, a server page shows a score that changes live without a reload, its graph has points, a
// check shows a monitor's answer as it streams in, the page reports no script error, and screenshots go to OUT_DIR.
// Prints "PASS desc" / "FAIL desc :: detail" lines (tests/integration/web/browser.sh turns them into TAP); exits 1
// on any failure.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error("usage: page.test.mjs BASE_URL OUT_DIR");
  process.exit(2);
}
let failed = 0;
const pass = (d) => console.log(`PASS ${d}`);
const fail = (d, why) => { failed++; console.log(`FAIL ${d} :: ${String(why).replace(/\s+/g, " ").slice(0, 400)}`); };
// Polls fn in the page until it returns true. (Playwright's own waitForFunction evaluates strings inside the page,
// which the page's Content-Security-Policy rightly forbids; page.evaluate goes through the debugging protocol.)
async function waitFor(page, fn, arg, timeout = 20000) {
  const until = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeout} ms: ${fn.toString().slice(0, 160)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
async function check(desc, fn) {
  try { const r = await fn(); if (r === false) fail(desc, "condition false"); else pass(desc); }
  catch (e) { fail(desc, e.message || e); }
}

const userData = mkdtempSync(join(tmpdir(), "ntpmon-chromium-"));
const context = await chromium.launchPersistentContext(userData, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run",
         "--disable-quic"],
  viewport: { width: 1100, height: 900 },
});
const errors = [];
try {
  const page = context.pages()[0] || await context.newPage();
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  // (a refused check is a 4xx the browser logs as a failed load: expected, not a script error)
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource: the server responded with a status of 4/.test(m.text()))
      errors.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(20000);

  await check("the server list loads with three servers", async () => {
    await page.goto(`${base}/`);
    await waitFor(page, () => document.querySelectorAll("#servers tbody tr").length === 3);
  });
  await check("the list names 127.0.0.2 with a score", async () => {
    const text = await page.textContent("#servers tbody tr[data-id='1']");
    if (!/127\.0\.0\.2/.test(text) || !/\d+\.\d\d/.test(text)) throw new Error(`row: ${text}`);
  });
  await check("the live indicator says live", async () => {
    await page.waitForSelector("#live[data-state='open']");
  });
  await page.screenshot({ path: join(outDir, "web-list.png"), fullPage: true });

  // in-page navigation to the server page: no reload from here on (the marker survives)
  await check("clicking the server opens its page without a reload", async () => {
    await page.evaluate(() => { window.__ntpmonMarker = 42; });
    await page.click("#servers a[href='/scores/127.0.0.2']");
    await page.waitForSelector("#view-server:not([hidden])");
    await waitFor(page, () => document.querySelector("#server-score").dataset.ts !== "");
    if (!page.url().endsWith("/scores/127.0.0.2")) throw new Error(`url ${page.url()}`);
  });
  const first = await page.evaluate(() => ({
    ts: document.querySelector("#server-score").dataset.ts, score: document.querySelector("#server-score").textContent,
  }));
  await check(`the score (${first.score}) changes live, without reloading the page`, async () => {
    await waitFor(page, (ts) => document.querySelector("#server-score").dataset.ts !== ts, first.ts, 60000);
    const marker = await page.evaluate(() => window.__ntpmonMarker);
    if (marker !== 42) throw new Error("the page was reloaded");
  });
  await check("the graph has score and offset points and the overall score line", async () => {
    await waitFor(page, () => document.querySelectorAll("#graph circle.pt.offset").length > 3 &&
      document.querySelectorAll("#graph circle.pt.score").length > 1 &&
      document.querySelector("#graph path.score-line.overall") !== null);
  });
  await check("the graph draws every monitor's score line and the in-pool line", async () => {
    await waitFor(page, () => document.querySelectorAll("#graph path.score-line").length >= 4 &&
      document.querySelector("#graph line.threshold") !== null);
  });
  await check("the monitors table lists ams1, lax1, syd1", async () => {
    await waitFor(page, () => [...document.querySelectorAll("#server-monitors tbody tr td:first-child")]
      .map((t) => t.textContent).sort().join(",") === "ams1,lax1,syd1");
  });
  await check("results stream into the results table", async () => {
    await waitFor(page, () => document.querySelectorAll("#results tbody tr").length >= 2);
  });
  await check("the CSV link points at the log", async () => {
    const href = await page.getAttribute("#csv-link", "href");
    if (!/^\/api\/server\/scores\/127\.0\.0\.2\/log\?/.test(href)) throw new Error(href);
  });
  await page.waitForTimeout(500); // let the last points land before the picture
  await page.screenshot({ path: join(outDir, "web-server.png"), fullPage: true });

  await check("a check shows a monitor's answer as it streams in", async () => {
    await page.click("nav a[href='/check']");
    await page.waitForSelector("#view-check:not([hidden])");
    await page.fill("#check-ip", "127.0.0.3");
    await page.click("#check-go");
    await page.waitForSelector("#check-results tbody tr.answer");
    const monitor = await page.getAttribute("#check-results tbody tr.answer", "data-monitor");
    if (!["ams1", "lax1", "syd1"].includes(monitor)) throw new Error(`monitor ${monitor}`);
    await waitFor(page, () => /answers?, \d+ healthy/.test(document.querySelector("#check-status").textContent));
    const marker = await page.evaluate(() => window.__ntpmonMarker);
    if (marker !== 42) throw new Error("the page was reloaded");
  });
  await check("the answers carry offsets of about 120 ms (the fake server's)", async () => {
    const cells = await page.$$eval("#check-results tbody tr.answer td:nth-child(3)", (tds) => tds.map((t) => t.textContent));
    if (!cells.length || !cells.every((c) => Math.abs(Number(c) - 120) < 5)) throw new Error(cells.join(" "));
  });
  await check("a bad address shows the server's reason", async () => {
    await page.fill("#check-ip", "10.0.0.1");
    await page.click("#check-go");
    await waitFor(page, () => /private address/.test(document.querySelector("#check-status").textContent));
  });
  await page.fill("#check-ip", "127.0.0.3");
  await page.click("#check-go");
  await waitFor(page, () => /healthy/.test(document.querySelector("#check-status").textContent)).catch(() => {});
  await page.screenshot({ path: join(outDir, "web-check.png"), fullPage: true });

  await check("on a phone-sized screen the page fits its width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goBack(); // back to the server page (history, no reload)
    await page.waitForSelector("#view-server:not([hidden])");
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 2) throw new Error(`${overflow}px wider than the screen`);
    await page.screenshot({ path: join(outDir, "web-phone.png"), fullPage: false });
  });
  await check("no script errors on the page", async () => {
    if (errors.length) throw new Error(errors.join(" | "));
  });
} catch (e) {
  fail("the browser run", e.message || e);
} finally {
  await context.close();
  rmSync(userData, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
