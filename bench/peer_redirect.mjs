// Preloaded into the npm peer (`node --import`), so its hard-coded API host reaches the local stand-in
// without changing the peer's code: every fetch() of https://api.siliconflow.cn/v1/... goes to
// PEER_API_BASE instead. Image links the stand-in hands out are already local and pass through.
const hardCoded = "https://api.siliconflow.cn/v1";
const target = process.env.PEER_API_BASE;
if (!target) {
  throw new Error("PEER_API_BASE is not set: the peer would reach the real provider");
}
const originalFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  if (url.startsWith(hardCoded)) {
    const redirected = target + url.slice(hardCoded.length);
    return originalFetch(typeof input === "string" || input instanceof URL ? redirected : new Request(redirected, input), init);
  }
  if (!url.startsWith("http://127.0.0.1:")) {
    return Promise.reject(new Error(`the benchmark peer may only reach loopback, not ${url}`));
  }
  return originalFetch(input, init);
};
