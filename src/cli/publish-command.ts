import { argumentAt, type CommandSpec } from "./command.js";
import { ExitCode } from "./exit-codes.js";
import { stringListOption, stringOption } from "./options.js";
import { withPrismClient } from "./prism-client.js";
import { UsageError } from "./usage-error.js";
import { readValue } from "./value-input.js";

/** Parses repeated --meta k=v options; the value may contain "=". */
export function parseMetadata(entries: readonly string[], helpTopic: string): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const entry of entries) {
    const separator = entry.indexOf("=");
    if (separator <= 0) {
      throw new UsageError(`--meta ${JSON.stringify(entry)} is not valid; use --meta key=value`, helpTopic);
    }

    const key = entry.slice(0, separator);
    if (Object.hasOwn(metadata, key)) {
      throw new UsageError(`--meta key ${JSON.stringify(key)} is given twice`, helpTopic);
    }
    metadata[key] = entry.slice(separator + 1);
  }
  return metadata;
}

export const publishCommand: CommandSpec = {
  group: "pubsub",
  name: "publish",
  synopsis: "TOPIC [PAYLOAD|-]",
  minArgs: 1,
  maxArgs: 2,
  summary: "publish a message and print its id",
  description: `Publishes PAYLOAD to TOPIC in the namespace and prints the message id the proxy assigned.
PAYLOAD is taken as UTF-8 text; "-" reads the bytes from stdin, and --payload-file reads
them from a file. Subscribers that are connected when the message arrives receive it.`,
  options: {
    meta: {
      type: "string",
      valueName: "KEY=VALUE",
      multiple: true,
      help: "metadata entry sent with the message; repeat for more entries (default: none)",
    },
    "payload-file": { type: "string", valueName: "PATH", help: "read the payload's bytes from this file instead of PAYLOAD" },
  },
  connects: true,
  examples: [
    `prismctl pubsub publish orders.created '{"id":1}' --meta source=web --namespace acme-prod`,
    "jq -c . order.json | prismctl pubsub publish orders.created - --namespace acme-prod",
  ],
  run: async (invocation) => {
    const topic = argumentAt(invocation, 0);
    const metadata = parseMetadata(stringListOption(invocation.values, "meta"), invocation.helpTopic);
    const payload = await readValue(
      {
        argument: invocation.args[1],
        file: stringOption(invocation.values, "payload-file"),
        argumentName: "PAYLOAD",
        fileOption: "--payload-file",
        helpTopic: invocation.helpTopic,
      },
      invocation.io,
    );

    return withPrismClient(invocation, async (client) => {
      const response = await client.pubSub.publish({ topic, payload, metadata }, client.unaryOptions);
      invocation.output.result(response.messageId, { topic, message_id: response.messageId });
      return ExitCode.Success;
    });
  },
};
