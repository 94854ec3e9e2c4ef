import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { DEMO_KEYS, eventually, startTestProxy, type TestProxy, sessionClient } from "../support/test-proxy.js";


describe("sessions", () => {
  let gateway: TestProxy;

  before(async () => {
    gateway = await startTestProxy((config) => {
      config.proxy.session_management.session_timeout = 300;
      config.proxy.session_management.max_sessions = 4;
      config.proxy.session_management.max_sessions_per_principal = 2;
    });
  });

  after(async () => {
    await gateway.close();
  });

  it("ends a session idle past the timeout", async () => {
    const client = sessionClient(gateway, "acme-prod", DEMO_KEYS.acme);
    try {
      await client.kv.set({ key: "idle", value: new Uint8Array([1]) });
      assert.equal(gateway.proxy.sessions.activeCount, 1);
      await eventually(() => gateway.proxy.sessions.activeCount === 0, "the idle session to end", 3000);

      // The connection stays usable: its next request opens a new session.
      await client.kv.get({ key: "idle" });
      assert.equal(gateway.proxy.sessions.activeCount, 1);
    } finally {
      client.close();
    }
    await eventually(() => gateway.proxy.sessions.activeCount === 0, "the session to end with its connection");
  });

  it("keeps a session with an open stream alive", async () => {
    const client = sessionClient(gateway, "acme-prod", DEMO_KEYS.acme);
    const stop = new AbortController();
    const stream = (async () => {
      try {
        for await (const _message of client.pubSub.subscribe({ topic: "keepalive" }, { signal: stop.signal })) {
          // Nothing is published.
        }
      } catch {
        // Cancelled below.
      }
    })();
    await eventually(() => gateway.proxy.drivers.subscriptionCount() === 1, "the subscription");

    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(gateway.proxy.sessions.activeCount, 1, "a session with an open stream was ended as idle");

    stop.abort();
    await stream;
    client.close();
    await eventually(() => gateway.proxy.sessions.activeCount === 0, "the session to end");
  });

  it("caps sessions per principal and in total", async () => {
    const acme = [1, 2, 3].map(() => sessionClient(gateway, "acme-prod", DEMO_KEYS.acme));
    const others = [
      sessionClient(gateway, "globex-prod", DEMO_KEYS.globex),
      sessionClient(gateway, "initech-prod", DEMO_KEYS.initech),
      sessionClient(gateway, "acme-staging", DEMO_KEYS.acmeReader),
    ];
    try {
      await acme[0]?.kv.exists({ key: "cap" });
      await acme[1]?.kv.exists({ key: "cap" });
      const third = await acme[2]?.kv.exists({ key: "cap" }).catch((error: unknown) => ConnectError.from(error));
      assert.ok(third instanceof ConnectError, "a third session of one principal was accepted");
      assert.equal(third.code, Code.ResourceExhausted);
      assert.match(third.rawMessage, /principal acme-app already holds 2 sessions/);

      // Other principals still connect, up to the proxy's total of 4.
      await others[0]?.kv.exists({ key: "cap" });
      await others[1]?.kv.exists({ key: "cap" });
      const fifth = await others[2]?.kv.exists({ key: "cap" }).catch((error: unknown) => ConnectError.from(error));
      assert.ok(fifth instanceof ConnectError, "a fifth session was accepted");
      assert.equal(fifth.code, Code.ResourceExhausted);
      assert.match(fifth.rawMessage, /max_sessions/);
    } finally {
      [...acme, ...others].forEach((client) => client.close());
    }
    await eventually(() => gateway.proxy.sessions.activeCount === 0, "every session to end");
  });
});
