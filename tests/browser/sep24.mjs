// Drives Debian's chromium (/usr/bin/chromium) with playwright-core through a list of steps and
// prints what a person would have seen, as JSON. The end-to-end tests (tests/e2e/browser.py) run
// it as a subprocess; it is generic, so one plan drives a deposit, a withdrawal, an error case.
//
//   node tests/browser/sep24.mjs '<plan JSON>'      or      echo '<plan JSON>' | node tests/browser/sep24.mjs
//
// A plan: {"steps": [...], "timeout_ms": 15000, "screenshot_dir": "/tmp/x" (optional)}. Steps:
//   {"do": "open", "url": "...", "context": "main"}   load a URL in a browser context (a context
//                                                      named for the first time is a fresh one:
//                                                      no cookies, no storage)
//   {"do": "fill", "fields": {"amount": "100"}, "type": false}
//                                                      set form fields by name (inputs, selects,
//                                                      checkboxes); "type": true types key by key
//                                                      then waits for the live fee to settle
//   {"do": "submit"}                                   submit #transaction-form, wait for the page
//                                                      the browser lands on (redirects followed)
//   {"do": "click", "selector": "..."}                 click, then wait for a navigation if any
//   {"do": "wait_for", "selector": "...", "text": "..."}   until present (and containing text)
//   {"do": "state"}                                    report the current page again
//   {"do": "screenshot", "path": "/tmp/page.png"}
// Each step's result is the page's state afterwards (see pageState). Output:
//   {"ok": true, "results": [...]}   or   {"ok": false, "failed_step": i, "error": "...", "results": [...]}
// The exit code is 0 when the plan ran (ok or not) and 2 when the plan itself is unusable.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const EXECUTABLE = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
// Headless, as root, on a machine whose only network is loopback: no sandbox, no GPU, and none
// of Chromium's own background connections (they would be refused, many at a time).
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function readPlan() {
  const text = process.argv[2] ?? readFileSync(0, "utf8");
  const plan = JSON.parse(text);
  if (!plan || !Array.isArray(plan.steps)) throw new Error("the plan needs a list of steps");
  return plan;
}

async function main() {
  let plan;
  try {
    plan = readPlan();
  } catch (error) {
    process.stdout.write(JSON.stringify({ ok: false, error: `bad plan: ${error.message}` }) + "\n");
    process.exit(2);
  }
  const timeout = plan.timeout_ms ?? 15000;
  // Playwright gives the browser a fresh temporary profile (user-data-dir) of its own, and
  // adds --headless itself (headless: true).
  const browser = await launch(timeout);
  const contexts = new Map(); // name -> {context, page, status, errors}
  const results = [];
  let current = null;
  let output;
  try {
    for (const [index, step] of plan.steps.entries()) {
      try {
        current = await runStep(browser, contexts, current, step, timeout);
        results.push({ step: index, do: step.do, ...(await pageState(current)) });
      } catch (error) {
        let state = {};
        if (current) {
          try {
            state = await pageState(current);
          } catch {
            // the page is gone: report the error alone
          }
        }
        results.push({ step: index, do: step.do, error: String(error.message || error), ...state });
        if (plan.screenshot_dir && current) {
          await current.page
            .screenshot({ path: join(plan.screenshot_dir, `failed-step-${index}.png`), fullPage: true })
            .catch(() => {});
        }
        output = { ok: false, failed_step: index, error: String(error.message || error), results };
        break;
      }
    }
    output ??= { ok: true, results };
  } finally {
    await browser.close().catch(() => {});
  }
  process.stdout.write(JSON.stringify(output) + "\n");
}

// Chromium now and then dies while starting on a loaded machine (seen: SIGSEGV before the first
// page); nothing has happened yet then, so starting again is safe.
async function launch(timeout, attempts = 3) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await chromium.launch({
        executablePath: EXECUTABLE,
        headless: true,
        args: ARGS.filter((a) => a !== "--headless"),
        timeout,
      });
    } catch (error) {
      if (attempt >= attempts) throw error;
      process.stderr.write(`chromium did not start (attempt ${attempt}): ${String(error.message).split("\n")[0]}\n`);
    }
  }
}

async function session(browser, contexts, name, timeout) {
  let entry = contexts.get(name);
  if (!entry) {
    const context = await browser.newContext({ serviceWorkers: "block" });
    context.setDefaultTimeout(timeout);
    const page = await context.newPage();
    entry = { name, context, page, status: null, errors: [] };
    page.on("response", (response) => {
      const request = response.request();
      if (request.isNavigationRequest() && response.frame() === page.mainFrame() && !REDIRECTS.has(response.status())) {
        entry.status = response.status();
      }
    });
    page.on("pageerror", (error) => entry.errors.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      // JavaScript errors only: a missing favicon and the like are the network's business.
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
        entry.errors.push(`console: ${message.text()}`);
      }
    });
    contexts.set(name, entry);
  }
  return entry;
}

async function runStep(browser, contexts, current, step, timeout) {
  switch (step.do) {
    case "open": {
      const entry = await session(browser, contexts, step.context ?? "main", timeout);
      const response = await entry.page.goto(step.url, { waitUntil: "load" });
      if (response) entry.status = response.status();
      return entry;
    }
    case "fill": {
      const entry = need(current);
      for (const [name, value] of Object.entries(step.fields ?? {})) {
        await fillField(entry.page, name, value, Boolean(step.type));
      }
      if (step.type || "amount" in (step.fields ?? {})) await settleFee(entry.page);
      return entry;
    }
    case "submit": {
      const entry = need(current);
      await navigation(entry, () => entry.page.click('#transaction-form [type="submit"]'), timeout);
      return entry;
    }
    case "click": {
      const entry = need(current);
      await navigation(entry, () => entry.page.click(step.selector), timeout, step.navigates ?? true);
      return entry;
    }
    case "wait_for": {
      const entry = need(current);
      const locator = entry.page.locator(step.selector);
      if (step.text) await locator.filter({ hasText: step.text }).first().waitFor();
      else await locator.first().waitFor();
      return entry;
    }
    case "state":
      return need(current);
    case "screenshot": {
      const entry = need(current);
      await entry.page.screenshot({ path: step.path, fullPage: true });
      return entry;
    }
    default:
      throw new Error(`unknown step ${JSON.stringify(step.do)}`);
  }
}

function need(entry) {
  if (!entry) throw new Error("no page is open yet: start with an open step");
  return entry;
}

// Runs `action` and waits for the main frame's next document (the final one after redirects).
async function navigation(entry, action, timeout, required = true) {
  const page = entry.page;
  const landed = page
    .waitForResponse(
      (r) => r.request().isNavigationRequest() && r.frame() === page.mainFrame() && !REDIRECTS.has(r.status()),
      { timeout },
    )
    .catch((error) => {
      if (required) throw error;
      return null;
    });
  await action();
  const response = await landed;
  if (response) {
    entry.status = response.status();
    await page.waitForLoadState("load");
  }
}

async function fillField(page, name, value, typeKeys) {
  const locator = page.locator(`#transaction-form [name="${cssEscape(name)}"]`);
  const count = await locator.count();
  if (count === 0) throw new Error(`the form has no field named ${name}`);
  const first = locator.first();
  const tag = await first.evaluate((el) => el.tagName.toLowerCase());
  const kind = (await first.getAttribute("type")) ?? "";
  if (tag === "select") {
    await first.selectOption(String(value));
  } else if (kind === "checkbox") {
    await first.setChecked(Boolean(value) && value !== "false");
  } else if (kind === "radio") {
    await page.locator(`#transaction-form [name="${cssEscape(name)}"][value="${cssEscape(String(value))}"]`).check();
  } else if (typeKeys) {
    await first.fill("");
    await first.pressSequentially(String(value), { delay: 20 });
  } else {
    await first.fill(String(value));
  }
}

// The live fee: after the amount changes the page asks the server (debounced) and fills
// <output id="fee">. Waits for that request, if the page makes one, then for the text to settle.
async function settleFee(page) {
  if ((await page.locator("#fee").count()) === 0) return;
  await page
    .waitForResponse((r) => r.url().includes("/sep24/interactive/fee"), { timeout: 3000 })
    .catch(() => {});
  let last = null;
  for (let i = 0; i < 20; i++) {
    const text = await page.locator("#fee").first().textContent();
    if (text && text.trim() && text === last) return;
    last = text;
    await page.waitForTimeout(100);
  }
}

function cssEscape(value) {
  return value.replace(/["\\]/g, "\\$&");
}

async function pageState(entry) {
  const page = entry.page;
  const dom = await page.evaluate(() => {
    const text = (el) => (el ? el.textContent.replace(/\s+/g, " ").trim() : null);
    const all = (selector) => Array.from(document.querySelectorAll(selector));
    const byKey = (selector, attribute) =>
      Object.fromEntries(all(selector).map((el) => [el.getAttribute(attribute), text(el)]));
    const form = document.querySelector("#transaction-form");
    return {
      title: document.title,
      lang: document.documentElement.getAttribute("lang"),
      fields: byKey("[data-field]", "data-field"),
      instructions: byKey("[data-instruction]", "data-instruction"),
      field_errors: all(".field-error").map((el) => ({ for: el.getAttribute("data-for"), text: text(el) })),
      form_errors: all(".form-error").map(text),
      error_page: text(document.querySelector(".error-page")),
      fee: text(document.querySelector("output#fee")),
      amount_out: text(document.querySelector("output#amount-out")),
      form: form
        ? {
            inputs: Array.from(form.querySelectorAll("input, select, textarea"))
              .filter((el) => el.type !== "hidden")
              .map((el) => el.name),
            hidden: Array.from(form.querySelectorAll('input[type="hidden"]')).map((el) => el.name),
            values: Object.fromEntries(
              Array.from(form.querySelectorAll("input, select, textarea"))
                .filter((el) => el.type !== "hidden" && el.name)
                .map((el) => [el.name, el.value]),
            ),
          }
        : null,
      text: (document.body?.innerText ?? "").replace(/\s+/g, " ").trim().slice(0, 4000),
    };
  });
  const cookies = (await page.context().cookies()).map((c) => ({
    name: c.name,
    domain: c.domain,
    path: c.path,
    httpOnly: c.httpOnly,
    secure: c.secure,
    sameSite: c.sameSite,
    session: c.expires === -1,
  }));
  return { context: entry.name, url: page.url(), status: entry.status, ...dom, cookies, errors: [...entry.errors] };
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ ok: false, error: `driver failed: ${error.stack || error}` }) + "\n");
  process.exit(2);
});
