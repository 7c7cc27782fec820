// inspector-check drives the inspector page of `lambdaws local` in Debian's
// headless Chromium through playwright-core (never a downloaded browser), for
// integration/inspector_test.go, which started lambdaws with the echo
// example, connected two clients (alice, with an Authorization header, and
// bob) and made a PostToConnection that got 410. Usage:
//
//	node tools/inspector-check.cjs CHROMIUM PAGE_URL BOB_ID SCREENSHOT.png DOWNLOAD_DIR
//
// It prints what it checked and exits 1 on the first failure.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");

const [executablePath, pageURL, bobID, screenshot, downloads] = process.argv.slice(2);
const timeout = 30000;

async function main() {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page.setDefaultTimeout(timeout);
    page.on("pageerror", (e) => { console.error("page error:", e.message); process.exitCode = 1; });
    await page.goto(pageURL);
    await page.waitForSelector("body[data-state=open]");
    console.log("page open, stream live");

    // The two clients, their frames, the invocations, the 410.
    await page.waitForFunction(() => document.querySelectorAll("#conns tbody tr[data-state=open]").length >= 2);
    console.log("two open connections listed");
    const bob = `#conns tbody tr[data-id="${bobID}"]`;
    await page.click(bob);
    await page.waitForFunction(() => {
      const t = document.getElementById("frames").innerText;
      return t.includes('{"action":"echo","data":"I am bob"}') && t.includes('{"type":"echo","data":"I am bob"}');
    });
    console.log("bob's frames in and out shown");
    await page.waitForSelector('#invocations tbody tr[data-route="$connect"]');
    await page.waitForSelector('#invocations tbody tr[data-route="$default"][data-status="200"]');
    console.log("invocations listed");
    await page.waitForSelector('#manage tbody tr[data-status="410"] td.bad');
    await page.waitForSelector('#manage tbody tr[data-method="POST"][data-status="200"]');
    console.log("management API calls listed, the 410 highlighted");
    await page.waitForSelector('#envs tbody tr[data-function="Function"]');
    console.log("environments listed");

    // alice's $connect event: her Authorization header is masked.
    const connects = await page.$$eval('#invocations tbody tr[data-route="$connect"]', (rows) => rows.map((r) => r.dataset.request));
    let masked = false;
    for (const id of connects) {
      await page.click(`#invocations tbody tr[data-request="${id}"]`);
      await page.waitForFunction((id) => document.getElementById("inv-id").textContent.includes(id), id);
      const ev = await page.textContent("#inv-event");
      if (ev.includes("secret-token-123")) throw new Error("the Authorization header is shown: " + ev);
      if (/"Authorization": "\*\*\*\*"/.test(ev)) masked = true;
    }
    if (!masked) throw new Error("no $connect event shows a masked Authorization header");
    console.log("credentials masked");

    // Download an invocation's event to replay it.
    await page.click('#invocations tbody tr[data-route="$default"]');
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#inv-download")]);
    const file = path.join(downloads, download.suggestedFilename());
    await download.saveAs(file);
    const ev = JSON.parse(fs.readFileSync(file, "utf8"));
    if (ev.requestContext.routeKey !== "$default" || !ev.body.includes("echo")) throw new Error("downloaded event: " + JSON.stringify(ev));
    console.log("event downloaded as " + download.suggestedFilename());

    // The built-in client sends a frame and gets the function's reply.
    await page.fill("#client-query", "name=page");
    await page.click("#client-new");
    await page.waitForSelector(".client[data-state=open]");
    await page.fill(".client .msg", '{"action":"echo","data":"from the page"}');
    await page.click(".client .send");
    await page.waitForFunction(() => document.querySelector(".client .recv").innerText.includes('{"type":"echo","data":"from the page"}'));
    console.log("the page's client got the function's reply");

    // Post to bob as the server would, then disconnect him.
    await page.click(bob);
    await page.fill("#post-data", "hello from the inspector");
    await page.click("#post-send");
    await page.waitForFunction(() => document.getElementById("action-result").textContent === "post: 200");
    await page.fill("#send-data", '{"action":"echo","data":"sent as bob"}');
    await page.click("#send-as");
    await page.waitForFunction(() => document.getElementById("frames").innerText.includes('{"type":"echo","data":"sent as bob"}'));
    await page.click("#disconnect");
    await page.waitForSelector(`${bob}[data-state=closed]`);
    await page.waitForFunction(() => document.getElementById("conn-info").innerText.includes("closed 1000"));
    console.log("posted to bob, sent a message as bob and got the reply, disconnected him from the page");

    await page.click('#invocations tbody tr[data-route="$default"]');
    await page.click(bob);
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log("ok");
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
