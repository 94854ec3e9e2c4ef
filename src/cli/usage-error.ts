/**
 * An invalid command line: a missing argument, an unknown option or an unreadable
 * value file. prismctl prints the message with a pointer to the help and exits 2.
 * It never crosses the network, so it is not a PrismError.
 */
export class UsageError extends Error {
  override name = "UsageError";

  /** @param helpTopic the command whose help fits the mistake, for example "kv set" */
  constructor(
    message: string,
    readonly helpTopic = "",
  ) {
    super(message);
  }
}
