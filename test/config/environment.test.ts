import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { substituteReferences } from "../../src/config/environment.js";
import { parseConfig } from "../../src/config/load.js";
import { assertRejected, parseError, TEST_FILE, yaml } from "./helpers.js";

const REDIS = ["backends:", "  redis:", "    endpoint: redis:6379"];

void describe("environment references", () => {
  void it("substitutes references in any string", () => {
    const config = parseConfig(
      yaml("backends:", "  redis:", "    endpoint: ${REDIS_HOST}:${REDIS_PORT}", "observability:", '  metrics_endpoint: "http://${METRICS}/push"'),
      TEST_FILE,
      { REDIS_HOST: "cache.internal", REDIS_PORT: "6380", METRICS: "prom:9090" },
    );
    assert.equal(config.backends.redis?.endpoint, "cache.internal:6380");
    assert.equal(config.observability.metrics_endpoint, "http://prom:9090/push");
  });

  void it("substitutes inside lists", () => {
    const config = parseConfig(yaml("compliance:", '  frameworks: ["${FRAMEWORK}", SOC2]'), TEST_FILE, { FRAMEWORK: "HIPAA" });
    assert.deepEqual(config.compliance?.frameworks, ["HIPAA", "SOC2"]);
  });

  void it("unquoted numbers and booleans keep their type", () => {
    const config = parseConfig(
      yaml("proxy:", "  replicas: ${REPLICAS}", "  session_management:", "    connection_reuse: ${REUSE}", "compliance:", '  frameworks: ["${COUNT}"]'),
      TEST_FILE,
      { REPLICAS: "3", REUSE: "false", COUNT: "7" },
    );
    assert.equal(config.proxy.replicas, 3);
    assert.equal(config.proxy.session_management.connection_reuse, false);
    assert.deepEqual(config.compliance?.frameworks, ["7"], "a quoted value stays a string");
  });

  void it("unquoted password stays a string", () => {
    const config = parseConfig(yaml(...REDIS, "    password: ${REDIS_PASSWORD}"), TEST_FILE, { REDIS_PASSWORD: "123456" });
    assert.equal(config.backends.redis?.password, "123456");
  });

  void it("$${ escapes a literal reference", () => {
    const result = substituteReferences("a $${HOME} b ${X} $$ $", { X: "x", HOME: "/root" });
    assert.deepEqual(result, { value: "a ${HOME} b x $$ $", errors: [] });
  });

  void it("reports malformed references", () => {
    assert.match(substituteReferences("${1X}", {}).errors[0] ?? "", /invalid environment variable reference "\$\{1X\}"/);
    assert.match(substituteReferences("${}", {}).errors[0] ?? "", /invalid environment variable reference/);
    assert.match(substituteReferences("abc ${X", {}).errors[0] ?? "", /unterminated "\$\{" reference/);
  });

  void it("missing variable names variable, file and line", () => {
    assertRejected(yaml(...REDIS.slice(0, 2), "    endpoint: ${REDIS_HOST}:6379"), {
      line: 3,
      path: "backends.redis.endpoint",
      mentions: ["environment variable REDIS_HOST is not set"],
    });
  });

  void it("each missing variable is reported", () => {
    const error = parseError(yaml("proxy:", "  listen: ${HOST}:${PORT}"));
    assert.deepEqual(
      error.issues.map((issue) => issue.message),
      ["environment variable HOST is not set. Set it, or write \"$${\" for a literal \"${\"", "environment variable PORT is not set. Set it, or write \"$${\" for a literal \"${\""],
    );
    assert.ok(error.message.startsWith("test.yaml:2:11: proxy.listen: environment variable HOST"), error.message);
  });

  void it("empty variable is substituted as empty", () => {
    assertRejected(yaml("proxy:", "  listen: ${HOST}"), { line: 2, path: "proxy.listen", mentions: ["invalid listen address"] }, { HOST: "" });
  });
});

void describe("secrets", () => {
  void it("password reference is resolved", () => {
    const config = parseConfig(yaml(...REDIS, "    password: ${REDIS_PASSWORD}"), TEST_FILE, { REDIS_PASSWORD: "s3cret" });
    assert.equal(config.backends.redis?.password, "s3cret");
  });

  void it("quoted password reference is resolved", () => {
    const config = parseConfig(yaml(...REDIS, '    password: "${REDIS_PASSWORD}"'), TEST_FILE, { REDIS_PASSWORD: "s3cret" });
    assert.equal(config.backends.redis?.password, "s3cret");
  });

  void it("literal password is rejected without echoing it", () => {
    const text = yaml(...REDIS, "    password: hunter2");
    assertRejected(text, {
      line: 4,
      path: "backends.redis.password",
      mentions: ["must be exactly one environment variable reference", '"${REDIS_PASSWORD}"', "literal secrets are not allowed"],
    });
    assert.ok(!parseError(text).message.includes("hunter2"));
  });

  void it("password with text around the reference is rejected", () => {
    assertRejected(yaml(...REDIS, '    password: "pre-${REDIS_PASSWORD}"'), {
      line: 4,
      path: "backends.redis.password",
      mentions: ["${VAR}".replace("VAR", "REDIS_PASSWORD")],
    }, { REDIS_PASSWORD: "x" });
  });

  void it("numeric password is rejected without echoing it", () => {
    const error = parseError(yaml(...REDIS, "    password: 123456"));
    assert.equal(error.issues.length, 1);
    assert.ok(!error.message.includes("123456"));
  });

  void it("password from an unset variable", () => {
    assertRejected(yaml(...REDIS, "    password: ${REDIS_PASSWORD}"), {
      line: 4,
      path: "backends.redis.password",
      mentions: ["environment variable REDIS_PASSWORD is not set"],
    });
  });

  void it("password alias to a literal is rejected", () => {
    assertRejected(yaml("x: &pw hunter2", ...REDIS, "    password: *pw"), {
      line: 5,
      path: "backends.redis.password",
      mentions: ["literal secrets are not allowed"],
    });
  });
});

void describe("environment overrides", () => {
  void it("replace configured backend endpoints", () => {
    const config = parseConfig(
      yaml(...REDIS, "  postgres:", "    endpoint: pg:5432"),
      TEST_FILE,
      { PRISM_REDIS_ENDPOINT: "redis-2:6379", PRISM_POSTGRES_ENDPOINT: "postgres://db.internal:5433/prism", PRISM_NATS_ENDPOINT: "nats:4222" },
    );
    assert.equal(config.backends.redis?.endpoint, "redis-2:6379");
    assert.equal(config.backends.postgres?.endpoint, "postgres://db.internal:5433/prism");
    assert.equal(config.backends.nats, undefined, "an override does not configure a backend");
  });

  void it("replace listeners even without a proxy section", () => {
    const config = parseConfig("", TEST_FILE, { PRISM_LISTEN: "0.0.0.0:8081", PRISM_ADMIN_LISTEN: "0.0.0.0:9091" });
    assert.equal(config.proxy.listen, "0.0.0.0:8081");
    assert.equal(config.proxy.admin_listen, "0.0.0.0:9091");
  });

  void it("empty override is ignored", () => {
    const config = parseConfig(yaml("proxy:", "  listen: 127.0.0.1:7000"), TEST_FILE, { PRISM_LISTEN: "" });
    assert.equal(config.proxy.listen, "127.0.0.1:7000");
  });

  void it("invalid override names the variable", () => {
    assertRejected(yaml(...REDIS), {
      line: 3,
      path: "backends.redis.endpoint",
      mentions: ["invalid endpoint", "PRISM_REDIS_ENDPOINT"],
    }, { PRISM_REDIS_ENDPOINT: "not an endpoint" });
  });
});
