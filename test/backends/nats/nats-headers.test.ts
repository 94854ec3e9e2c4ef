/** Prism messages as NATS headers: encoding, size and decoding of foreign messages. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import fc from "fast-check";
import { MsgHdrsImpl } from "@nats-io/transport-node";

import {
  METADATA_HEADER_PREFIX,
  decodeMessage,
  encodeMessageHeaders,
  headersWireSize,
  percentEncode,
} from "../../../src/backends/nats/nats-headers.js";

/** Encodes headers to wire bytes and parses them back, as a receiving client does. */
function overTheWire(headers: ReturnType<typeof encodeMessageHeaders>): MsgHdrsImpl {
  return MsgHdrsImpl.decode((headers as MsgHdrsImpl).encode());
}

describe("NATS message headers", () => {
  test("round-trip any metadata through the wire format", () => {
    const anyText = fc.string({ unit: "binary", maxLength: 40 });
    fc.assert(
      fc.property(fc.dictionary(anyText.filter((key) => key.length > 0), anyText), anyText, (metadata, messageId) => {
        const headers = encodeMessageHeaders({ payload: new Uint8Array(), metadata, messageId, timestampMs: 42 });
        const decoded = decodeMessage("topic", new Uint8Array(), overTheWire(headers), 0);

        assert.deepEqual(decoded.metadata, { ...metadata });
        assert.equal(decoded.messageId, messageId);
        assert.equal(decoded.timestampMs, 42);
      }),
    );
  });

  test("keep a __proto__ key as plain metadata", () => {
    const metadata = JSON.parse('{"__proto__": "value", "constructor": "other"}') as Record<string, string>;
    const headers = encodeMessageHeaders({ payload: new Uint8Array(), metadata, messageId: "id", timestampMs: 1 });
    const decoded = decodeMessage("topic", new Uint8Array(), overTheWire(headers), 0);

    assert.deepEqual(Object.entries(decoded.metadata), [
      ["__proto__", "value"],
      ["constructor", "other"],
    ]);
    assert.equal(Object.getPrototypeOf(decoded.metadata), Object.prototype);
  });

  test("compute their size on the wire", () => {
    const headers = encodeMessageHeaders({
      payload: new Uint8Array(),
      metadata: { a: "b", "ü": "ß" },
      messageId: "id",
      timestampMs: 1,
    });
    assert.equal(headersWireSize(headers), (headers as MsgHdrsImpl).encode().byteLength);
  });

  test("leave unreserved characters readable", () => {
    assert.equal(percentEncode("trace-id_1.2~x"), "trace-id_1.2~x");
    assert.equal(percentEncode("a b:c"), "a%20b%3Ac");
    assert.equal(percentEncode("ü"), "%C3%BC");
  });

  test("ignore headers that are not Prism's", () => {
    const foreign = new MsgHdrsImpl();
    foreign.set("Nats-Msg-Id", "dedupe");
    foreign.set(`${METADATA_HEADER_PREFIX}bad%ZZ`, "%E0%A4%A");
    foreign.set("Prism-Timestamp-Ms", "not a number");

    const decoded = decodeMessage("t", new Uint8Array(), foreign, 7);

    assert.deepEqual(decoded.metadata, { "bad%ZZ": "%E0%A4%A" });
    assert.equal(decoded.messageId, "");
    assert.equal(decoded.timestampMs, 7);
  });
});
