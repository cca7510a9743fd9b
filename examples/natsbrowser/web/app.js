// The page: the NATS client comes from /nats.js, the nats.ws package's
// ESM bundle served by the example's Go server.
import { connect } from "/nats.js";
import { follow, peek } from "/feed.js";


function show(feed, ce) {
  const id = feed === "post:created" ? "posts" : feed === "error" ? "errors" : "mine";
  const li = document.createElement("li");
  li.textContent = `${ce.type ?? feed}: ${ce.data?.text ?? JSON.stringify(ce.data)}`;
  li.dataset.type = ce.type ?? feed;
  document.getElementById(id).prepend(li);
}

const status = document.getElementById("status");
try {
  const cfg = await (await fetch("/config.json")).json();
  const nc = await follow(connect, cfg, show);
  status.textContent = `connected to ${cfg.url} as ${cfg.user}`;
  status.dataset.state = "connected";
  document.getElementById("peek").addEventListener("click", async () => {
    const refusal = document.getElementById("refusal");
    const err = await peek(nc, cfg.peek);
    refusal.textContent = err ? `refused: ${err.code ?? ""} ${err.message}` : `not refused: ${cfg.peek} was readable`;
    refusal.dataset.state = err?.code === "PERMISSIONS_VIOLATION" ? "refused" : "not-refused";
  });
} catch (err) {
  status.textContent = `cannot connect: ${err.message}`;
  status.dataset.state = "failed";
}
