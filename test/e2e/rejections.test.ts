import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { KeyValueBasicInterface } from "../../src/gen/prism/interfaces/keyvalue/keyvalue_basic_pb.js";
import { DEMO_KEYS, assertSameBytes, postJson, startTestProxy, type TestProxy } from "../support/test-proxy.js";

const KV_PATH = "prism.interfaces.keyvalue.KeyValueBasicInterface";

interface Case {
  name: string;
  credentials: { namespace?: string; apiKey?: string };
  key?: string;
  value?: Uint8Array;
  code: Code;
  message: RegExp;
}

const CASES: Case[] = [
  {
    name: "unknown namespace",
    credentials: { namespace: "nobody-prod", apiKey: DEMO_KEYS.acme },
    code: Code.NotFound,
    message: /namespace "nobody-prod" is not configured/,
  },
  {
    name: "missing namespace header",
    credentials: { apiKey: DEMO_KEYS.acme },
    code: Code.InvalidArgument,
    message: /missing x-prism-namespace header/,
  },
  {
    name: "malformed namespace",
    credentials: { namespace: "Acme Prod", apiKey: DEMO_KEYS.acme },
    code: Code.InvalidArgument,
    message: /namespace "Acme Prod" is not valid/,
  },
  {
    name: "missing API key",
    credentials: { namespace: "acme-prod" },
    code: Code.Unauthenticated,
    message: /missing credentials/,
  },
  {
    name: "wrong API key",
    credentials: { namespace: "acme-prod", apiKey: "not-a-key" },
    code: Code.Unauthenticated,
    message: /API key is not valid/,
  },
  {
    name: "namespace of another tenant",
    credentials: { namespace: "globex-prod", apiKey: DEMO_KEYS.acme },
    code: Code.PermissionDenied,
    message: /acme-app may not use namespace "globex-prod"/,
  },
  {
    name: "namespace outside the key's narrowing",
    credentials: { namespace: "acme-prod", apiKey: DEMO_KEYS.acmeReader },
    code: Code.PermissionDenied,
    message: /limited to acme-staging/,
  },
  {
    name: "empty key",
    credentials: { namespace: "acme-prod", apiKey: DEMO_KEYS.acme },
    key: "",
    code: Code.InvalidArgument,
    message: /key must not be empty/,
  },
  {
    name: "key with a control character",
    credentials: { namespace: "acme-prod", apiKey: DEMO_KEYS.acme },
    key: "a\nb",
    code: Code.InvalidArgument,
    message: /contains U\+000A/,
  },
  {
    name: "oversized value",
    credentials: { namespace: "acme-prod", apiKey: DEMO_KEYS.acme },
    value: new Uint8Array(1024 * 1024 + 1),
    code: Code.ResourceExhausted,
    message: /value is 1048577 bytes; the limit is 1048576 bytes \(request_limits\.max_value_bytes\)/,
  },
];

describe("rejected requests", () => {
  let gateway: TestProxy;

  before(async () => {
    gateway = await startTestProxy();
  });

  after(async () => {
    await gateway.close();
  });

  for (const testCase of CASES) {
    it(`rejects ${testCase.name} and keeps serving`, async () => {
      const bystander = gateway.client(KeyValueBasicInterface, { namespace: "globex-prod", apiKey: DEMO_KEYS.globex });
      await bystander.set({ key: "bystander", value: new Uint8Array([7]) });

      const client = gateway.client(KeyValueBasicInterface, testCase.credentials);
      let failure: ConnectError | undefined;
      try {
        await client.set({ key: testCase.key ?? "k", value: testCase.value ?? new Uint8Array([1]) });
      } catch (error) {
        failure = ConnectError.from(error);
      }
      assert.ok(failure, "the request was accepted");
      assert.equal(Code[failure.code], Code[testCase.code]);
      assert.match(failure.rawMessage, testCase.message);

      assertSameBytes((await bystander.get({ key: "bystander" })).value, new Uint8Array([7]));
    });
  }

  it("accepts a maximal value over HTTP/JSON", async () => {
    const headers = { "x-prism-namespace": "acme-prod", authorization: `Bearer ${DEMO_KEYS.acme}` };
    const maximal = Buffer.alloc(1024 * 1024, 7).toString("base64");
    const accepted = await postJson(gateway.baseUrl, `${KV_PATH}/Set`, JSON.stringify({ key: "json-max", value: maximal }), headers);
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));

    const oneMore = Buffer.alloc(1024 * 1024 + 1, 7).toString("base64");
    const rejected = await postJson(gateway.baseUrl, `${KV_PATH}/Set`, JSON.stringify({ key: "json-max", value: oneMore }), headers);
    assert.equal(rejected.status, 429);
    assert.match(String(rejected.body.message), /request_limits\.max_value_bytes/);
  });

  it("rejects a malformed JSON body with HTTP 400", async () => {
    const response = await postJson(gateway.baseUrl, `${KV_PATH}/Set`, "{not json", {
      "x-prism-namespace": "acme-prod",
      authorization: `Bearer ${DEMO_KEYS.acme}`,
    });
    assert.equal(response.status, 400);
    assert.equal(response.body.code, "invalid_argument");
    assert.equal(typeof response.body.message, "string");
  });

  it("rejects a JSON body of the wrong shape with HTTP 400", async () => {
    const response = await postJson(gateway.baseUrl, `${KV_PATH}/Set`, JSON.stringify({ key: 5, value: "***" }), {
      "x-prism-namespace": "acme-prod",
      authorization: `Bearer ${DEMO_KEYS.acme}`,
    });
    assert.equal(response.status, 400);
    assert.equal(response.body.code, "invalid_argument");
  });

  it("answers an HTTP client with the gRPC code and message", async () => {
    const response = await postJson(gateway.baseUrl, `${KV_PATH}/Get`, JSON.stringify({ key: "k" }), {
      "x-prism-namespace": "globex-prod",
      authorization: `Bearer ${DEMO_KEYS.acme}`,
    });
    assert.equal(response.status, 403);
    assert.equal(response.body.code, "permission_denied");
    assert.match(String(response.body.message), /may not use namespace "globex-prod"/);
  });

  it("logs tenant and request ids but never keys, values or API keys", async () => {
    const client = gateway.client(KeyValueBasicInterface, { namespace: "acme-prod", apiKey: DEMO_KEYS.acme });
    await client.set({ key: "secret-key-name", value: new TextEncoder().encode("secret-value-text") });
    await assert.rejects(client.set({ key: "secret\nkey", value: new Uint8Array() }));

    const text = gateway.log.text();
    assert.match(text, /"tenant":"acme"/);
    assert.match(text, /"namespace":"acme-prod"/);
    assert.match(text, /"requestId":/);
    assert.doesNotMatch(text, /secret-key-name/);
    assert.doesNotMatch(text, /secret\\+nkey/);
    assert.match(text, /invalid name \(value not logged\)/);
    assert.doesNotMatch(text, /secret-value-text/);
    assert.doesNotMatch(text, /acme-demo-key/);
  });
});
