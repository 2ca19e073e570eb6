// Drives the image viewer in headless Chromium, as a person would, through the test host page.
//
// Usage: node drive.mjs '<json config>'. The config names the npm cache (playwright-core), the host page
// and its bundle, the real server's /mcp URL, the stand-in provider (to inject faults) and where to put
// artifacts. Every step's observations (DOM inside the view's iframe, the requests the host relayed) go
// into report.json; the pytest side asserts on them. Steps never wait longer than STEP_TIMEOUT.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const config = JSON.parse(process.argv[2]);
const { chromium } = createRequire(join(config.cache, "package.json"))("playwright-core");
const STEP_TIMEOUT = 30000;
let VIEW = "#view-1";  // the iframe of the view being driven; one per tool call the "model" makes
const useView = (number) => { VIEW = `#view-${number}`; };
mkdirSync(config.artifacts, { recursive: true });

// ---- the host page's origin: static files, and /mcp relayed to the real server ----
const target = new URL(config.mcpUrl);
const files = {
  "/": ["text/html", readFileSync(join(config.hostDir, "host.html"))],
  "/host.bundle.js": ["text/javascript", readFileSync(config.bundle)],
};
const server = createServer((req, res) => {
  if (req.url.startsWith("/mcp")) {
    const relay = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: req.method, headers: { ...req.headers, host: target.host } },
      (answer) => { res.writeHead(answer.statusCode, answer.headers); answer.pipe(res); },
    );
    relay.on("error", (error) => { res.writeHead(502); res.end(String(error)); });
    req.pipe(relay);
    return;
  }
  const file = files[req.url];
  if (!file) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { "content-type": file[0] });
  res.end(file[1]);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const profile = mkdtempSync(join(tmpdir(), "viewer-chromium-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: config.chromium,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 960, height: 900 },
  acceptDownloads: true,
  timeout: 60000,
});
const page = browser.pages()[0] || await browser.newPage();
page.setDefaultTimeout(STEP_TIMEOUT);

const report = { origin, steps: {}, console: [], pageErrors: [], requests: [] };
page.on("console", (message) => {
  if (["error", "warning"].includes(message.type())) report.console.push(`${message.type()}: ${message.text()}`);
});
page.on("pageerror", (error) => report.pageErrors.push(String(error)));
page.on("request", (request) => report.requests.push(request.url().slice(0, 120)));

async function step(name, action) {
  const started = Date.now();
  try {
    report.steps[name] = { ok: true, ...(await action()), ms: Date.now() - started };
  } catch (error) {
    report.steps[name] = { ok: false, error: String(error && error.stack || error), ms: Date.now() - started };
    await page.screenshot({ path: join(config.artifacts, `failed-${name}.png`), fullPage: true }).catch(() => {});
  }
}

const sha256 = (base64) => createHash("sha256").update(Buffer.from(base64, "base64")).digest("hex");
const viewFrame = async () => (await page.$(VIEW)).contentFrame();
const hostLog = () => page.evaluate(() => JSON.parse(JSON.stringify(window.testHost.log)));
const injectFaults = (faults) => fetch(`${config.standin}/_standin/faults`, { method: "POST", body: JSON.stringify(faults) });

// What a run (one tool call's section) shows, read from the DOM inside the iframe.
function readRun(runIndex) {
  return viewFrame().then((frame) => frame.evaluate(async (index) => {
    const run = document.querySelectorAll("#runs > .run")[index];
    if (!run) return null;
    const cards = [...run.querySelectorAll("article.card:not(.failed)")];
    const images = await Promise.all(cards.map(async (card) => {
      const image = card.querySelector(".frame img");
      let decoded = true;
      try { await image.decode(); } catch { decoded = false; }
      const facts = {};
      for (const fact of card.querySelectorAll("[data-fact]")) facts[fact.dataset.fact] = fact.textContent;
      const src = image.getAttribute("src") || "";
      return {
        uri: card.dataset.uri, decoded, width: image.naturalWidth, height: image.naturalHeight, alt: image.alt,
        prompt: card.querySelector(".prompt").textContent, facts, badge: card.querySelector(".badge").textContent,
        mime: src.slice(5, src.indexOf(";")), data: src.slice(src.indexOf(",") + 1),
      };
    }));
    return {
      state: run.dataset.state,
      tag: run.querySelector(".tag").textContent,
      heading: run.querySelector("h2").textContent,
      how: run.querySelector(".how").textContent,
      error: run.querySelector(".run-error") ? run.querySelector(".run-error").textContent : null,
      failures: [...run.querySelectorAll(".card.failed .failure")].map((failure) => failure.textContent),
      notes: [...run.querySelectorAll(".note")].map((note) => note.textContent),
      images,
    };
  }, runIndex)).then((run) => {
    if (run) for (const image of run.images) { image.sha256 = sha256(image.data); image.data = image.data.length; }
    return run;
  });
}

// Waits until the view shows `count` finished runs, the newest with all its images at full size.
async function waitForRuns(count) {
  const frame = await viewFrame();
  await frame.waitForFunction((expected) => {
    const runs = document.querySelectorAll("#runs > .run");
    if (runs.length !== expected || runs[0].dataset.state === "pending") return false;
    const images = [...runs[0].querySelectorAll("article.card:not(.failed) .frame img")];
    return [...runs[0].querySelectorAll("article.card:not(.failed) .badge")].every((badge) => badge.textContent === "")
      && images.every((image) => image.complete && image.naturalWidth > 0);
  }, count, { timeout: STEP_TIMEOUT });
}

const cardButton = (runIndex, cardIndex, action) =>
  page.frameLocator(VIEW).locator("#runs > .run").nth(runIndex).locator("article.card:not(.failed)").nth(cardIndex).locator(`[data-action="${action}"]`);

// Screenshots of the whole view: the window is made taller than the iframe first, so nothing is cut off.
// Very tall views are cut at `maxHeight` (Chromium paints nothing in a window much taller than that).
async function screenshotView(name, maxHeight = 4000) {
  await page.evaluate(() => window.scrollTo(0, 0));
  const height = Math.min(maxHeight, Math.ceil(await page.$eval(VIEW, (iframe) => iframe.getBoundingClientRect().bottom)));
  await page.setViewportSize({ width: 960, height: height + 16 });
  const box = await (await page.$(VIEW)).boundingBox();
  await page.screenshot({ path: join(config.artifacts, name), clip: { x: box.x, y: box.y, width: box.width, height: Math.min(box.height, height - box.y) } });
  await page.setViewportSize({ width: 960, height: 900 });
}

// Opens a card's prompt box for `action`, types `text` and sends it: a click, or Ctrl+Enter as a keyboard user would.
async function ask(runIndex, cardIndex, action, text, { keyboard = false } = {}) {
  await cardButton(runIndex, cardIndex, action).click();
  const field = page.frameLocator(VIEW).locator(".ask textarea");
  await field.fill(text);
  if (keyboard) await field.press("Control+Enter");
  else await page.frameLocator(VIEW).locator(".ask [data-send]").click();
}

const lastCall = async () => (await hostLog()).calls.at(-1);

try {
  await page.goto(origin + "/");
  await page.waitForFunction(() => document.body.dataset.ready === "true");

  await step("tools", async () => ({ tools: await page.evaluate((url) => window.testHost.connect(url), "/mcp") }));

  if (config.scenario === "degraded") await degradedScenario();
  else if (config.scenario === "video") await videoScenario();
  else await fullScenario();
  await step("final-log", async () => ({ log: await hostLog() }));
} finally {
  writeFileSync(join(config.artifacts, "report.json"), JSON.stringify(report, null, 2));
  await browser.close().catch(() => {});
  server.closeAllConnections();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
async function fullScenario() {
  await step("first", async () => {
    await injectFaults([{ delay: 2 }]);  // a provider that takes its time: the view shows what is being made meanwhile
    await page.evaluate(({ args }) => {
      window.firstCall = window.testHost.callToolAsModel("generate_image", args)
        .then((out) => ({ rendered: out.rendered, uiMeta: out.uiMeta, structured: out.result.structuredContent }));
    }, { args: config.firstArguments });
    await page.waitForSelector(VIEW);
    const waiting = await (await viewFrame()).waitForFunction(() => {
      const run = document.querySelector("#runs > .run");
      return run && run.dataset.state === "pending" && {
        heading: run.querySelector("h2").textContent, placeholders: run.querySelectorAll(".card.pending").length,
      };
    }).then((handle) => handle.jsonValue());
    const answer = await page.evaluate(() => window.firstCall);
    await waitForRuns(1);
    const frame = await viewFrame();
    const look = await frame.evaluate(() => {
      const style = getComputedStyle(document.body);
      return { background: style.backgroundColor, color: style.color, font: style.fontFamily, theme: document.documentElement.dataset.theme,
        hostFontLoaded: document.fonts.check('12px "Host Sans"'), scrollWidth: document.documentElement.scrollWidth,
        contentHeight: Math.ceil(document.documentElement.getBoundingClientRect().height) };
    });
    const iframeHeight = await page.$eval(VIEW, (iframe) => iframe.getBoundingClientRect().height);
    return { ...answer, waiting, run: await readRun(0), look, iframeHeight, log: await hostLog() };
  });

  await step("history", async () => {
    const frame = await viewFrame();
    await frame.waitForFunction((prompt) => {
      const tiles = [...document.querySelectorAll("#strip .tile")];
      return tiles.length >= 2 && tiles.every((tile) => tile.querySelector("img") && tile.querySelector("img").naturalWidth > 0)
        && tiles.some((tile) => tile.textContent.includes(prompt));
    }, config.earlierPrompt);
    const tiles = await frame.$$eval("#strip .tile", (all) => all.map((tile) => ({ uri: tile.dataset.uri, caption: tile.textContent, label: tile.getAttribute("aria-label") })));
    return { tiles, lists: (await hostLog()).lists };
  });

  await step("screenshot-light", async () => {
    await screenshotView("viewer-light.png");
    return {};
  });

  await step("dark", async () => {
    await page.evaluate(() => window.testHost.view(1).setTheme("dark"));
    const frame = await viewFrame();
    await frame.waitForFunction(() => document.documentElement.dataset.theme === "dark");
    await page.waitForTimeout(100);
    const look = await frame.evaluate(() => {
      const style = getComputedStyle(document.body);
      return { background: style.backgroundColor, color: style.color, scheme: getComputedStyle(document.documentElement).colorScheme };
    });
    await screenshotView("viewer-dark.png");
    await page.evaluate(() => window.testHost.view(1).setTheme("light"));
    await frame.waitForFunction(() => document.documentElement.dataset.theme === "light");
    return { look };
  });

  await step("narrow", async () => {
    await page.evaluate(() => window.testHost.view(1).setWidth(360));
    const frame = await viewFrame();
    await frame.waitForFunction(() => document.documentElement.clientWidth === 358 || document.documentElement.clientWidth === 360);
    await page.waitForTimeout(200);
    const layout = await frame.evaluate(() => ({
      width: document.documentElement.clientWidth,
      scrollWidth: document.documentElement.scrollWidth,
      overflowing: [...document.querySelectorAll("#runs button, #runs img")].filter((node) => node.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5).length,
      columns: getComputedStyle(document.querySelector(".grid")).gridTemplateColumns.split(" ").length,
    }));
    await screenshotView("viewer-narrow.png");
    await page.evaluate(() => window.testHost.view(1).setWidth(900));
    await page.waitForTimeout(200);
    const iframeHeight = await page.$eval(VIEW, (iframe) => iframe.getBoundingClientRect().height);
    const contentHeight = await frame.evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height));
    return { layout, iframeHeight, contentHeight };
  });

  await step("fullscreen", async () => {
    await cardButton(0, 1, "full").click();
    const frame = await viewFrame();
    await frame.waitForFunction(() => {
      const box = document.getElementById("lightbox");
      const image = document.getElementById("lightbox-image");
      return !box.hidden && image.complete && image.naturalWidth > 0;
    });
    const iframeClass = await page.$eval(VIEW, (iframe) => iframe.className);
    const shown = await frame.evaluate(() => {
      const image = document.getElementById("lightbox-image");
      return { width: image.naturalWidth, height: image.naturalHeight, focused: document.activeElement.id,
        caption: document.getElementById("lightbox-caption").textContent, src: image.getAttribute("src") };
    });
    shown.sha256 = sha256(shown.src.slice(shown.src.indexOf(",") + 1));
    delete shown.src;
    await page.screenshot({ path: join(config.artifacts, "viewer-fullscreen.png") });
    await page.keyboard.press("Escape");
    await frame.waitForFunction(() => document.getElementById("lightbox").hidden);
    await page.waitForFunction(() => !document.querySelector("#view-1").classList.contains("fullscreen"));
    const after = await frame.evaluate(() => ({ focusedAction: document.activeElement.dataset.action || null }));
    return { shown, iframeClass, after, displayModes: (await hostLog()).displayModes };
  });

  await step("keyboard", async () => {
    const frame = await viewFrame();
    await frame.focus('#runs > .run:first-child article.card .frame');
    await page.keyboard.press("Enter");
    await frame.waitForFunction(() => !document.getElementById("lightbox").hidden);
    const opened = await frame.evaluate(() => document.activeElement.id);
    await page.keyboard.press("ArrowRight");
    const caption = await frame.evaluate(() => document.getElementById("lightbox-caption").textContent);
    await page.keyboard.press("Escape");
    await frame.waitForFunction(() => document.getElementById("lightbox").hidden);
    const back = await frame.evaluate(() => document.activeElement.getAttribute("aria-label"));
    const order = [];
    for (let index = 0; index < 6; index++) {
      await page.keyboard.press("Tab");
      order.push(await frame.evaluate(() => document.activeElement.dataset.action || document.activeElement.tagName));
    }
    return { opened, caption, back, order };
  });

  await step("more", async () => {
    await cardButton(0, 0, "more").click();
    await waitForRuns(2);
    return { call: await lastCall(), run: await readRun(0) };
  });

  await step("empty-prompt", async () => {
    const before = (await hostLog()).calls.length;
    await ask(1, 0, "edit", "   ");
    const field = page.frameLocator(VIEW).locator(".ask textarea");
    const invalid = await field.getAttribute("aria-invalid");
    await field.press("Escape");
    const closed = await page.frameLocator(VIEW).locator(".ask").count();
    return { invalid, closed, calls: (await hostLog()).calls.length - before };
  });

  await step("reprompt", async () => {
    await ask(1, 2, "reprompt", config.newPrompt);
    await waitForRuns(3);
    return { call: await lastCall(), run: await readRun(0) };
  });

  await step("edit", async () => {
    await ask(2, 1, "edit", config.editInstruction, { keyboard: true });
    await waitForRuns(4);
    return { call: await lastCall(), run: await readRun(0) };
  });

  await step("download", async () => {
    const waiting = page.waitForEvent("download");
    await cardButton(3, 0, "download").click();
    const download = await waiting;
    const saved = join(config.artifacts, download.suggestedFilename());
    await download.saveAs(saved);
    return { name: download.suggestedFilename(), sha256: createHash("sha256").update(readFileSync(saved)).digest("hex"),
      request: (await hostLog()).downloads.at(-1) };
  });

  await step("use", async () => {
    await cardButton(3, 3, "use").click();
    await page.waitForFunction(() => window.testHost.log.messages.length > 0);
    const frame = await viewFrame();
    const card = await frame.evaluate(() => {
      const chosen = document.querySelector(".card.chosen");
      return chosen ? { uri: chosen.dataset.uri, label: chosen.querySelector('[data-action="use"]').textContent } : null;
    });
    const log = await hostLog();
    return { message: log.messages.at(-1), context: log.contexts.filter((entry) => entry.structuredContent).at(-1), card };
  });

  await step("history-open", async () => {
    const frame = await viewFrame();
    const uri = await frame.evaluate((prompt) => [...document.querySelectorAll("#strip .tile")].find((tile) => tile.textContent.includes(prompt)).dataset.uri, config.earlierPrompt);
    await page.frameLocator(VIEW).locator(`#strip .tile[data-uri="${uri}"]`).click();
    await waitForRuns(5);
    const opened = await readRun(0);
    await cardButton(0, 0, "more").click();
    await waitForRuns(6);
    return { uri, opened, call: await lastCall(), run: await readRun(0) };
  });

  await step("provider-error", async () => {
    await injectFaults([{ status: 400, body: { code: 20015, message: "The parameter is invalid. Please check again.", data: null } }]);
    await cardButton(5, 0, "more").click();
    const frame = await viewFrame();
    await frame.waitForFunction(() => document.querySelectorAll("#runs > .run").length === 7 && document.querySelector("#runs > .run").dataset.state === "error");
    const frameTop = await page.$eval(VIEW, (iframe) => iframe.getBoundingClientRect().top);
    const runTop = await frame.evaluate(() => document.querySelector("#runs > .run").getBoundingClientRect().top);
    return { run: await readRun(0), newRunTop: frameTop + runTop, windowHeight: await page.evaluate(() => window.innerHeight) };
  });

  await step("failed-image", async () => {
    await injectFaults([{ target: "download", kind: "expired", index: 2 }]);
    await cardButton(6, 0, "more").click();
    const frame = await viewFrame();
    await frame.waitForFunction(() => document.querySelectorAll("#runs > .run").length === 8 && document.querySelector("#runs > .run").dataset.state === "done");
    await waitForRuns(8);
    await screenshotView("viewer-session.png");
    return { run: await readRun(0) };
  });

}

// A poorer world: results without structuredContent or inline images, a host without downloads,
// model messages or fullscreen, a prompt full of markup, a failed first call, a cancelled call.
async function degradedScenario() {
  const poorHost = { capabilities: { serverTools: {}, serverResources: {} }, displayModes: ["inline"] };

  await step("first-error", async () => {
    await injectFaults([{ status: 400, body: { code: 20015, message: "The parameter is invalid. Please check again.", data: null } }]);
    await page.evaluate(({ args, options }) => window.testHost.callToolAsModel("generate_image", args, options), { args: { prompt: "anything" }, options: poorHost });
    useView(1);
    const frame = await viewFrame();
    await frame.waitForFunction(() => document.querySelector("#runs > .run") && document.querySelector("#runs > .run").dataset.state === "error");
    const visible = await frame.evaluate(() => ({
      statusHidden: document.getElementById("status").hidden, text: document.body.innerText,
    }));
    return { run: await readRun(0), visible };
  });

  await step("text-only", async () => {
    await page.evaluate(({ args, options }) => window.testHost.callToolAsModel("generate_image", args, options), { args: config.markupArguments, options: poorHost });
    useView(2);
    await waitForRuns(1);
    const frame = await viewFrame();
    const markup = await frame.evaluate(() => ({
      injected: document.querySelectorAll('img[src="x"], #runs b').length,
      heading: document.querySelector("#runs h2").textContent,
    }));
    const buttons = await frame.evaluate(() => Object.fromEntries([...document.querySelector("#runs article.card .actions").querySelectorAll("button")]
      .map((button) => [button.dataset.action, { disabled: button.disabled, title: button.title }])));
    return { run: await readRun(0), markup, buttons, log: await hostLog() };
  });

  await step("in-frame-full-size", async () => {
    await cardButton(0, 0, "full").click();
    const frame = await viewFrame();
    await frame.waitForFunction(() => !document.getElementById("lightbox").hidden && document.getElementById("lightbox-image").naturalWidth > 0);
    const width = await frame.evaluate(() => document.getElementById("lightbox-image").naturalWidth);
    await page.keyboard.press("Escape");
    await frame.waitForFunction(() => document.getElementById("lightbox").hidden);
    return { width, displayModes: (await hostLog()).displayModes };
  });

  await step("edit-from-text", async () => {
    await ask(0, 1, "edit", config.editInstruction);
    await waitForRuns(2);
    return { call: await lastCall(), run: await readRun(0) };
  });

  await step("cancelled", async () => {
    await page.evaluate(({ options }) => window.testHost.callToolAsModel("generate_image", { prompt: "never mind" }, { ...options, cancel: true }), { options: poorHost });
    useView(3);
    const frame = await viewFrame();
    await frame.waitForFunction(() => document.querySelector('#runs > .run[data-state="cancelled"]'));
    return { status: await frame.evaluate(() => document.querySelector("#runs > .run").innerText) };
  });

  await step("standalone", async () => {
    const html = await page.evaluate(() => window.testHost.viewHtml("ui://siliconflow-image/viewer.html"));
    const alone = await page.context().newPage();
    await alone.setContent(html);
    const status = await alone.textContent("#status");
    await alone.close();
    return { status };
  });
}

// Video: a job still working when the model's call returns, which the view follows until it plays; an earlier
// video opened from the history strip; a job that fails at the provider.
async function videoScenario() {
  const videoCard = "#runs > .run article.card[data-kind=\"video\"]";
  const playing = (selector) => (async () => {
    const frame = await viewFrame();
    await frame.waitForFunction((card) => {
      const video = document.querySelector(`${card} video`);
      return video && video.readyState >= 2 && video.videoWidth > 0;
    }, selector, { timeout: 60000 });
    return frame.evaluate(async (card) => {
      const root = document.querySelector(card);
      const video = root.querySelector("video");
      const facts = {};
      for (const fact of root.querySelectorAll("[data-fact]")) facts[fact.dataset.fact] = fact.textContent;
      const poster = video.getAttribute("poster") || "";
      video.muted = true;
      await video.play();
      await new Promise((resolve) => { const tick = () => video.currentTime > 0.2 ? resolve() : setTimeout(tick, 50); tick(); });
      return { uri: root.dataset.uri, posterMime: poster.slice(5, poster.indexOf(";")), posterLength: poster.length,
        src: video.src.slice(0, video.src.indexOf(",")), width: video.videoWidth, height: video.videoHeight,
        duration: video.duration, played: video.currentTime, badge: root.querySelector(".badge").textContent,
        prompt: root.querySelector(".prompt").textContent, facts,
        buttons: [...root.querySelectorAll(".actions button")].map((button) => button.dataset.action) };
    }, selector);
  })();

  await step("video-working", async () => {
    await fetch(`${config.standin}/_standin/config`, { method: "POST", body: JSON.stringify({ video_polls: 5 }) });
    await page.evaluate(({ args }) => {
      window.videoCall = window.testHost.callToolAsModel("generate_video", args).then((out) => ({ structured: out.result.structuredContent }));
    }, { args: config.videoArguments });
    await page.waitForSelector(VIEW);
    const answer = await page.evaluate(() => window.videoCall);
    const frame = await viewFrame();
    const working = await frame.waitForFunction(() => {
      const box = document.querySelector("#runs > .run .job");
      return box && { text: box.textContent, state: document.querySelector("#runs > .run").dataset.state };
    }).then((handle) => handle.jsonValue());
    const shown = await playing(videoCard);
    await screenshotView("viewer-video.png");
    const log = await hostLog();
    return { answer, working, shown, calls: log.calls, reads: log.reads };
  });

  await step("video-history", async () => {
    await page.evaluate(() => window.testHost.callToolAsModel("generate_image", { prompt: "a pier at noon", seed: 1 }));
    useView(2);
    await waitForRuns(1);
    const frame = await viewFrame();
    await frame.waitForFunction(() => [...document.querySelectorAll("#strip .tile")].some((tile) => tile.textContent.startsWith("▶")));
    const tiles = await frame.$$eval("#strip .tile", (all) => all.map((tile) => ({ uri: tile.dataset.uri, caption: tile.textContent, label: tile.getAttribute("aria-label") })));
    await page.frameLocator(VIEW).locator("#strip .tile", { hasText: "▶" }).first().click();
    return { tiles, shown: await playing(videoCard) };
  });

  await step("video-failed", async () => {
    await injectFaults([{ target: "video_status", kind: "failed", body: "the prompt was blocked by moderation" }]);
    await page.evaluate(() => window.testHost.callToolAsModel("generate_video", { prompt: "never shown", wait: 30 }));
    useView(3);
    const frame = await viewFrame();
    await frame.waitForFunction(() => document.querySelector("#runs > .run") && document.querySelector("#runs > .run").dataset.state === "error");
    return { run: await readRun(0) };
  });
}

process.stdout.write(JSON.stringify({ report: join(config.artifacts, "report.json") }) + "\n");
process.exit(0);  // the relay's open event streams would keep Node running
