import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { EnvelopeReader } from "../../../src/server/grpc/envelope-reader.js";
import { envelope } from "./grpc-test-clients.js";

/** Copies bytes into a Buffer that owns its ArrayBuffer, as a chunk from node:http2 may. */
function ownBuffer(bytes: Uint8Array): Buffer {
  const copy = Buffer.from(new ArrayBuffer(bytes.length));
  copy.set(bytes);
  return copy;
}

describe("EnvelopeReader", () => {
  const message = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const framed = envelope(message, 0);

  it("reads a message split at every offset", () => {
    for (let split = 0; split <= framed.length; split++) {
      const reader = new EnvelopeReader(1024);
      reader.push(framed.subarray(0, split));
      reader.push(framed.subarray(split));
      assert.equal(reader.envelopes.length, 1, `split at ${split}`);
      assert.deepEqual([...(reader.envelopes[0]?.data ?? [])], [...message], `split at ${split}`);
      assert.equal(reader.partial, false, `split at ${split}`);
    }
  });

  it("reads a message delivered one byte at a time", () => {
    const reader = new EnvelopeReader(1024);
    for (const byte of framed) {
      reader.push(Buffer.from([byte]));
    }
    assert.deepEqual([...(reader.envelopes[0]?.data ?? [])], [...message]);
  });

  it("takes a whole-message chunk without copying", () => {
    const chunk = ownBuffer(framed);
    const reader = new EnvelopeReader(1024);
    reader.push(chunk);
    assert.equal(reader.envelopes[0]?.data.buffer, chunk.buffer);
  });

  it("copies a message out of a shared buffer", () => {
    const shared = Buffer.concat([Buffer.alloc(3), framed]).subarray(3);
    const reader = new EnvelopeReader(1024);
    reader.push(shared);
    assert.notEqual(reader.envelopes[0]?.data.buffer, shared.buffer);
    assert.deepEqual([...(reader.envelopes[0]?.data ?? [])], [...message]);
  });

  it("reads an empty message and the flags", () => {
    const reader = new EnvelopeReader(1024);
    reader.push(Buffer.concat([envelope(new Uint8Array(), 1), framed]));
    assert.equal(reader.envelopes.length, 2);
    assert.equal(reader.envelopes[0]?.flags, 1);
    assert.equal(reader.envelopes[0]?.data.length, 0);
    assert.equal(reader.envelopes[1]?.flags, 0);
  });

  it("reports a partial message", () => {
    const reader = new EnvelopeReader(1024);
    reader.push(framed.subarray(0, 3));
    assert.equal(reader.partial, true);
    reader.push(framed.subarray(3, 7));
    assert.equal(reader.partial, true);
    assert.equal(reader.envelopes.length, 0);
  });

  it("rejects a message above the limit from its header alone", () => {
    const reader = new EnvelopeReader(8);
    assert.throws(
      () => reader.push(framed.subarray(0, 5)),
      (error: unknown) => {
        assert.ok(error instanceof ConnectError);
        assert.equal(error.code, Code.ResourceExhausted);
        assert.equal(error.rawMessage, "message size 9 is larger than configured readMaxBytes 8");
        return true;
      },
    );
  });

  it("accepts a message of exactly the limit", () => {
    const reader = new EnvelopeReader(message.length);
    reader.push(ownBuffer(framed));
    assert.equal(reader.envelopes.length, 1);
  });
});
