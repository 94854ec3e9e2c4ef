import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { SetRequestSchema } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { BatchSetRequestSchema } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_batch_pb.js";
import { PublishRequestSchema } from "../../src/gen/prism/interfaces/pubsub/pubsub_basic_pb.js";
import { measurePayloadBytes } from "../../src/limits/payload-bytes.js";

describe("measurePayloadBytes", () => {
  void it("counts key, value and tags of a Set request", () => {
    const request = create(SetRequestSchema, {
      key: "user:42",
      value: new Uint8Array(100),
      tags: { tags: { color: "blue" } },
    });
    assert.equal(measurePayloadBytes(request), 7 + 100 + 5 + 4);
  });

  void it("counts every entry of a batch", () => {
    const request = create(BatchSetRequestSchema, {
      requests: [
        { key: "a", value: new Uint8Array(10) },
        { key: "bb", value: new Uint8Array(20) },
      ],
    });
    assert.equal(measurePayloadBytes(request), 1 + 10 + 2 + 20);
  });

  void it("counts strings in UTF-8", () => {
    const request = create(PublishRequestSchema, { topic: "prix-€", payload: new Uint8Array(3), metadata: { "clé": "été" } });
    assert.equal(measurePayloadBytes(request), 8 + 3 + 4 + 5);
  });

  void it("counts numbers, booleans and long lists", () => {
    assert.equal(measurePayloadBytes({ $typeName: "x", ttl: 5n, flag: true }), 9);
    assert.equal(measurePayloadBytes(Array.from({ length: 300_000 }, () => "ab")), 600_000);
  });
});
