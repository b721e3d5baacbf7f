// Shared by the headless-browser tests (infra/sandbox, infra/authorize): playwright-core's
// chromium (Debian's binary), launched without its own background traffic, in a context where
// every request outside the allowed origins is blocked and counted; and the tests' step log
// and checks.
//
// Environment: PLAYWRIGHT_CORE (playwright-core's index.mjs) and CHROMIUM (default
// /usr/bin/chromium), both set by browser_tooling in infra/lib/browser.sh.

const { chromium } = await import(process.env.PLAYWRIGHT_CORE);

const started = Date.now();

// Logs a step with the milliseconds since the test began.
export const step = (what) => console.log(`${String(Date.now() - started).padStart(6)} ms  ${what}`);

// Fails the test with `what` unless `ok`.
export function check(ok, what) {
  if (!ok) throw new Error(what);
}

// A browser and one context in which only URLs starting with one of `allowed` load; every
// other request is aborted and its URL pushed onto `elsewhere`. Close the browser when done.
export async function openBrowser(allowed) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // Chromium's own background traffic is off: the tests count every request the page makes.
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext();
  const elsewhere = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (allowed.some((prefix) => url.startsWith(prefix))) return route.continue();
    elsewhere.push(url);
    return route.abort();
  });
  return { browser, context, elsewhere };
}
