// A local webhook receiver for the example's notifications: prints each POST.
// node examples/webhook-receiver.mjs [port]   (default 9090)
import { createServer } from "node:http";

const port = Number(process.argv[2] ?? 9090);
createServer((request, response) => {
  let body = "";
  request.setEncoding("utf8");
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => {
    let text = body;
    try {
      text = JSON.parse(body).text ?? body;
    } catch {
      // Not JSON: printed as received.
    }
    console.log(`${new Date().toISOString()} ${request.method} ${request.url}\n${text}\n`);
    response.end("ok");
  });
}).listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${port}/notify`);
});
