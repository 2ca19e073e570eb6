// One MCP client as Claude Desktop, Cursor and VS Code have it: the TypeScript SDK's Client over its stdio
// transport. Starts the server the spec names and lists its tools (as hosts do, which also arms the SDK's
// validation of results against each tool's output schema); then, for each line read on stdin, makes one
// call and prints {"seconds": S} (or {"error": "..."}) on its own line, so the bench can interleave it with
// the other sides it measures. Ends when stdin closes.
//
//     node bench/ts_client.mjs '{"sdk": ".../node_modules/@modelcontextprotocol/sdk", "command": "...",
//                                "args": [...], "env": {...}, "tool": "generate_image", "arguments": {...}}'
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

const spec = JSON.parse(process.argv[2]);
const load = (path) => import(pathToFileURL(`${spec.sdk}/dist/esm/${path}`).href);
const { Client } = await load("client/index.js");
const { StdioClientTransport } = await load("client/stdio.js");

const transport = new StdioClientTransport({ command: spec.command, args: spec.args, env: spec.env, stderr: "ignore" });
const client = new Client({ name: "bench-typescript-sdk", version: "1.0.0" });
await client.connect(transport);
await client.listTools();
console.log(JSON.stringify({ ready: true }));

for await (const _ of createInterface({ input: process.stdin })) {
  const started = performance.now();
  try {
    const result = await client.callTool({ name: spec.tool, arguments: spec.arguments }, undefined, {
      timeout: 300_000,
    });
    const seconds = (performance.now() - started) / 1000;
    const answer = result.isError ? { error: JSON.stringify(result.content).slice(0, 500) } : { seconds };
    console.log(JSON.stringify(answer));
  } catch (error) {
    console.log(JSON.stringify({ error: String(error).slice(0, 500) }));
  }
}
await client.close();
