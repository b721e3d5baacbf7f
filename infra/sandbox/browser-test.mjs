// The sandbox page in a real headless browser (Debian's chromium, driven by playwright-core),
// against a running jsonapi-local with its development client:
// - the page loads and no request leaves the server's origin (every other one is blocked
//   and counted);
// - every type of the OpenAPI document is listed;
// - the token box gets a token from /oauth2-token with the client credentials;
// - a GET and a POST succeed from the page, with the JSON:API headers pre-filled;
// - an error is shown exactly as the server sent it.
//
// Environment: BASE (http://127.0.0.1:PORT), CLIENT_ID, CLIENT_SECRET, and the browser's
// (infra/lib/browser.mjs). Run by infra/sandbox/browser-test.sh.

import { check, openBrowser, step } from "../lib/browser.mjs";

const { BASE, CLIENT_ID, CLIENT_SECRET } = process.env;
const MT = "application/vnd.api+json";

// What the page should show, and the server's own answer to compare the page's with.
const doc = await (await fetch(`${BASE}/api/doc/openapi.json`)).json();
const types = doc.tags.map((t) => t.name).filter((n) => n !== "authentication");
const tokenAnswer = await fetch(`${BASE}/oauth2-token`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ grant_type: "client_credentials", client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
});
const { access_token: token } = await tokenAnswer.json();
const missing = `${BASE}/api/products/999999`;
const serverError = await (await fetch(missing, { headers: { accept: MT, authorization: `Bearer ${token}` } })).json();

const { browser, context, elsewhere } = await openBrowser([`${BASE}/`, "data:"]);
try {
  const page = await context.newPage();
  const sent = [];
  page.on("request", (r) => sent.push(r));
  await page.goto(`${BASE}/api/doc`);
  await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 30000 });
  step("the page is ready");

  for (const type of types) {
    await page.locator(`#operations-tag-${type}`).waitFor({ timeout: 5000 });
  }
  step(`every type is listed: ${types.join(", ")}`);

  // The token box: OAuth 2.0 client credentials, sent to /oauth2-token by the page.
  await page.locator(".auth-wrapper .authorize").click();
  await page.locator("#client_id_clientCredentials").fill(CLIENT_ID);
  await page.locator("#client_secret_clientCredentials").fill(CLIENT_SECRET);
  const flow = page.locator(".auth-container").first();
  await flow.getByRole("button", { name: "Apply given OAuth2 credentials" }).click();
  await flow.locator("button", { hasText: "Logout" }).waitFor({ timeout: 10000 });
  check(sent.some((r) => r.url() === `${BASE}/oauth2-token` && r.method() === "POST"), "no token request");
  await page.locator(".modal-ux .close-modal").click();
  step("a token from /oauth2-token");

  // Runs an operation from the page (opening its type first: types start folded); its status,
  // shown body, and the request it sent.
  async function execute(type, operationId, fill) {
    const tag = page.locator(`#operations-tag-${type}`);
    if ((await tag.getAttribute("data-is-open")) !== "true") await tag.click();
    const op = page.locator(`[id$="-${operationId}"]`).first();
    await op.locator(".opblock-summary").click();
    if (fill) await fill(op);
    const before = sent.length;
    await op.getByRole("button", { name: "Execute" }).click();
    const status = op.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor({ timeout: 10000 });
    const shown = await op.locator(".live-responses-table .response-col_description .microlight").first().innerText();
    const request = sent.slice(before).find((r) => r.url().startsWith(`${BASE}/api/`));
    return { op, status: (await status.innerText()).trim(), body: shown ? JSON.parse(shown) : null, request };
  }

  const list = await execute("categories", "get-list-categories");
  check(list.status === "200", `GET list: ${list.status}`);
  check(Array.isArray(list.body.data) && list.body.data.length > 0, "GET list: no categories shown");
  const headers = await list.request.allHeaders();
  check(headers.accept === MT, `GET list sent Accept: ${headers.accept}`);
  check((headers.authorization || "").startsWith("Bearer "), "GET list sent no bearer token");
  const options = await list.op.locator('tr[data-param-name="X-Include"] select option').allInnerTexts();
  check(options.includes("totalCount"), `X-Include is not offered: ${options}`);
  step(`GET /api/categories from the page: 200, ${list.body.data.length} categories, Accept and X-Include offered`);

  const created = await execute("categories", "create-categories");
  check(created.status === "201", `POST: ${created.status} ${JSON.stringify(created.body)}`);
  check(created.body.data.type === "categories", "POST: no category shown");
  const posted = await created.request.allHeaders();
  check(posted["content-type"] === MT && posted.accept === MT, `POST headers: ${JSON.stringify(posted)}`);
  step(`POST /api/categories from the page (its example body): 201, id ${created.body.data.id}`);

  const error = await execute("products", "get-products-item", async (op) => {
    await op.locator('tr[data-param-name="id"] input').fill("999999");
  });
  check(error.status === "404", `the missing product: ${error.status}`);
  check(JSON.stringify(error.body) === JSON.stringify(serverError),
    `the page shows ${JSON.stringify(error.body)}, the server sent ${JSON.stringify(serverError)}`);
  step("a 404 is shown as the server sent it");

  check(elsewhere.length === 0, `requests left the server's origin: ${elsewhere.join(", ")}`);
  step(`${sent.length} requests, none outside ${BASE}`);
} finally {
  await browser.close();
}
