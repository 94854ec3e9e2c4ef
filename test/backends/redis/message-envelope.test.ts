import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeEnvelope, encodeEnvelope } from "../../../src/backends/redis/message-envelope.js";

describe("redis message envelope", () => {
  it("round-trips payload, metadata, id and timestamp", () => {
    const payload = new Uint8Array([0, 1, 2, 250, 255]);
    const text = encodeEnvelope({ payload, metadata: { a: "1", "ü": "✓" }, messageId: "m-1", timestampMs: 1_700_000_000_000 });
    const decoded = decodeEnvelope(text);

    assert.ok(decoded !== undefined);
    assert.deepEqual(new Uint8Array(decoded.payload), payload);
    assert.deepEqual(decoded.metadata, { a: "1", "ü": "✓" });
    assert.equal(decoded.messageId, "m-1");
    assert.equal(decoded.timestampMs, 1_700_000_000_000);
  });

  it("encodes only the bytes of a payload view", () => {
    const backing = new Uint8Array([9, 9, 1, 2, 9]);
    const decoded = decodeEnvelope(encodeEnvelope({ payload: backing.subarray(2, 4), metadata: {}, messageId: "m", timestampMs: 0 }));
    assert.deepEqual(new Uint8Array(decoded?.payload ?? []), new Uint8Array([1, 2]));
  });

  it("rejects text that is not an envelope", () => {
    for (const text of [
      "",
      "not json",
      "null",
      "[]",
      JSON.stringify({ v: 2, id: "m", ts: 1, md: {}, p: "" }),
      JSON.stringify({ v: 1, id: 5, ts: 1, md: {}, p: "" }),
      JSON.stringify({ v: 1, id: "m", ts: 1.5, md: {}, p: "" }),
      JSON.stringify({ v: 1, id: "m", ts: 1, md: { a: 1 }, p: "" }),
      JSON.stringify({ v: 1, id: "m", ts: 1, md: [], p: "" }),
      JSON.stringify({ v: 1, id: "m", ts: 1, md: {} }),
    ]) {
      assert.equal(decodeEnvelope(text), undefined, text);
    }
  });
});
