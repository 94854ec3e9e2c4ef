import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseGrpcTimeout } from "../../../src/server/grpc/grpc-timeout.js";

describe("parseGrpcTimeout", () => {
  const valid: [string, number][] = [
    ["1H", 3_600_000],
    ["2M", 120_000],
    ["3S", 3000],
    ["250m", 250],
    ["1500u", 1.5],
    ["2000000n", 2],
    ["99999999S", 99_999_999_000],
    ["0m", 0],
  ];
  for (const [value, expectedMs] of valid) {
    it(`reads ${value}`, () => {
      assert.equal(parseGrpcTimeout(value), expectedMs);
    });
  }

  it("returns undefined without the header", () => {
    assert.equal(parseGrpcTimeout(undefined), undefined);
  });

  for (const value of ["", "S", "10", "10s", "123456789S", "-1S", "1.5S", " 1S", "1S, 2S"]) {
    it(`rejects ${JSON.stringify(value)}`, () => {
      assert.throws(
        () => parseGrpcTimeout(value),
        (error: unknown) => {
          assert.ok(error instanceof ConnectError);
          assert.equal(error.code, Code.InvalidArgument);
          assert.equal(error.rawMessage, `protocol error: invalid grpc timeout value: ${value}`);
          return true;
        },
      );
    });
  }
});
