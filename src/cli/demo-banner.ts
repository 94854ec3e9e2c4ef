/** The text the demo prints once listening: where Prism runs and commands to try. */
export function demoBanner(address: string, adminAddress: string): string {
  const base = `http://${address}`;
  const kv = `${base}/prism.interfaces.keyvalue.KeyValueBasicInterface`;
  return `
Prism is running on the embedded in-memory backend.
  data  (gRPC, gRPC-Web, HTTP/JSON)  ${base}
  admin (/healthz, /readyz)          http://${adminAddress}

Two tenants write the same key and each reads only its own value:

  bin/prismctl kv set greeting "hello from acme"   --namespace acme-prod   --api-key acme-demo-key   --address ${base}
  bin/prismctl kv set greeting "hello from globex" --namespace globex-prod --api-key globex-demo-key --address ${base}
  bin/prismctl kv get greeting --namespace acme-prod   --api-key acme-demo-key   --address ${base}
  bin/prismctl kv get greeting --namespace globex-prod --api-key globex-demo-key --address ${base}

The same over plain HTTP/JSON (values are base64):

  curl -s ${kv}/Get -H 'content-type: application/json' \\
    -H 'x-prism-namespace: acme-prod' -H 'authorization: Bearer acme-demo-key' -d '{"key":"greeting"}'

A tenant cannot use another tenant's namespace (permission_denied):

  bin/prismctl kv get greeting --namespace globex-prod --api-key acme-demo-key --address ${base}

Publish and subscribe (run the subscriber in a second terminal first):

  bin/prismctl pubsub subscribe orders.created --namespace acme-prod --api-key acme-demo-key --address ${base}
  bin/prismctl pubsub publish orders.created '{"id":1}' --namespace acme-prod --api-key acme-demo-key --address ${base}

Readiness:  curl -s http://${adminAddress}/readyz
Stop with Ctrl-C. Configuration: config/demo.yaml, reference: docs/configuration.md.
`;
}
