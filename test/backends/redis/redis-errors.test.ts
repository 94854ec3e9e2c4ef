import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { driverClosedError, notConnectedError, replyCode, toRedisError, type RedisCallContext } from "../../../src/backends/redis/redis-errors.js";
import { Code, PrismError, invalidArgument } from "../../../src/errors/prism-error.js";

const READ: RedisCallContext = { endpoint: "127.0.0.1:6379", write: false, commandTimeoutMs: 2000 };
const WRITE: RedisCallContext = { ...READ, write: true };

function replyError(message: string): Error {
  const error = new Error(message);
  error.name = "ReplyError";
  // ioredis attaches the command with its arguments, which hold keys and values.
  Object.assign(error, { command: { name: "set", args: ["tenant:a:key", "secret value"] } });
  return error;
}

function socketError(code: string, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code} 127.0.0.1:6379`), { code, syscall });
}

describe("redis error mapping", () => {
  it("maps a timeout to UNAVAILABLE that may have applied a write", () => {
    const write = toRedisError(new Error("Command timed out"), WRITE);
    assert.equal(write.code, Code.Unavailable);
    assert.equal(write.reason, "BACKEND_TIMEOUT");
    assert.equal(write.rawMessage, "redis 127.0.0.1:6379 is unavailable: no reply within 2000 ms; the request may have been applied");

    const read = toRedisError(new Error("Command timed out"), READ);
    assert.equal(read.rawMessage, "redis 127.0.0.1:6379 is unavailable: no reply within 2000 ms; retry the request");
  });

  it("maps an unsent command to UNAVAILABLE that was not applied", () => {
    const error = toRedisError(new Error("Stream isn't writeable and enableOfflineQueue options is false"), WRITE);
    assert.equal(error.code, Code.Unavailable);
    assert.equal(error.reason, "BACKEND_UNAVAILABLE");
    assert.equal(error.rawMessage, "redis 127.0.0.1:6379 is unavailable: not connected; the request was not applied");
  });

  it("maps a lost reply to UNAVAILABLE that may have applied", () => {
    const lost = Object.assign(new Error("Reached the max retries per request limit"), { name: "MaxRetriesPerRequestError" });
    const error = toRedisError(lost, WRITE);
    assert.equal(error.code, Code.Unavailable);
    assert.match(error.rawMessage, /the connection was lost before the reply; the request may have been applied$/);
  });

  it("maps connect failures as not applied and resets as maybe applied", () => {
    assert.match(toRedisError(socketError("ECONNREFUSED", "connect"), WRITE).rawMessage, /connect failed \(ECONNREFUSED\); the request was not applied$/);
    assert.match(toRedisError(socketError("ETIMEDOUT", "connect"), WRITE).rawMessage, /connect failed \(ETIMEDOUT\); the request was not applied$/);
    assert.match(toRedisError(socketError("ECONNRESET", "read"), WRITE).rawMessage, /lost \(ECONNRESET\); the request may have been applied$/);
  });

  it("maps reply errors to fitting codes", () => {
    const cases: [string, Code][] = [
      ["NOPERM this user has no permissions to access one of the keys used as arguments", Code.PermissionDenied],
      ["OOM command not allowed when used memory > 'maxmemory'.", Code.ResourceExhausted],
      ["WRONGTYPE Operation against a key holding the wrong kind of value", Code.FailedPrecondition],
      ["LOADING Redis is loading the dataset in memory", Code.Unavailable],
      ["READONLY You can't write against a read only replica.", Code.Unavailable],
      ["BUSY Redis is busy running a script.", Code.Unavailable],
      ["MISCONF Redis is configured to save RDB snapshots, but it's unable to persist", Code.Unavailable],
      ["WRONGPASS invalid username-password pair or user is disabled.", Code.Unavailable],
      ["NOAUTH Authentication required.", Code.Unavailable],
      ["ERR unknown command 'frobnicate'", Code.Internal],
    ];
    for (const [message, code] of cases) {
      const error = toRedisError(replyError(message), WRITE);
      assert.equal(error.code, code, message);
      assert.ok(error.rawMessage.startsWith("redis 127.0.0.1:6379 "), error.rawMessage);
      assert.ok(error.rawMessage.includes("the request was not applied"), error.rawMessage);
    }
  });

  it("says when part of a batch was applied", () => {
    const error = toRedisError(replyError("NOPERM no permissions"), { ...WRITE, partOfBatchApplied: true });
    assert.match(error.rawMessage, /part of the batch may have been applied/);
  });

  it("keeps command arguments out of the cause", () => {
    const error = toRedisError(replyError("NOPERM no permissions"), WRITE);
    assert.ok(error.cause instanceof Error);
    assert.equal(error.cause.message, "NOPERM no permissions");
    assert.equal((error.cause as Error & { command?: unknown }).command, undefined);
    assert.ok(!JSON.stringify(error.cause).includes("secret value"));
  });

  it("passes a PrismError through", () => {
    const original = invalidArgument("bad");
    assert.equal(toRedisError(original, WRITE), original);
  });

  it("maps anything else to INTERNAL", () => {
    const error = toRedisError("a string", READ);
    assert.ok(error instanceof PrismError);
    assert.equal(error.code, Code.Internal);
  });

  it("reads the reply code only from reply errors", () => {
    assert.equal(replyCode(replyError("NOPERM x")), "NOPERM");
    assert.equal(replyCode(new Error("NOPERM x")), undefined);
    assert.equal(replyCode("NOPERM x"), undefined);
  });

  it("names the reason of a missing connection", () => {
    const error = notConnectedError(WRITE, "connect ECONNREFUSED 127.0.0.1:6379");
    assert.equal(error.rawMessage, "redis 127.0.0.1:6379 is unavailable: not connected (connect ECONNREFUSED 127.0.0.1:6379); the request was not applied");
  });

  it("reports a closed driver as shutting down", () => {
    const error = driverClosedError("127.0.0.1:6379");
    assert.equal(error.code, Code.Unavailable);
    assert.equal(error.reason, "SHUTTING_DOWN");
  });
});
