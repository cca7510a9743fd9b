// The page's use of NATS, shared by the page (app.js) and the example's
// test (client.mjs under Node.js): it takes the client's connect function
// so that it imports nothing itself.

const decoder = new TextDecoder();

// follow connects as cfg says (/config.json) and subscribes to each of
// cfg.feeds, calling show(feed, cloudEvent) for every event; it returns
// the connection once the server has the subscriptions.
export async function follow(connect, cfg, show) {
  const nc = await connect({ servers: cfg.url, user: cfg.user, pass: cfg.password, name: cfg.user });
  for (const [feed, subject] of Object.entries(cfg.feeds)) {
    const sub = nc.subscribe(subject);
    (async () => {
      for await (const m of sub) {
        show(feed, JSON.parse(decoder.decode(m.data)));
      }
    })().catch((err) => show("error", { data: { text: `${feed}: ${err.message}` } }));
  }
  await nc.flush();
  return nc;
}

// peek subscribes to subject, which the browser's permissions do not
// allow, and resolves with the server's refusal (an error whose code is
// "PERMISSIONS_VIOLATION"), or with null if a message arrives instead.
export async function peek(nc, subject) {
  const sub = nc.subscribe(subject, { max: 1 });
  try {
    for await (const m of sub) {
      return null;
    }
    return new Error(`the subscription to ${subject} ended without a refusal`);
  } catch (err) {
    return err;
  }
}
