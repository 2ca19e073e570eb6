// A minimal MCP Apps host for the viewer tests, built on the official host side (`AppBridge` from
// @modelcontextprotocol/ext-apps) and the official TypeScript MCP client. It plays the chat host: it
// calls a tool "for the model", renders the tool's ui:// view in a sandboxed iframe under the spec's
// default CSP, and relays what the view asks for to the real server, logging every request so the
// tests can check what the view did.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { AppBridge, PostMessageTransport, getToolUiResourceUri } from "@modelcontextprotocol/ext-apps/app-bridge";

const APP_MIME_TYPE = "text/html;profile=mcp-app";
const EXTENSION_ID = "io.modelcontextprotocol/ui";
const FONTS = '@font-face { font-family: "Host Sans"; src: local("DejaVu Sans"), local("DejaVuSans"); }';
const THEMES = {
  light: {
    "--color-background-primary": "#ffffff",
    "--color-text-primary": "#1d1f23",
    "--font-sans": '"Host Sans", "DejaVu Sans", sans-serif',
  },
  dark: {
    "--color-background-primary": "#1b1c1f",
    "--color-text-primary": "#eceef2",
    "--font-sans": '"Host Sans", "DejaVu Sans", sans-serif',
  },
};

const log = { calls: [], reads: [], lists: [], messages: [], contexts: [], downloads: [], displayModes: [], sizes: [] };
let client;
let tools = [];
const views = [];

function contentSecurityPolicy(csp = {}) {
  // The ext-apps spec's restrictive default, widened only by what the resource declares.
  const list = (domains) => (domains && domains.length ? " " + domains.join(" ") : "");
  const resources = list(csp.resourceDomains);
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline'${resources}`,
    `style-src 'unsafe-inline'${resources}`,
    `img-src data:${resources}`,
    `font-src data:${resources}`,
    `media-src data:${resources}`,
    `connect-src ${csp.connectDomains && csp.connectDomains.length ? csp.connectDomains.join(" ") : "'none'"}`,
    `frame-src ${csp.frameDomains && csp.frameDomains.length ? csp.frameDomains.join(" ") : "'none'"}`,
    `base-uri ${csp.baseUriDomains && csp.baseUriDomains.length ? csp.baseUriDomains.join(" ") : "'none'"}`,
  ].join("; ");
}

function withCsp(html, policy) {
  const tag = `<meta http-equiv="Content-Security-Policy" content="${policy}">`;
  return /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (head) => head + tag) : tag + html;
}

async function connect(url) {
  client = new Client(
    { name: "viewer-test-host", version: "1.0.0" },
    { capabilities: { extensions: { [EXTENSION_ID]: { mimeTypes: [APP_MIME_TYPE] } } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url, location.href)));
  tools = (await client.listTools()).tools;
  return tools.map((tool) => ({ name: tool.name, resourceUri: getToolUiResourceUri(tool) ?? null }));
}

const FULL_CAPABILITIES = {
  serverTools: {}, serverResources: {}, downloadFile: {}, openLinks: {},
  message: { text: {} }, updateModelContext: { text: {}, structuredContent: {} },
};

function hostContextFor(tool, theme, width, displayModes) {
  return {
    theme,
    platform: "web",
    locale: "en-US",
    displayMode: "inline",
    availableDisplayModes: displayModes,
    containerDimensions: { width, maxHeight: 8000 },
    styles: { variables: THEMES[theme], css: { fonts: FONTS } },
    toolInfo: { tool },
  };
}

// The model calls `name` with `args`: call it, and render its view when it has one. Options make a
// poorer host: fewer capabilities, no fullscreen, or a call the user cancels before it ran.
async function callToolAsModel(name, args, options = {}) {
  const { theme = "light", width = 900, capabilities = FULL_CAPABILITIES, displayModes = ["inline", "fullscreen"], cancel = false } = options;
  const tool = tools.find((candidate) => candidate.name === name);
  const uri = tool && getToolUiResourceUri(tool);
  const resultPromise = cancel ? null : client.callTool({ name, arguments: args });
  if (!uri) return { rendered: false, result: await resultPromise };

  const read = await client.readResource({ uri });
  const contents = read.contents[0];
  if (contents.mimeType !== APP_MIME_TYPE) throw new Error(`view served as ${contents.mimeType}`);
  const uiMeta = (contents._meta && contents._meta.ui) || {};

  const number = views.length + 1;
  document.getElementById("chat").append(Object.assign(document.createElement("p"), { className: "turn", textContent: `assistant called ${name}` }));
  const iframe = document.createElement("iframe");
  iframe.id = `view-${number}`;
  iframe.setAttribute("sandbox", "allow-scripts");  // the strictest sandbox a host may give a view
  iframe.style.width = `${width}px`;
  iframe.style.height = "160px";
  document.getElementById("chat").append(iframe);

  let context = hostContextFor(tool, theme, width, displayModes);
  let inlineSize = {};
  const bridge = new AppBridge(
    null,
    { name: "viewer-test-host", version: "1.0.0" },
    capabilities,
    { hostContext: context },
  );
  bridge.oncalltool = async (params) => {
    const entry = { name: params.name, arguments: params.arguments, at: Date.now() };
    log.calls.push(entry);
    const result = await client.callTool(params);
    entry.isError = Boolean(result.isError);
    return result;
  };
  bridge.onreadresource = async (params) => {
    log.reads.push(params.uri);
    return client.readResource(params);
  };
  bridge.onlistresources = async (params) => {
    log.lists.push(params || {});
    return client.listResources(params);
  };
  bridge.onlistresourcetemplates = async (params) => client.listResourceTemplates(params);
  bridge.onmessage = async (params) => { log.messages.push(params); return {}; };
  bridge.onupdatemodelcontext = async (params) => { log.contexts.push(params); return {}; };
  bridge.ondownloadfile = async (params) => {
    log.downloads.push(params);
    for (const item of params.contents) {
      const uri = item.type === "resource_link" ? item.uri : item.resource.uri;
      const resource = item.type === "resource_link" ? (await client.readResource({ uri })).contents[0] : item.resource;
      const bytes = Uint8Array.from(atob(resource.blob), (char) => char.charCodeAt(0));
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([bytes], { type: resource.mimeType }));
      link.download = uri.split("/").pop();
      document.body.append(link);
      link.click();
      link.remove();
    }
    return {};
  };
  bridge.onrequestdisplaymode = async ({ mode }) => {
    log.displayModes.push(mode);
    if (context.availableDisplayModes.includes(mode)) {
      iframe.classList.toggle("fullscreen", mode === "fullscreen");
      if (mode === "fullscreen") inlineSize = { width: iframe.style.width, height: iframe.style.height };
      Object.assign(iframe.style, mode === "fullscreen" ? { width: "100vw", height: "100vh" } : inlineSize);
      const dimensions = mode === "fullscreen"
        ? { width: window.innerWidth, height: window.innerHeight }
        : { width: parseInt(iframe.style.width, 10), maxHeight: 8000 };
      context = { ...context, displayMode: mode, containerDimensions: dimensions };
      bridge.setHostContext(context);
    }
    return { mode: context.displayMode };
  };
  bridge.addEventListener("sizechange", ({ height }) => {
    log.sizes.push(height);
    if (height != null && context.displayMode === "inline") iframe.style.height = `${height}px`;
  });
  const initialized = new Promise((resolve) => bridge.addEventListener("initialized", resolve));

  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  iframe.srcdoc = withCsp(contents.text, contentSecurityPolicy(uiMeta.csp));
  await initialized;
  await bridge.sendToolInput({ arguments: args });
  let result = null;
  if (cancel) {
    await bridge.sendToolCancelled({ reason: "user action" });
  } else {
    result = await resultPromise;
    await bridge.sendToolResult(result);
  }

  const view = {
    iframe,
    setTheme(theme) {
      context = { ...context, theme, styles: { variables: THEMES[theme], css: { fonts: FONTS } } };
      document.body.classList.toggle("dark", theme === "dark");
      bridge.setHostContext(context);
    },
    setWidth(px) {
      iframe.style.width = `${px}px`;
      context = { ...context, containerDimensions: { width: px, maxHeight: 8000 } };
      bridge.setHostContext(context);
    },
  };
  views.push(view);
  return { rendered: true, view: number, uiMeta, result };
}

async function viewHtml(uri) {
  return (await client.readResource({ uri })).contents[0].text;
}

window.testHost = {
  connect,
  viewHtml,
  callToolAsModel,
  log,
  view: (number) => views[number - 1],
  tools: () => tools,
};
document.body.dataset.ready = "true";
