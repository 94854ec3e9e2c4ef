/**
 * Per-tenant NATS users on a nats-server of the test's own, configured with the rendered
 * authorization block: the driver works through them, and a plain client holding one
 * tenant's credentials cannot reach outside that tenant's subtree.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  AuthorizationError,
  connect,
  PermissionViolationError,
  type NatsConnection,
} from "@nats-io/transport-node";

import type { DeliveredMessage } from "../../../src/backends/driver.js";
import { NatsPubSubDriver } from "../../../src/backends/nats/nats-pubsub.js";
import {
  renderNatsAuthorization,
  renderNatsUsers,
  tenantPassword,
  tenantUsername,
} from "../../../src/backends/nats/tenant-credentials.js";
import { Code, PrismError } from "../../../src/errors/prism-error.js";
import { Collector, message, readText, testLogger, text, uniqueTenantId } from "./nats-test-helpers.js";
import { NatsTestServer } from "./nats-test-server.js";

const SECRET = "test-secret-0123456789abcdef0123456789abcdef";
const PROXY_USER = { username: "prism-proxy", password: "proxy-password-for-tests" };
const OBSERVER = { username: "observer", password: "observer-password-for-tests" };

interface RawMessage {
  subject: string;
  payload: string;
}

/** Resolves with the first permissions violation the server reports on `connection`. */
async function nextViolation(connection: NatsConnection): Promise<PermissionViolationError> {
  for await (const status of connection.status()) {
    if (status.type === "error" && status.error instanceof PermissionViolationError) {
      return status.error;
    }
  }
  throw new Error("the connection closed without a permissions violation");
}

describe("NATS tenant credentials", () => {
  const alphaId = uniqueTenantId("alpha");
  const betaId = uniqueTenantId("beta");
  // Its user allows another subtree than the driver uses, so the server refuses the driver.
  const misconfiguredId = uniqueTenantId("misconfigured");
  let server: NatsTestServer;
  let driver: NatsPubSubDriver;
  let observer: NatsConnection;

  before(async () => {
    const users = [
      ...renderNatsUsers({
        tenantIds: [alphaId, betaId],
        credentials: { secret: SECRET },
        proxyUser: PROXY_USER,
      }),
      ...renderNatsUsers({
        tenantIds: [misconfiguredId],
        subjectFormat: "elsewhere.{tenant_id}.{subject}",
        credentials: { secret: SECRET },
      }),
      `    { user: "${OBSERVER.username}", password: "${OBSERVER.password}" }`,
    ];
    server = await NatsTestServer.start({
      config: ["authorization {", "  users = [", ...users, "  ]", "}", ""].join("\n"),
      monitoring: true,
    });

    driver = new NatsPubSubDriver({
      endpoint: server.endpoint,
      username: PROXY_USER.username,
      password: PROXY_USER.password,
      tenantCredentials: { secret: SECRET },
      operationTimeoutMs: 2000,
      logger: testLogger(),
    });

    observer = await connect({ servers: server.endpoint, user: OBSERVER.username, pass: OBSERVER.password });
  });

  after(async () => {
    await driver.close();
    await observer.close();
    await server.stop();
  });

  /** Connects a plain client as the tenant, as an attacker holding its password would. */
  function connectAsTenant(tenantId: string): Promise<NatsConnection> {
    return connect({
      servers: server.endpoint,
      user: tenantUsername(tenantId),
      pass: tenantPassword(SECRET, tenantId),
    });
  }

  test("driver publishes and subscribes through tenant users", async () => {
    const alpha = driver.forTenant(alphaId);
    const beta = driver.forTenant(betaId);
    const alphaReceived = new Collector<DeliveredMessage>();
    const betaReceived = new Collector<DeliveredMessage>();
    const alphaSubscription = await alpha.subscribe("orders.>", alphaReceived.push);
    const betaSubscription = await beta.subscribe("orders.>", betaReceived.push);

    await alpha.publish("orders.new", message("alpha order"));
    await beta.publish("orders.new", message("beta order"));

    assert.deepEqual(
      (await alphaReceived.waitFor(1)).map((item) => readText(item.payload)),
      ["alpha order"],
    );
    assert.deepEqual(
      (await betaReceived.waitFor(1)).map((item) => readText(item.payload)),
      ["beta order"],
    );
    assert.equal(driver.health().state, "ready");
    await alphaSubscription.close();
    await betaSubscription.close();
  });

  test("driver opens one connection per tenant, authenticated as that tenant", async () => {
    await driver.forTenant(alphaId).publish("ping", message("x"));
    await driver.forTenant(betaId).publish("ping", message("x"));

    const connz = (await server.monitor("connz?auth=1")) as { connections: { name?: string; authorized_user?: string }[] };
    const users = connz.connections
      .filter((connection) => connection.name?.startsWith("prism-proxy") === true)
      .map((connection) => connection.authorized_user)
      .sort();

    assert.deepEqual(users, [PROXY_USER.username, tenantUsername(alphaId), tenantUsername(betaId)].sort());
  });

  test("tenant user cannot publish outside its subtree", async () => {
    const attacker = await connectAsTenant(alphaId);
    const watched = new Collector<RawMessage>();
    const watch = observer.subscribe(">", {
      callback: (error, received) => {
        const payload = error === null ? readText(received.data) : "";
        if (payload === "forged" || payload === "marker") {
          watched.push({ subject: received.subject, payload });
        }
      },
    });
    await observer.flush();

    try {
      const violation = nextViolation(attacker);
      attacker.publish(`tenant.${betaId}.orders.new`, text("forged"));
      await attacker.flush();
      const error = await violation;

      assert.equal(error.operation, "publish");
      assert.equal(error.subject, `tenant.${betaId}.orders.new`);

      // Messages of one connection arrive in order, so the marker arriving alone shows
      // the forged message was never routed.
      attacker.publish(`tenant.${alphaId}.marker`, text("marker"));
      await attacker.flush();
      assert.deepEqual(await watched.waitFor(1), [{ subject: `tenant.${alphaId}.marker`, payload: "marker" }]);
    } finally {
      watch.unsubscribe();
      await attacker.close();
    }
  });

  test("tenant user cannot subscribe outside its subtree", async () => {
    const attacker = await connectAsTenant(alphaId);
    try {
      for (const subject of [`tenant.${betaId}.>`, "tenant.>", ">", "_INBOX.>", "$SYS.>"]) {
        const subscription = attacker.subscribe(subject);
        await attacker.flush();
        const closedWith = await subscription.closed;

        assert.ok(closedWith instanceof PermissionViolationError, `SUB ${subject} was not refused`);
        assert.equal(closedWith.operation, "subscription");
      }

      const own = attacker.subscribe(`tenant.${alphaId}.>`);
      await attacker.flush();
      assert.equal(own.isClosed(), false);
      own.unsubscribe();
    } finally {
      await attacker.close();
    }
  });

  test("proxy user can neither publish nor subscribe", async () => {
    const proxy = await connect({ servers: server.endpoint, user: PROXY_USER.username, pass: PROXY_USER.password });
    try {
      const violation = nextViolation(proxy);
      proxy.publish(`tenant.${alphaId}.x`, text("from proxy user"));
      await proxy.flush();
      assert.equal((await violation).operation, "publish");

      const subscription = proxy.subscribe(`tenant.${alphaId}.>`);
      await proxy.flush();
      assert.ok((await subscription.closed) instanceof PermissionViolationError);
    } finally {
      await proxy.close();
    }
  });

  test("wrong password is refused", async () => {
    await assert.rejects(
      connect({ servers: server.endpoint, user: tenantUsername(alphaId), pass: tenantPassword("another secret", alphaId) }),
      (error: unknown) => error instanceof AuthorizationError || (error as Error).cause instanceof AuthorizationError,
    );
  });

  test("server refusal becomes PERMISSION_DENIED", async () => {
    const tenant = driver.forTenant(misconfiguredId);
    const denied = (error: unknown): boolean => error instanceof PrismError && error.code === Code.PermissionDenied;

    await assert.rejects(tenant.publish("orders", message("refused")), denied);
    await assert.rejects(tenant.subscribe("orders", () => undefined), denied);
    assert.equal(driver.subscriptionCount(), 0);
  });

  test("pooled connections authenticate per isolation level", async () => {
    const signal = new AbortController().signal;
    const namespaceFactory = driver.connectionFactory(alphaId, "namespace");
    const sharedFactory = driver.connectionFactory(alphaId, "none");
    const tenantConnection = await namespaceFactory.create(signal);
    const sharedConnection = await sharedFactory.create(signal);
    try {
      const connz = (await server.monitor("connz?auth=1")) as {
        connections: { cid: number; name?: string; authorized_user?: string }[];
      };
      const byId = (id: string): { name?: string; authorized_user?: string } | undefined =>
        connz.connections.find((connection) => String(connection.cid) === id);
      const tenantEntry = byId(namespaceFactory.describe(tenantConnection).id);
      assert.equal(tenantEntry?.authorized_user, tenantUsername(alphaId), "the namespace pool's connection is not the tenant's user");
      assert.equal(tenantEntry?.name, `prism-proxy pool=namespace tenant=${alphaId}`);
      assert.equal(byId(sharedFactory.describe(sharedConnection).id)?.authorized_user, PROXY_USER.username);

      const channel = driver.channelOn(alphaId, tenantConnection);
      const received = new Collector<DeliveredMessage>();
      const subscription = await channel.subscribe("pooled.>", received.push);
      await channel.publish("pooled.one", message("pooled"));
      assert.deepEqual((await received.waitFor(1)).map((item) => readText(item.payload)), ["pooled"]);
      await subscription.close();

      // This server's proxy user was rendered without allowTenantSubjects.
      await assert.rejects(
        driver.channelOn(alphaId, sharedConnection).publish("pooled.one", message("shared")),
        (error: unknown) => error instanceof PrismError && error.code === Code.PermissionDenied,
      );
    } finally {
      await namespaceFactory.destroy(tenantConnection);
      await sharedFactory.destroy(sharedConnection);
    }
  });

  test("proxy user with allowTenantSubjects serves the shared pool", async () => {
    const users = renderNatsUsers({
      tenantIds: [alphaId],
      credentials: { secret: SECRET },
      proxyUser: { ...PROXY_USER, allowTenantSubjects: true },
    });
    await using ownServer = await NatsTestServer.start({ config: ["authorization {", "  users = [", ...users, "  ]", "}", ""].join("\n") });
    await using ownDriver = new NatsPubSubDriver({
      endpoint: ownServer.endpoint,
      username: PROXY_USER.username,
      password: PROXY_USER.password,
      tenantCredentials: { secret: SECRET },
      operationTimeoutMs: 2000,
      logger: testLogger(),
    });
    const factory = ownDriver.connectionFactory(alphaId, "none");
    const shared = await factory.create(new AbortController().signal);
    try {
      const channel = ownDriver.channelOn(alphaId, shared);
      const received = new Collector<DeliveredMessage>();
      const subscription = await channel.subscribe("orders.>", received.push);
      await channel.publish("orders.new", message("shared"));
      assert.deepEqual((await received.waitFor(1)).map((item) => readText(item.payload)), ["shared"]);
      await subscription.close();
    } finally {
      await factory.destroy(shared);
    }
  });

  test("unknown tenant user fails with UNAVAILABLE", async () => {
    const stranger = driver.forTenant(uniqueTenantId("stranger"));
    await assert.rejects(stranger.publish("x", message("nobody")), (error: unknown) => {
      assert.ok(error instanceof PrismError);
      assert.equal(error.code, Code.Unavailable);
      assert.match(error.rawMessage, /credentials/);
      return true;
    });
  });
});

describe("renderNatsAuthorization", () => {
  test("grants each tenant its subtree only", () => {
    const rendered = renderNatsAuthorization({
      tenantIds: ["globex", "acme", "acme"],
      credentials: { secret: SECRET },
      proxyUser: PROXY_USER,
    });

    assert.match(rendered, /^authorization \{$/m);
    assert.equal(rendered.match(/user: /g)?.length, 3);
    assert.ok(rendered.includes(`password: "${tenantPassword(SECRET, "acme")}"`));
    assert.ok(rendered.includes(`publish: { allow: ["tenant.acme.>"] }, subscribe: { allow: ["tenant.acme.>"] }`));
    assert.ok(rendered.includes(`publish: { allow: ["tenant.globex.>"] }, subscribe: { allow: ["tenant.globex.>"] }`));
    assert.ok(rendered.includes(`publish: { deny: [">"] }, subscribe: { deny: [">"] }`));
    assert.ok(rendered.indexOf('"prism-tenant-acme"') < rendered.indexOf('"prism-tenant-globex"'));
  });

  test("grants the proxy user every tenant's subtree on request", () => {
    const rendered = renderNatsAuthorization({
      tenantIds: ["globex", "acme"],
      credentials: { secret: SECRET },
      proxyUser: { ...PROXY_USER, allowTenantSubjects: true },
    });
    const allowed = `{ allow: ["tenant.acme.>", "tenant.globex.>"] }`;
    assert.ok(rendered.includes(`publish: ${allowed}, subscribe: ${allowed}`));
    assert.ok(!rendered.includes("deny"));
  });

  test("derives passwords as HMAC-SHA256 hex", () => {
    // The widely published HMAC-SHA256 example for key "key" and this message.
    assert.equal(
      tenantPassword("key", "The quick brown fox jumps over the lazy dog"),
      "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
    );
    assert.notEqual(tenantPassword(SECRET, "acme"), tenantPassword(SECRET, "globex"));
  });

  test("rejects a short secret, a bad tenant id and an unsafe password", () => {
    assert.throws(() => renderNatsAuthorization({ tenantIds: ["acme"], credentials: { secret: "short" } }), TypeError);
    assert.throws(
      () => renderNatsAuthorization({ tenantIds: ["Acme Corp"], credentials: { secret: SECRET } }),
      TypeError,
    );
    assert.throws(
      () =>
        renderNatsAuthorization({
          tenantIds: ["acme"],
          credentials: { secret: SECRET },
          proxyUser: { username: "prism-proxy", password: 'pass"word' },
        }),
      (error: unknown) => error instanceof TypeError && !error.message.includes('pass"word'),
    );
  });
});
