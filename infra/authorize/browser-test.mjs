// The authorization code grant with PKCE in a real headless browser (Debian's chromium, driven
// by playwright-core), against a running jsonapi-local seeded with the user admin/change-me:
// - the authorization request opens the sign-in page, which loads nothing from anywhere (every
//   request outside the server and the catcher is blocked and counted);
// - signing in shows the consent page; "Allow" redirects to the client's redirect URI, a
//   loopback catcher, with a code and the state sent;
// - the code and the PKCE verifier get an access token at /oauth2-token, which reads the API;
//   the same code again is refused (invalid_grant).
//
// Environment: BASE (http://127.0.0.1:PORT), CLIENT_ID (a public client), REDIRECT_URI and
// CATCHER_PORT (its redirect URI on loopback), and the browser's (infra/lib/browser.mjs). Run
// by infra/authorize/browser-test.sh.

import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";

import { check, openBrowser, step } from "../lib/browser.mjs";

const { BASE, CLIENT_ID, REDIRECT_URI, CATCHER_PORT } = process.env;

// The client: a redirect URI that catches the authorization response.
const caught = [];
const catcher = createServer((req, res) => {
  caught.push(new URL(req.url, REDIRECT_URI));
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end("<!doctype html><title>Signed in</title><p id=done>You may close this window.</p>");
});
await new Promise((resolve) => catcher.listen(Number(CATCHER_PORT), "127.0.0.1", resolve));
const catcherOrigin = new URL(REDIRECT_URI).origin;

const verifier = randomBytes(32).toString("base64url");
const challenge = createHash("sha256").update(verifier).digest("base64url");
const state = randomBytes(16).toString("base64url");
const authorize = new URL(`${BASE}/oauth2-token/authorize`);
for (const [name, value] of Object.entries({
  response_type: "code", client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state,
  code_challenge: challenge, code_challenge_method: "S256",
})) {
  authorize.searchParams.set(name, value);
}

const { browser, context, elsewhere } = await openBrowser([`${BASE}/`, `${catcherOrigin}/`]);
try {
  const page = await context.newPage();
  await page.goto(authorize.href);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("change-me");
  step("the sign-in page is shown");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Allow" }).waitFor({ timeout: 15000 }).catch(async (e) => {
    throw new Error(`no consent page after signing in (${e.message}); the page:\n${await page.content()}`);
  });
  check((await page.textContent("body")).includes("Signed in as admin"), "the consent page names the user");
  step("signed in; the consent page is shown");
  await page.getByRole("button", { name: "Allow" }).click();
  await page.locator("#done").waitFor({ timeout: 15000 });
  check(caught.length === 1, `the catcher got ${caught.length} requests`);
  const answer = caught[0];
  check(answer.pathname === "/callback", `redirected to ${answer.pathname}`);
  check(answer.searchParams.get("state") === state, "the state comes back as sent");
  const code = answer.searchParams.get("code");
  check(code, `a code: ${answer.search}`);
  step("allowed; the catcher got the code");
  check(elsewhere.length === 0, `requests left the server: ${elsewhere.join(", ")}`);

  const exchange = () => fetch(`${BASE}/oauth2-token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: CLIENT_ID, code,
      redirect_uri: REDIRECT_URI, code_verifier: verifier }),
  });
  const tokens = await exchange();
  const body = await tokens.json();
  check(tokens.status === 200 && body.access_token, `the exchange: ${tokens.status} ${JSON.stringify(body)}`);
  const products = await fetch(`${BASE}/api/products`, {
    headers: { accept: "application/vnd.api+json", authorization: `Bearer ${body.access_token}` },
  });
  check(products.status === 200, `the token reads the API: ${products.status}`);
  step("the code became a token that reads the API");
  const replay = await exchange();
  const refused = await replay.json();
  check(replay.status === 400 && refused.error === "invalid_grant", `a replay: ${replay.status} ${JSON.stringify(refused)}`);
  step("the same code again is invalid_grant");
} finally {
  await browser.close();
  catcher.close();
}
console.log("ok");
